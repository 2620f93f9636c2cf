"""Batches (wst:RequestSecurityTokenCollection) from python zeep, through the WSDL.

usage: zeep_batch.py WSDL_URL USER PASSWORD OUT_DIR

The instance WSDL declares OASIS's `RequestCollection` operation (input
RequestSecurityTokenCollection, output RequestSecurityTokenResponseCollection, an empty
soapAction: the collection's batch RequestType says what it is). zeep calls it by name
(`service.RequestCollection(...)`) on each port, with its own wsse UsernameToken, and parses
the reply with the WSDL's schema; zeep's HistoryPlugin hands over the raw reply, from which
the tokens are taken as they were sent.

For each port (SOAP 1.1 and 1.2):
- BatchIssue of three RSTs (SAML 2.0, SAML 1.1, SAML 2.0; Contexts first, second, third)
  must come back as three RSTRs in that order, each with its Context, TokenType and a token,
  written to OUT_DIR/<port>-<n>-<saml1|saml2>.xml for the caller to verify;
- BatchValidate of the first two tokens and an altered third: statuses valid, valid, invalid;
- BatchRenew of the first two: two new assertions with new IDs, written to
  OUT_DIR/<port>-renewed-<n>-<saml1|saml2>.xml;
- BatchCancel of the first renewal and the third token: RequestedTokenCancelled for each
  (the caller checks that only the second renewal of each port stays stored);
- a BatchIssue whose second RST asks for a token type the instance does not issue: one SOAP
  fault (wst:BadRequest), no RSTR;
- a collection mixing BatchValidate and BatchCancel: one fault (wst:InvalidRequest).
Checks are explicit (`fail`), not `assert`, which python -O drops. Exits non-zero on the
first mismatch.
"""
import copy
import os
import sys

from lxml import etree
from zeep import Client
from zeep.exceptions import Fault
from zeep.plugins import HistoryPlugin
from zeep.wsse.username import UsernameToken

url, user, password, out_dir = sys.argv[1:5]
WST = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
WSP = "http://schemas.xmlsoap.org/ws/2004/09/policy"
WSA = "http://www.w3.org/2005/08/addressing"
SAMLV2 = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0"
SAMLV1 = "urn:oasis:names:tc:SAML:1.0:assertion"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
ASSERTIONS = ("{%s}Assertion" % SAML2, "{%s}Assertion" % SAMLV1)
VALID = WST + "/status/valid"
INVALID = WST + "/status/invalid"


def fail(*what):
    print("zeep batch FAILED:", *what, file=sys.stderr)
    sys.exit(1)


def batch(op):
    return "%s/Batch%s" % (WST, op)


def applies_to(address):
    at = etree.Element("{%s}AppliesTo" % WSP, nsmap={"wsp": WSP})
    epr = etree.SubElement(at, "{%s}EndpointReference" % WSA, nsmap={"wsa": WSA})
    etree.SubElement(epr, "{%s}Address" % WSA).text = address
    return at


def issue_rst(context, token_type):
    return RST(
        _value_1=[{"RequestType": batch("Issue")}, {"TokenType": token_type}, applies_to("urn:zeep:" + context)],
        Context=context,
    )


def target_rst(op, context, token):
    """A BatchValidate/Cancel/Renew RST naming `token` (an assertion, sent as it came)."""
    return RST(
        _value_1=[{"RequestType": batch(op)}, {op + "Target": {"_value_1": copy.deepcopy(token)}}],
        Context=context,
    )


def fields(rstr):
    out = {}
    for v in rstr._value_1 or []:
        if isinstance(v, dict):
            out.update(v)
    return out


def tokens(raw):
    """The assertions of each RSTR of the raw reply, in order (None where an RSTR has none)."""
    node = raw.find(".//{%s}RequestSecurityTokenResponseCollection" % WST)
    if node is None:
        fail("no RSTRC in", etree.tostring(raw))
    out = []
    for rstr in node.findall("{%s}RequestSecurityTokenResponse" % WST):
        found = [a for name in ASSERTIONS for a in rstr.iter(name)]
        out.append(found[0] if found else None)
    return out


def call(service, rsts):
    """The RequestCollection operation: the parsed RSTRs and the raw reply."""
    result = service.RequestCollection(RequestSecurityToken=rsts)
    sent = history.last_sent["envelope"]
    if sent.find(".//{%s}RequestSecurityTokenCollection" % WST) is None:
        fail("zeep sent no collection:", etree.tostring(sent))
    rstrs = getattr(result, "RequestSecurityTokenResponse", result)
    return list(rstrs), history.last_received["envelope"]


