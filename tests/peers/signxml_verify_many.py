"""Verify many enveloped XML signatures with python signxml in one process, trusting one
certificate (the differential test of the canonical signer batches its checks).

usage: signxml_verify_many.py CERT.pem ID-ATTRIBUTE FILE...
Prints one line per file, `ok NAME` or `FAIL NAME: why`; exits 1 if any failed.
"""
import sys

from signxml import XMLVerifier

cert = open(sys.argv[1]).read()
id_attribute = sys.argv[2]
failed = 0
for name in sys.argv[3:]:
    data = open(name, "rb").read()
    try:
        XMLVerifier().verify(data, x509_cert=cert, id_attribute=id_attribute, expect_references=1)
        print("ok", name)
    except Exception as e:  # noqa: BLE001 - every failure is reported, with its file
        failed += 1
        print("FAIL", name + ":", repr(e))
sys.exit(1 if failed else 0)
