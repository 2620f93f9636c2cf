#!/usr/bin/env bash
# The token matrix under load, one release server, REST translate over HTTP:
#   OPENIDCONNECT -> SAML2 (bearer), assertions signed RSA-2048 (RSA-SHA256) vs ECDSA P-256
#   X509 -> OPENIDCONNECT, id_tokens signed RS256 vs ES256 (certificate from an offload header)
# and, in the same run, `openssl speed -multi 2` for RSA-2048 and ECDSA P-256 on this machine.
# Every reply must be 200; wrk's stderr reports any other.
# Knobs: DURATION (15s), CONNECTIONS (64), THREADS (2), PORT (18084).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-18084}
out=bench/results
mkdir -p "$out"
data=$(mktemp -d)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data" "$work"' EXIT

cargo build --release --quiet
sts() { ./target/release/sts --data-dir "$data" "$@"; }
STS_DEMO_PASSWORD=demo-password STS_ADMIN_PASSWORD=admin-password sts init >/dev/null

# An OpenID provider (RSA) whose id_token is the OIDC input, and its JWK.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/op.pem" 2>/dev/null
read -r jwk id_token < <(python3 - "$work/op.pem" <<'PY'
import json, sys, time, jwt
from cryptography.hazmat.primitives import serialization
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
jwk["kid"] = "op-1"
now = int(time.time())
tok = jwt.encode({"iss": "https://op.example.com", "aud": "sts", "sub": "demo", "iat": now, "exp": now + 3600},
                 key, algorithm="RS256", headers={"kid": "op-1"})
print(json.dumps(jwk, separators=(",", ":")), tok)
PY
)
# A client CA and a client certificate for demo, passed as a TLS offload engine would.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -subj /CN=bench-ca -days 2 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/c.key" -out "$work/c.csr" -subj /CN=demo 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >"$work/ext"
openssl x509 -req -in "$work/c.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -out "$work/c.pem" -days 2 -extfile "$work/ext" 2>/dev/null
sts keys import client-ca "$work/ca.pem" >/dev/null
cert=$(openssl x509 -in "$work/c.pem" -outform der | base64 -w0)

publish() { # element, saml key alias, oidc alg, oidc key alias, input, output
  sts instance publish rest - >/dev/null <<JSON
{"deployment-config": {"deployment-url-element": "$1", "deployment-realm": "/",
   "deployment-offloaded-two-way-tls-header-key": "X-Client-Cert",
   "deployment-tls-offload-engine-hosts": ["127.0.0.1"]},
 "saml2-config": {"issuer-name": "bench-idp", "saml2-sign-assertion": "true",
   "saml2-sp-entity-id": "urn:sp", "saml2-signature-key-alias": "$2"},
 "oidc-id-token-config": {"oidc-issuer": "https://sts.example.com", "oidc-audience": "rp",
   "oidc-signature-algorithm": "$3", "oidc-signature-key-alias": "$4"},
 "oidc-trusted-issuers": [{"issuer": "https://op.example.com", "audience": ["sts"], "algorithms": ["RS256"],
   "jwks": {"keys": [$jwk]}}],
 "x509-trust-anchors": ["client-ca"],
 "persist-issued-tokens-in-cts": "false",
 "supported-token-transforms": [
   {"inputTokenType": "$5", "outputTokenType": "$6", "invalidateInterimOpenAMSession": true}]}
JSON
}
publish oidc-saml-rsa sts-signing RS256 sts-signing OPENIDCONNECT SAML2
publish oidc-saml-ec sts-signing-ec RS256 sts-signing OPENIDCONNECT SAML2
publish x509-oidc-rs256 sts-signing RS256 sts-signing X509 OPENIDCONNECT
publish x509-oidc-es256 sts-signing ES256 sts-signing-ec X509 OPENIDCONNECT

STS_LOG=warn STS_REST_STS_CALLER=anyone ./target/release/sts serve --data-dir "$data" --listen "127.0.0.1:$PORT" >"$out/server-matrix.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$PORT"
run() { # name, element, body, cert
  echo "== $1"
  STS_BENCH_BODY=$3 STS_BENCH_CERT=$4 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
    -s bench/matrix_translate.lua "$base/rest-sts/$2?_action=translate" \
    | tee "$out/wrk-$1.txt" | grep -E "Requests/sec|  50%|  99%"
}
oidc_in='{"input_token_state":{"token_type":"OPENIDCONNECT","oidc_id_token":"'$id_token'"},"output_token_state":{"token_type":"SAML2","subject_confirmation":"BEARER"}}'
x509_in='{"input_token_state":{"token_type":"X509"},"output_token_state":{"token_type":"OPENIDCONNECT","nonce":"n","allow_access":true}}'
run oidc-saml2-rsa oidc-saml-rsa "$oidc_in" ""
run oidc-saml2-ecdsa oidc-saml-ec "$oidc_in" ""
run x509-oidc-rs256 x509-oidc-rs256 "$x509_in" "$cert"
run x509-oidc-es256 x509-oidc-es256 "$x509_in" "$cert"
echo "peak RSS: $(grep VmHWM /proc/$pid/status)" | tee "$out/rss-matrix.txt"
kill "$pid"
echo "== openssl speed -multi 2 (same machine, same run)"
openssl speed -multi 2 -seconds 3 rsa2048 ecdsap256 2>/dev/null | tee "$out/openssl-speed.txt" | grep -E "sign/s|^rsa 2048| 256 bits ecdsa" || true
