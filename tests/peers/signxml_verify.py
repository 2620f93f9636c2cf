"""Verify an enveloped XML signature with python signxml, trusting one certificate.

usage: signxml_verify.py ASSERTION.xml CERT.pem [ID-ATTRIBUTE]
Exits 0 and prints the signed element's tag when the signature is valid.
"""
import sys

from signxml import XMLVerifier

data = open(sys.argv[1], "rb").read()
cert = open(sys.argv[2]).read()
# The signature must cover the document element itself (id attribute "ID", SAML 2.0 style;
# SAML 1.1 names it "AssertionID").
id_attribute = sys.argv[3] if len(sys.argv) > 3 else "ID"
result = XMLVerifier().verify(data, x509_cert=cert, id_attribute=id_attribute, expect_references=1)
print("verified", result.signed_xml.tag)
