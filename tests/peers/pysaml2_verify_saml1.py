"""Verifies a SAML 1.1 assertion's signature with pysaml2, trusting only the given certificate.

usage: pysaml2_verify_saml1.py ASSERTION_FILE CERT_PEM_FILE

pysaml2 has no SAML 1.1 object model (its `saml` module is SAML 2.0 only, so it cannot read the
assertion's content), and its default crypto backend, xmlsec1, hard-codes `--id-attr:ID`, which
cannot resolve SAML 1.1's `AssertionID` reference (xmlsec1: "failed to find node with id").
Its other backend, `CryptoBackendXMLSecurity` (pyXMLSecurity), takes the ID attribute names
from pyXMLSecurity's configuration (`xmlsec.id_attributes`, pyconfig): set to AssertionID, the
signature is verified through pysaml2's own `SecurityContext.verify_signature`, no patching.
A signature that verifies is a proof only if it covers the assertion itself: the file's root
must be the SAML 1.1 Assertion (the only element with its AssertionID), its enveloped
ds:Signature a child of it, with exactly one
Reference whose URI is `#` + the root's AssertionID (a verifier that accepts a signature over
another element, a wrapped copy say, proves nothing about this one).
As a self-check, the same assertion with its NameIdentifier changed must then fail.
Exits 0 when the assertion verifies and the altered copy does not.
"""
import re
import sys

import pyconfig
from lxml import etree
from saml2.sigver import CryptoBackendXMLSecurity, SecurityContext

SAML1 = "urn:oasis:names:tc:SAML:1.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"


def fail(*what):
    print("pysaml2:", *what)
    sys.exit(1)


path, cert = sys.argv[1:3]
with open(path, encoding="utf-8") as f:
    xml = f.read()
root = etree.fromstring(xml.encode("utf-8"))
if root.tag != "{%s}Assertion" % SAML1:
    fail("the root is", root.tag, "not a SAML 1.1 Assertion")
assertion_id = root.get("AssertionID")
if not assertion_id:
    fail("the assertion has no AssertionID")
# The reference must resolve to the root and nothing else: a second element with the same
# AssertionID (a wrapped copy) would leave open which one the verifier checked.
same_id = [e for e in root.iter() if isinstance(e.tag, str) and e.get("AssertionID") == assertion_id]
if len(same_id) != 1:
    fail("AssertionID", assertion_id, "is carried by", len(same_id), "elements, not one")
signatures = root.findall("{%s}Signature" % DS)
if len(signatures) != 1:
    fail("the assertion has", len(signatures), "enveloped signatures, not one")
references = signatures[0].findall("{%s}SignedInfo/{%s}Reference" % (DS, DS))
uris = [r.get("URI") for r in references]
if uris != ["#" + assertion_id]:
    fail("the signature references", uris, "not the assertion", "#" + assertion_id)
pyconfig.set("xmlsec.id_attributes", ["AssertionID"])
context = SecurityContext(CryptoBackendXMLSecurity())
node = "urn:oasis:names:tc:SAML:1.0:assertion:Assertion"


def verifies(text):
    try:
        return context.verify_signature(text, cert_file=cert, cert_type="pem", node_name=node, node_id=assertion_id)
    except Exception as e:  # pyXMLSecurity raises on a broken reference
        print("pysaml2:", type(e).__name__, e)
        return False


if not verifies(xml):
    fail("the assertion does not verify")
altered = re.sub(r"(<saml:NameIdentifier[^>]*>)([^<]*)<", r"\1\2-altered<", xml, count=1)
if altered == xml or verifies(altered):
    fail("an altered assertion verified (or could not be altered)")
print("pysaml2: verified", assertion_id, "signed over", uris[0])
