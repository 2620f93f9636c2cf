"""Verifies an id_token with PyJWT, an independent JWT library, and prints its claims.

usage: verify_jwt.py TOKEN ALG KEYFILE AUDIENCE ISSUER
KEYFILE is a PEM certificate (RS/PS/ES algorithms), a JWK (a `.json` file, as a JWKS endpoint
publishes it), or a file holding the HMAC secret (HS).
Exits 1 with the reason when PyJWT refuses the token.
"""
import json
import sys

import jwt
from cryptography import x509

token, alg, keyfile, audience, issuer = sys.argv[1:6]
data = open(keyfile, "rb").read()
if keyfile.endswith(".json"):
    key = jwt.PyJWK(json.loads(data)).key
elif alg.startswith("HS"):
    key = data
else:
    key = x509.load_pem_x509_certificate(data).public_key()
try:
    claims = jwt.decode(token, key, algorithms=[alg], audience=audience, issuer=issuer,
                        options={"require": ["exp", "iat", "iss", "sub", "aud"]})
except jwt.PyJWTError as e:
    print(f"refused: {e!r}")
    sys.exit(1)
print(json.dumps({"header": jwt.get_unverified_header(token), "claims": claims}))
