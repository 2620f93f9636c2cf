"""ActAs and Claims from python zeep, with the request built from the instance's WSDL alone.

usage: zeep_act_as.py WSDL_URL REQUESTER PASSWORD ACT_AS_USER ACT_AS_PASSWORD OUT_DIR
For each port (SOAP 1.1 and 1.2): Issue with the requester's UsernameToken in the Security
header, a wst14:ActAs holding the ActAs user's UsernameToken, and a wst:Claims (identity
dialect) asking for `email`. Checks the assertion the way a zeep user reads it (subject, the
requester as del:Delegate, the attributes) and writes it to OUT_DIR/zeep-act-as-<port>.xml for
the caller to verify. Exits non-zero on the first mismatch.
"""
import os
import sys

from lxml import etree
from zeep import Client
from zeep.plugins import HistoryPlugin
from zeep.wsse.username import UsernameToken

url, requester, password, act_user, act_password, out_dir = sys.argv[1:7]
WST = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
WST14 = "http://docs.oasis-open.org/ws-sx/ws-trust/200802"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
IDENTITY = "http://schemas.xmlsoap.org/ws/2005/05/identity"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
DEL = "urn:oasis:names:tc:SAML:2.0:conditions:delegation"
SAMLV2 = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0"


def act_as():
    el = etree.Element("{%s}ActAs" % WST14, nsmap={"wst14": WST14})
    ut = etree.SubElement(el, "{%s}UsernameToken" % WSSE, nsmap={"wsse": WSSE})
    etree.SubElement(ut, "{%s}Username" % WSSE).text = act_user
    etree.SubElement(ut, "{%s}Password" % WSSE).text = act_password
    return el


def claims():
    el = etree.Element("{%s}Claims" % WST, nsmap={"wst": WST, "ic": IDENTITY}, Dialect=IDENTITY)
    etree.SubElement(el, "{%s}ClaimType" % IDENTITY, Uri="email", Optional="false")
    return el


for port in ("STS_Port", "STS_Port_Soap12"):
    history = HistoryPlugin()
    client = Client(url, wsse=UsernameToken(requester, password), plugins=[history])
    service = client.bind("SecurityTokenService", port)
    result = service.Issue(
        _value_1=[
            {"RequestType": WST + "/Issue"},
            {"TokenType": SAMLV2},
            {"KeyType": WST + "/Bearer"},
            act_as(),
            claims(),
        ],
        Context="urn:uuid:ctx-zeep-act-as",
    )
    sent = history.last_sent["envelope"]
    assert sent.find(".//{%s}ActAs/{%s}UsernameToken" % (WST14, WSSE)) is not None, etree.tostring(sent)
    rstr = result.RequestSecurityTokenResponse[0]
    assert rstr.Context == "urn:uuid:ctx-zeep-act-as", rstr.Context
    assertion = history.last_received["envelope"].find(".//{%s}Assertion" % SAML2)
    assert assertion is not None, etree.tostring(history.last_received["envelope"])
    name_id = assertion.find("{%s}Subject/{%s}NameID" % (SAML2, SAML2)).text
    assert name_id == act_user, name_id
    delegate = assertion.find("{%s}Conditions/{%s}Condition/{%s}Delegate" % (SAML2, SAML2, DEL))
    assert delegate is not None, etree.tostring(assertion)
    assert delegate.find("{%s}NameID" % SAML2).text == requester
    assert delegate.get("DelegationInstant") == assertion.get("IssueInstant")
    names = [a.get("Name") for a in assertion.iter("{%s}Attribute" % SAML2)]
    assert names == ["email"], names
    with open(os.path.join(out_dir, "zeep-act-as-%s.xml" % port), "wb") as f:
        f.write(etree.tostring(assertion))
    print("zeep ActAs", port, "issued", assertion.get("ID"), "for", name_id, "acted by", requester)
print("zeep ActAs OK")
