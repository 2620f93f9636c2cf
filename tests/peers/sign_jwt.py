"""Signs a JWT with PyJWT, an independent JWT library, for the OIDC input tests.

usage: sign_jwt.py ALG KEYFILE CLAIMS_JSON [KID]
KEYFILE is a PEM private key (RS/PS/ES) or a file holding the HMAC secret (HS).
"""
import json
import sys

import jwt

alg, keyfile, claims = sys.argv[1:4]
headers = {"kid": sys.argv[4]} if len(sys.argv) > 4 else None
print(jwt.encode(json.loads(claims), open(keyfile, "rb").read(), algorithm=alg, headers=headers))
