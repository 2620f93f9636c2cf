"""Verify an enveloped XML signature with python signxml, trusting one certificate.

usage: signxml_verify.py ASSERTION.xml CERT.pem
Exits 0 and prints the signed element's tag when the signature is valid.
"""
import sys

from signxml import XMLVerifier

data = open(sys.argv[1], "rb").read()
cert = open(sys.argv[2]).read()
# The signature must cover the document element itself (id attribute "ID", SAML style).
result = XMLVerifier().verify(data, x509_cert=cert, id_attribute="ID", expect_references=1)
print("verified", result.signed_xml.tag)
