"""Verifies a SAML 1.1 assertion's signature with pysaml2, trusting only the given certificate.

usage: pysaml2_verify_saml1.py ASSERTION_FILE CERT_PEM_FILE

pysaml2 has no SAML 1.1 object model (its `saml` module is SAML 2.0 only, so it cannot read the
assertion's content), and its default crypto backend, xmlsec1, hard-codes `--id-attr:ID`, which
cannot resolve SAML 1.1's `AssertionID` reference (xmlsec1: "failed to find node with id").
Its other backend, `CryptoBackendXMLSecurity` (pyXMLSecurity), takes the ID attribute names
from pyXMLSecurity's configuration (`xmlsec.id_attributes`, pyconfig): set to AssertionID, the
signature is verified through pysaml2's own `SecurityContext.verify_signature`, no patching.
As a self-check, the same assertion with its NameIdentifier changed must then fail.
Exits 0 when the assertion verifies and the altered copy does not.
"""
import re
import sys

import pyconfig
from saml2.sigver import CryptoBackendXMLSecurity, SecurityContext

path, cert = sys.argv[1:3]
with open(path, encoding="utf-8") as f:
    xml = f.read()
pyconfig.set("xmlsec.id_attributes", ["AssertionID"])
context = SecurityContext(CryptoBackendXMLSecurity())
node = "urn:oasis:names:tc:SAML:1.0:assertion:Assertion"
assertion_id = re.search(r'AssertionID="([^"]+)"', xml).group(1)


def verifies(text):
    try:
        return context.verify_signature(text, cert_file=cert, cert_type="pem", node_name=node, node_id=assertion_id)
    except Exception as e:  # pyXMLSecurity raises on a broken reference
        print("pysaml2:", type(e).__name__, e)
        return False


if not verifies(xml):
    print("pysaml2: the assertion does not verify")
    sys.exit(1)
altered = re.sub(r"(<saml:NameIdentifier[^>]*>)([^<]*)<", r"\1\2-altered<", xml, count=1)
if altered == xml or verifies(altered):
    print("pysaml2: an altered assertion verified (or could not be altered)")
    sys.exit(1)
print("pysaml2: verified", assertion_id)
