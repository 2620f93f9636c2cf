#!/usr/bin/env bash
# The token matrix under load, one release server, REST translate over HTTP:
#   OPENIDCONNECT -> SAML2 (bearer), assertions signed RSA-2048 (RSA-SHA256) vs ECDSA P-256
#   X509 -> OPENIDCONNECT, id_tokens signed RS256 vs ES256 (certificate from an offload header)
# and, in the same run, `openssl speed -multi 2` for RSA-2048 and ECDSA P-256 on this machine.
# Every reply must be 200 and hold the issued token (bench/matrix_translate.lua counts the
# others); each instance is also tried once with curl first, and the token it issues checked to
# be signed with the intended algorithm. Results: a markdown table on stdout; a run with bad
# replies or socket errors is marked in it, and the script then exits 1.
# REST calls are let in with STS_REST_STS_CALLER=anyone (no administrator SSO token).
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
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$data" "$work"' EXIT

cargo build --release --quiet
sts() { ./target/release/sts --data-dir "$data" "$@"; }
STS_DEMO_PASSWORD=demo-password STS_ADMIN_PASSWORD=admin-password sts init >/dev/null

# An OpenID provider (RSA-2048) whose id_token is the OIDC input, its public JWK, and one
# id_token for alice (replayed for every request; the STS does not refuse id_token replay).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/idp.pem" 2>/dev/null
read -r jwk id_token < <(python3 - "$work/idp.pem" <<'PY'
import json, sys, time, jwt
from cryptography.hazmat.primitives import serialization
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
jwk.update(kid="idp-1", use="sig", alg="RS256")
now = int(time.time())
tok = jwt.encode({"iss": "https://idp.example.com", "aud": "sts", "sub": "alice", "iat": now, "exp": now + 3600},
                 key, algorithm="RS256", headers={"kid": "idp-1"})
print(json.dumps(jwk, separators=(",", ":")), tok)
PY
)
# A client CA (RSA-2048) and a client certificate for alice (P-256, clientAuth), passed as a TLS
# offload engine would: base64 DER on one line in X-Client-Cert.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -subj /CN=bench-client-ca -days 2 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/alice.key" -out "$work/alice.csr" \
  -subj /CN=alice 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$work/ext"
openssl x509 -req -in "$work/alice.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -out "$work/alice.pem" -days 2 -extfile "$work/ext" 2>/dev/null
openssl verify -purpose sslclient -CAfile "$work/ca.pem" "$work/alice.pem" >/dev/null
sts keys import client-ca "$work/ca.pem" >/dev/null
cert=$(openssl x509 -in "$work/alice.pem" -outform der | base64 -w0)

