"""Batch Issue (wst:RequestSecurityTokenCollection) from python zeep.

usage: zeep_batch.py WSDL_URL USER PASSWORD OUT_DIR

The instance WSDL has no operation whose input is a collection (WS-Trust's WSDL gives batch
requests no operation of their own), so zeep cannot call one through `client.service`. What
zeep does here: it reads the WSDL and the WS-Trust schema it imports, builds the
RequestSecurityTokenCollection element from that schema, puts it in the SOAP envelope of
each port's binding, adds its own wsse UsernameToken, sends it with its own transport to the
port's address (SOAPAction / action `.../BatchIssue`), and parses the answer's
RequestSecurityTokenResponseCollection with the same schema.

For each port (SOAP 1.1 and 1.2):
- three RSTs (SAML 2.0, SAML 1.1, SAML 2.0; Contexts first, second, third; one relying party
  each) must come back as three RSTRs in that order, each with its Context, TokenType and a
  token; the tokens are written to OUT_DIR/<port>-<n>.xml for the caller to verify;
- a batch whose second RST asks for a token type the instance does not issue must come back
  as one SOAP fault (wst:BadRequest) and no RSTR: WS-Trust's batch semantics, where a failing
  request fails the batch (the caller checks that nothing stayed stored).
Exits non-zero on the first mismatch.
"""
import os
import sys

from lxml import etree
from zeep import Client
from zeep.wsse.username import UsernameToken

url, user, password, out_dir = sys.argv[1:5]
WST = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
BATCH_ISSUE = WST + "/BatchIssue"
WSP = "http://schemas.xmlsoap.org/ws/2004/09/policy"
WSA = "http://www.w3.org/2005/08/addressing"
SAMLV2 = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0"
SAMLV1 = "urn:oasis:names:tc:SAML:1.0:assertion"
ASSERTION = {SAMLV2: "{urn:oasis:names:tc:SAML:2.0:assertion}Assertion", SAMLV1: "{%s}Assertion" % SAMLV1}
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"

client = Client(url, wsse=UsernameToken(user, password))
RST = client.get_element("{%s}RequestSecurityToken" % WST)
RSTC = client.get_element("{%s}RequestSecurityTokenCollection" % WST)
RSTRC = client.get_element("{%s}RequestSecurityTokenResponseCollection" % WST)


def applies_to(address):
    at = etree.Element("{%s}AppliesTo" % WSP, nsmap={"wsp": WSP})
    epr = etree.SubElement(at, "{%s}EndpointReference" % WSA, nsmap={"wsa": WSA})
    etree.SubElement(epr, "{%s}Address" % WSA).text = address
    return at


def rst(context, token_type):
    return RST(
        _value_1=[{"RequestType": BATCH_ISSUE}, {"TokenType": token_type}, applies_to("urn:zeep:" + context)],
        Context=context,
    )


def post(port, requests):
    """The collection in `port`'s envelope, sent by zeep; (HTTP status, reply envelope)."""
    service = client.bind("SecurityTokenService", port)
    soap_ns = service._binding.nsmap["soap-env"]
    envelope = etree.Element("{%s}Envelope" % soap_ns, nsmap={"soap-env": soap_ns})
    etree.SubElement(envelope, "{%s}Header" % soap_ns)
    body = etree.SubElement(envelope, "{%s}Body" % soap_ns)
    RSTC.render(body, RSTC(RequestSecurityToken=requests))
    if soap_ns == SOAP11:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"%s"' % BATCH_ISSUE}
    else:
        assert soap_ns == SOAP12, soap_ns
        headers = {"Content-Type": 'application/soap+xml; charset=utf-8; action="%s"' % BATCH_ISSUE}
    envelope, headers = client.wsse.apply(envelope, headers)
    sent = etree.tostring(envelope)
    assert b"UsernameToken" in sent and b"RequestSecurityTokenCollection" in sent, sent
    reply = client.transport.post_xml(service._binding_options["address"], envelope, headers)
    return reply.status_code, etree.fromstring(reply.content), soap_ns


for port in ("STS_Port", "STS_Port_Soap12"):
    asked = [("first", SAMLV2), ("second", SAMLV1), ("third", SAMLV2)]
    status, reply, soap_ns = post(port, [rst(c, t) for c, t in asked])
    assert status == 200, (status, etree.tostring(reply))
    node = reply.find("{%s}Body/{%s}RequestSecurityTokenResponseCollection" % (soap_ns, WST))
    assert node is not None, etree.tostring(reply)
    parsed = RSTRC.parse(node, client.wsdl.types)
    rstrs = parsed.RequestSecurityTokenResponse
    assert len(rstrs) == len(asked), (len(rstrs), etree.tostring(node))
    for n, ((context, token_type), rstr, raw) in enumerate(zip(asked, rstrs, node)):
        assert rstr.Context == context, (n, rstr.Context, context)
        fields = {}
        for v in rstr._value_1:
            fields.update(v if isinstance(v, dict) else {})
        assert fields.get("TokenType") == token_type, (n, fields.get("TokenType"), token_type)
        assertion = raw.find(".//" + ASSERTION[token_type])
        assert assertion is not None, etree.tostring(raw)
        with open(os.path.join(out_dir, "%s-%d-%s.xml" % (port, n, "saml1" if token_type == SAMLV1 else "saml2")), "wb") as f:
            f.write(etree.tostring(assertion))
    print("zeep batch", port, "got", [r.Context for r in rstrs])

    status, reply, soap_ns = post(port, [rst("ok", SAMLV2), rst("bad", "urn:example:no-such-token-type"), rst("after", SAMLV1)])
    assert status == 500, (status, etree.tostring(reply))
    fault = reply.find("{%s}Body/{%s}Fault" % (soap_ns, soap_ns))
    assert fault is not None, etree.tostring(reply)
    assert b"wst:BadRequest" in etree.tostring(fault), etree.tostring(fault)
    assert reply.find(".//{%s}RequestSecurityTokenResponse" % WST) is None, etree.tostring(reply)
    print("zeep batch", port, "a failing request faults the batch")
print("zeep batch OK")