def refused(service, rsts, code):
    """The call must fail with one SOAP fault whose wst: code is `code`, and no RSTR."""
    try:
        service.RequestCollection(RequestSecurityToken=rsts)
    except Fault as f:
        # SOAP 1.1: the faultcode ("wst:BadRequest"); SOAP 1.2: the Subcode values.
        codes = [str(f.code)] + [str(s) for s in (f.subcodes or [])]
        if not any(c.endswith(code) for c in codes):
            fail("fault", codes, f.message, "is not", code)
        reply = history.last_received["envelope"]
        if reply.find(".//{%s}RequestSecurityTokenResponse" % WST) is not None:
            fail("a fault with an RSTR:", etree.tostring(reply))
        return f.message
    fail("no fault for", code)


def token_id(a):
    return a.get("ID") or a.get("AssertionID")


def save(name, a):
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(etree.tostring(a))


history = HistoryPlugin()
client = Client(url, wsse=UsernameToken(user, password), plugins=[history])
RST = client.get_element("{%s}RequestSecurityToken" % WST)

for port in ("STS_Port", "STS_Port_Soap12"):
    service = client.bind("SecurityTokenService", port)
    if "RequestCollection" not in service._binding._operations:
        fail(port, "the WSDL binding has no RequestCollection operation")

    asked = [("first", SAMLV2), ("second", SAMLV1), ("third", SAMLV2)]
    rstrs, raw = call(service, [issue_rst(c, t) for c, t in asked])
    if len(rstrs) != len(asked):
        fail(port, "issue: %d RSTRs for %d RSTs" % (len(rstrs), len(asked)))
    issued = tokens(raw)
    for n, ((context, token_type), rstr, a) in enumerate(zip(asked, rstrs, issued)):
        if rstr.Context != context:
            fail(port, "issue RSTR", n, "Context", rstr.Context, "!=", context)
        if fields(rstr).get("TokenType") != token_type:
            fail(port, "issue RSTR", n, "TokenType", fields(rstr).get("TokenType"))
        if a is None:
            fail(port, "issue RSTR", n, "holds no assertion")
        save("%s-%d-%s.xml" % (port, n, "saml1" if token_type == SAMLV1 else "saml2"), a)
    print("zeep batch", port, "issued", [r.Context for r in rstrs])

    altered = copy.deepcopy(issued[2])
    audience = next(altered.iter("{%s}Audience" % SAML2))
    audience.text = "urn:zeep:altered"
    rstrs, _ = call(service, [target_rst("Validate", "v%d" % n, a) for n, a in enumerate(issued[:2] + [altered])])
    got = [(r.Context, fields(r)["Status"].Code) for r in rstrs]
    if got != [("v0", VALID), ("v1", VALID), ("v2", INVALID)]:
        fail(port, "validate:", got)
    print("zeep batch", port, "validated", got)

    rstrs, raw = call(service, [target_rst("Renew", "r%d" % n, a) for n, a in enumerate(issued[:2])])
    renewed = tokens(raw)
    if [r.Context for r in rstrs] != ["r0", "r1"] or None in renewed:
        fail(port, "renew:", [r.Context for r in rstrs], etree.tostring(raw))
    for n, (old, new) in enumerate(zip(issued, renewed)):
        if token_id(new) == token_id(old) or new.tag != old.tag:
            fail(port, "renewal", n, "is", new.tag, token_id(new), "for", old.tag, token_id(old))
        save("%s-renewed-%d-%s.xml" % (port, n, "saml1" if new.tag.startswith("{%s}" % SAMLV1) else "saml2"), new)
    print("zeep batch", port, "renewed", [token_id(a) for a in renewed])

    rstrs, _ = call(service, [target_rst("Cancel", "c0", renewed[0]), target_rst("Cancel", "c1", issued[2])])
    got = [(r.Context, "RequestedTokenCancelled" in fields(r)) for r in rstrs]
    if got != [("c0", True), ("c1", True)]:
        fail(port, "cancel:", got)
    print("zeep batch", port, "cancelled", [r.Context for r in rstrs])

    why = refused(service, [issue_rst("ok", SAMLV2), issue_rst("bad", "urn:example:no-such-token-type"), issue_rst("after", SAMLV1)], "BadRequest")
    print("zeep batch", port, "a failing request faults the batch:", why)
    why = refused(service, [target_rst("Validate", "m0", renewed[1]), target_rst("Cancel", "m1", renewed[1])], "InvalidRequest")
    print("zeep batch", port, "mixed RequestTypes are refused:", why)
print("zeep batch OK")