publish() { # element, saml2 key alias, oidc alg, oidc key alias, input type, output type
  sts instance publish rest - >/dev/null <<JSON
{"deployment-config": {"deployment-url-element": "$1", "deployment-realm": "/",
   "deployment-offloaded-two-way-tls-header-key": "X-Client-Cert",
   "deployment-tls-offload-engine-hosts": ["127.0.0.1"]},
 "saml2-config": {"issuer-name": "bench-idp", "saml2-sign-assertion": "true",
   "saml2-sp-entity-id": "urn:sts:bench-sp", "saml2-token-lifetime-seconds": "600",
   "saml2-signature-key-alias": "$2"},
 "oidc-id-token-config": {"oidc-issuer": "https://sts.example.com", "oidc-audience": ["rp"],
   "oidc-signature-algorithm": "$3", "oidc-signature-key-alias": "$4", "oidc-token-lifetime-seconds": "300"},
 "oidc-trusted-issuers": [{"issuer": "https://idp.example.com", "audience": ["sts"], "algorithms": ["RS256"],
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

STS_LOG=warn STS_REST_STS_CALLER=anyone ./target/release/sts serve --data-dir "$data" --listen "127.0.0.1:$PORT" \
  >"$out/server-matrix.log" 2>&1 &
pid=$!
base="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
curl -sf "$base/health" >/dev/null || { echo "server did not start; see $out/server-matrix.log" >&2; exit 1; }

oidc_in='{"input_token_state":{"token_type":"OPENIDCONNECT","oidc_id_token":"'$id_token'"},"output_token_state":{"token_type":"SAML2","subject_confirmation":"BEARER"}}'
x509_in='{"input_token_state":{"token_type":"X509"},"output_token_state":{"token_type":"OPENIDCONNECT","nonce":"n","allow_access":true}}'
dsig=http://www.w3.org/2001/04/xmldsig-more

# The algorithm the issued token is signed with: a SAML2 SignatureMethod URI or a JWS alg.
signed_with() {
  python3 -c '
import base64, json, re, sys
tok = json.load(sys.stdin)["issued_token"]
if tok.startswith("<"):
    m = re.search(r"SignatureMethod Algorithm=\"([^\"]+)\"", tok)
    print(m.group(1) if m else "unsigned")
else:
    h = tok.split(".")[0]
    print(json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["alg"])'
}

failed=()
rows=()
# name, url element, body, cert header ("" for none), expected signature algorithm,
# string every good reply holds, table label
run() {
  local name=$1 url="$base/rest-sts/$2?_action=translate" status alg f="$out/wrk-$1.txt" pre=
  echo "== $name" >&2
  status=$(curl -s -o "$work/reply" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    ${4:+-H "X-Client-Cert: $4"} --data "$3" "$url")
  if [ "$status" != 200 ]; then
    echo "preflight: HTTP $status: $(head -c 600 "$work/reply")" >&2
    pre="**preflight HTTP $status** "
    failed+=("$name (preflight HTTP $status)")
  elif ! alg=$(signed_with <"$work/reply") || [ "$alg" != "$5" ]; then
    echo "preflight: token signed with '$alg', expected '$5'" >&2
    pre="**preflight: signed with $alg** "
    failed+=("$name (signed with $alg)")
  fi
  STS_BENCH_BODY=$3 STS_BENCH_CERT=$4 STS_BENCH_EXPECT=$6 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
    -s bench/matrix_translate.lua "$url" >"$f" || echo "wrk exited with status $?" >&2
  local rps p50 p99 good bad sock check
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$f")
  p50=$(awk '$1 == "50%" {print $2}' "$f")
  p99=$(awk '$1 == "99%" {print $2}' "$f")
  read -r good bad sock < <(awk '/^checked:/ {print $2, $4, $7}' "$f") || true
  check="$good good"
  if [ "${bad:-1}" != 0 ] || [ "${sock:-1}" != 0 ] || [ -z "$good" ] || [ "$good" = 0 ]; then
    check="**ERRORS: ${bad:-?} bad replies, ${sock:-?} socket errors** ($good good)"
    failed+=("$name (wrk: ${bad:-?} bad, ${sock:-?} socket errors)")
  fi
  echo "$rps req/s, p50 $p50, p99 $p99, $check" >&2
  rows+=("| $7 | ${rps:-?} | ${p50:-?} | ${p99:-?} | $pre$check |")
}
run oidc-saml2-rsa oidc-saml-rsa "$oidc_in" "" "$dsig#rsa-sha256" '#rsa-sha256' \
  'OPENIDCONNECT -> SAML2 (bearer) | RSA-2048 (RSA-SHA256)'
run oidc-saml2-ecdsa oidc-saml-ec "$oidc_in" "" "$dsig#ecdsa-sha256" '#ecdsa-sha256' \
  'OPENIDCONNECT -> SAML2 (bearer) | ECDSA P-256 (ECDSA-SHA256)'
run x509-oidc-rs256 x509-oidc-rs256 "$x509_in" "$cert" RS256 '"issued_token":"eyJ' \
  'X509 (offload header) -> OPENIDCONNECT | RS256 (RSA-2048)'
run x509-oidc-es256 x509-oidc-es256 "$x509_in" "$cert" ES256 '"issued_token":"eyJ' \
  'X509 (offload header) -> OPENIDCONNECT | ES256 (P-256)'
rss=$(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")
echo "peak RSS: $rss" >"$out/rss-matrix.txt"
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=

# Raw signing and verification on the same machine, after the server has stopped.
echo "== openssl speed -multi 2 -seconds 3 rsa2048 ecdsap256" >&2
openssl speed -multi 2 -seconds 3 rsa2048 ecdsap256 >"$out/openssl-speed.txt" 2>/dev/null || true

echo
echo "Token matrix: $CONNECTIONS connections, $THREADS wrk threads, $DURATION per run, one release \`sts serve\` ($(nproc) CPUs)"
echo
echo "| transform | signing key | req/s | p50 | p99 | replies checked |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Server peak RSS: $rss"
echo
echo "\`openssl speed -multi 2 -seconds 3 rsa2048 ecdsap256\` (same run, both processes together):"
echo
echo '```'
grep -E "sign/s|^rsa 2048|bits ecdsa \(nistp256\)" "$out/openssl-speed.txt" || echo "(no openssl speed figures; see $out/openssl-speed.txt)"
echo '```'
if [ ${#failed[@]} -gt 0 ]; then
  echo
  echo "FAILED runs (figures above are not valid for them):"
  printf -- '- %s\n' "${failed[@]}"
  exit 1
fi
