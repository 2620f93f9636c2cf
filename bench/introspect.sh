#!/usr/bin/env bash
# Introspections per second over HTTP (RFC 7662, client_secret_basic), one release server:
#   an RS256 id_token and an RSA-SHA256 SAML 2.0 assertion, each of a persisting instance
#   (signature check + store lookup) and of a non-persisting one (signature check only).
# Every reply must be 200 with "active":true; wrk's stderr reports any other.
# Knobs: DURATION (15s), CONNECTIONS (64), THREADS (2), PORT (18083).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-18083}
out=bench/results
mkdir -p "$out"
data=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT

cargo build --release --quiet
sts() { ./target/release/sts --data-dir "$data" "$@"; }
STS_DEMO_PASSWORD=demo-password STS_ADMIN_PASSWORD=admin-password sts init >/dev/null
for persist in true false; do
  sts instance publish rest - >/dev/null <<JSON
{"deployment-config": {"deployment-url-element": "intro-$persist", "deployment-realm": "/"},
 "saml2-config": {"issuer-name": "idp-$persist", "saml2-sign-assertion": "true",
   "saml2-sp-entity-id": "urn:sp", "saml2-signature-key-alias": "sts-signing"},
 "oidc-id-token-config": {"oidc-issuer": "https://sts.example.com/$persist", "oidc-audience": "rp",
   "oidc-signature-algorithm": "RS256", "oidc-signature-key-alias": "sts-signing",
   "oidc-token-lifetime-seconds": "3600"},
 "persist-issued-tokens-in-cts": "$persist",
 "supported-token-transforms": [
   {"inputTokenType": "USERNAME", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true},
   {"inputTokenType": "USERNAME", "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true}]}
JSON
done
secret=$(sts client add rs-bench | sed -n 's/^client_secret: //p')
STS_LOG=warn STS_REST_STS_CALLER=anyone ./target/release/sts serve --data-dir "$data" --listen "127.0.0.1:$PORT" >"$out/server-introspect.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$PORT"
translate() { # instance, output state
  curl -sf -X POST -H "Content-Type: application/json" "$base/rest-sts/$1?_action=translate" \
    -d '{"input_token_state":{"token_type":"USERNAME","username":"demo","password":"demo-password"},"output_token_state":'"$2"'}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["issued_token"])'
}
form() { python3 -c 'import sys, urllib.parse; print("token=" + urllib.parse.quote(sys.stdin.read().strip(), safe=""))'; }
export STS_BENCH_AUTH="Basic $(printf 'rs-bench:%s' "$secret" | base64 -w0)"
run() { # name, form
  echo "== $1"
  STS_BENCH_FORM=$2 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/introspect.lua "$base/oauth2/introspect" \
    | tee "$out/wrk-$1.txt" | grep -E "Requests/sec|  50%|  99%"
}
for persist in true false; do
  jwt=$(translate "intro-$persist" '{"token_type":"OPENIDCONNECT","nonce":"n","allow_access":true}' | form)
  saml=$(translate "intro-$persist" '{"token_type":"SAML2","subject_confirmation":"BEARER"}' | form)
  run "introspect-jwt-persist-$persist" "$jwt"
  run "introspect-saml-persist-$persist" "$saml"
done
echo "peak RSS: $(grep VmHWM /proc/$pid/status)" | tee "$out/rss-introspect.txt"
