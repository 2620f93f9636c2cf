"""Drive a running sts instance with python zeep, generated from its WSDL alone.

usage: zeep_issue.py WSDL_URL USERNAME PASSWORD OUT_DIR
For each port (SOAP 1.1 and 1.2): calls Issue with a UsernameToken (text), checks the reply
the way a zeep user reads it, and writes the assertion to OUT_DIR/zeep-<port>.xml for the
caller to verify. Exits non-zero on the first mismatch.
"""
import os
import sys

from lxml import etree
from zeep import Client, xsd
from zeep.plugins import HistoryPlugin
from zeep.wsse.username import UsernameToken

url, user, password, out_dir = sys.argv[1:5]
WST = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
WSP = "http://schemas.xmlsoap.org/ws/2004/09/policy"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLV2 = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0"


def children(rstr):
    """(name, value) for each RSTR child in document order (zeep's any-order choice)."""
    for item in rstr._value_1:
        if isinstance(item, dict):
            yield next(iter(item.items()))
        elif isinstance(item, etree._Element):
            yield etree.QName(item).localname, item
        else:
            yield item._xsd_type.name.replace("Type", ""), item


for port in ("STS_Port", "STS_Port_Soap12"):
    history = HistoryPlugin()
    client = Client(url, wsse=UsernameToken(user, password), plugins=[history])
    service = client.bind("SecurityTokenService", port)
    applies_to_el = client.get_element("{%s}AppliesTo" % WSP)
    applies_to = xsd.AnyObject(applies_to_el, applies_to_el(EndpointReference={"Address": "urn:zeep:rp"}))
    result = service.Issue(
        _value_1=[
            {"RequestType": WST + "/Issue"},
            {"TokenType": SAMLV2},
            {"KeyType": WST + "/Bearer"},
            {"_value_1": applies_to},
        ],
        Context="urn:uuid:ctx-zeep",
    )
    received = history.last_received["envelope"]
    soap_ns = etree.QName(received).namespace
    expected_ns = "http://www.w3.org/2003/05/soap-envelope" if port.endswith("Soap12") else "http://schemas.xmlsoap.org/soap/envelope/"
    assert soap_ns == expected_ns, (port, soap_ns)
    rstrs = result.RequestSecurityTokenResponse
    assert len(rstrs) == 1, rstrs
    rstr = rstrs[0]
    assert rstr.Context == "urn:uuid:ctx-zeep", rstr.Context
    kids = list(children(rstr))
    names = [n for n, _ in kids]
    assert names == ["TokenType", "RequestedSecurityToken", "RequestedAttachedReference",
                     "RequestedUnattachedReference", "Lifetime", "AppliesTo", "KeyType"], names
    values = dict(kids)
    assert values["TokenType"] == SAMLV2, values["TokenType"]
    rst_token = values["RequestedSecurityToken"]
    assertion = rst_token._value_1 if hasattr(rst_token, "_value_1") else rst_token
    if isinstance(assertion, list):
        assertion = assertion[0]
    assert etree.QName(assertion).localname == "Assertion", assertion
    name_id = assertion.find("{%s}Subject/{%s}NameID" % (SAML2, SAML2)).text
    assert name_id == user, name_id
    audience = assertion.find(".//{%s}Audience" % SAML2).text
    assert audience == "urn:zeep:rp", audience
    with open(os.path.join(out_dir, "zeep-%s.xml" % port), "wb") as f:
        f.write(etree.tostring(assertion))
    print("zeep", port, "issued", assertion.get("ID"))
print("zeep OK")
