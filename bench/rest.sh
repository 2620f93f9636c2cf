#!/usr/bin/env bash
# REST STS translate next to SOAP Issue, in one run on one release server:
#   USERNAME -> SAML2   (REST)  vs  PasswordText UsernameToken -> SAML2 (SOAP): argon2id-bound
#   OPENAM -> SAML2     (REST)  vs  OPENAM BinarySecurityToken -> SAML2 (SOAP): RSA-bound
#   OPENAM -> OPENIDCONNECT (REST, RS256 id_token)
# Knobs: DURATION (15s), CONNECTIONS (64), THREADS (2), PORT (18081).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-18081}
out=bench/results
mkdir -p "$out"
data=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT

cargo build --release --quiet
export STS_BENCH_USER=bench STS_BENCH_PASSWORD=bench-password
STS_DEMO_PASSWORD=demo-password STS_ADMIN_PASSWORD=admin-password ./target/release/sts --data-dir "$data" init >/dev/null
sed -e 's/"soap-username-transformer"/"soap-session"/' -e 's/"validatedTokenType": "USERNAME"/"validatedTokenType": "OPENAM"/' \
  "$data/instances/soap/soap-username-transformer.json" >"$data/instances/soap/soap-session.json"
STS_USER_PASSWORD=$STS_BENCH_PASSWORD ./target/release/sts --data-dir "$data" user add bench --digest >/dev/null
# The REST instance, published through the same service as /sts-publish.
./target/release/sts --data-dir "$data" instance publish rest - >/dev/null <<'JSON'
{"deployment-config": {"deployment-url-element": "rest-bench", "deployment-realm": "/"},
 "saml2-config": {"issuer-name": "sts-demo-idp", "saml2-sign-assertion": "true",
   "saml2-sp-entity-id": "urn:sts:demo-sp", "saml2-signature-key-alias": "sts-signing",
   "saml2-attribute-map": {"email": "mail", "cn": "cn", "groups": "isMemberOf"}},
 "oidc-id-token-config": {"oidc-issuer": "https://sts.example.com", "oidc-audience": "rp",
   "oidc-signature-algorithm": "RS256", "oidc-signature-key-alias": "sts-signing"},
 "persist-issued-tokens-in-cts": "false",
 "supported-token-transforms": [
   {"inputTokenType": "USERNAME", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": true},
   {"inputTokenType": "OPENAM", "outputTokenType": "SAML2", "invalidateInterimOpenAMSession": false},
   {"inputTokenType": "OPENAM", "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": false}]}
JSON
STS_LOG=warn ./target/release/sts serve --data-dir "$data" --listen "127.0.0.1:$PORT" >"$out/server-rest.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$PORT"
login() {
  curl -sf -X POST -H "X-OpenAM-Username: $1" -H "X-OpenAM-Password: $2" "$base/json/authenticate" \
    | sed -e 's/.*"tokenId":"\([^"]*\)".*/\1/'
}
STS_BENCH_ADMIN=$(login amadmin admin-password)
STS_BENCH_SESSION=$(login bench "$STS_BENCH_PASSWORD")
export STS_BENCH_ADMIN STS_BENCH_SESSION
run() { # name, script, url
  echo "== $1"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$2" "$3" | tee "$out/wrk-$1.txt" | grep -E "Requests/sec|  99%"
}
run soap-openam-saml2 bench/issue_session.lua "$base/sts/soap-session"
STS_BENCH_BODY='{"input_token_state":{"token_type":"OPENAM","session_id":"'$STS_BENCH_SESSION'"},"output_token_state":{"token_type":"SAML2","subject_confirmation":"BEARER"}}' \
  run rest-openam-saml2 bench/rest_translate.lua "$base/rest-sts/rest-bench?_action=translate"
STS_BENCH_BODY='{"input_token_state":{"token_type":"OPENAM","session_id":"'$STS_BENCH_SESSION'"},"output_token_state":{"token_type":"OPENIDCONNECT","nonce":"471564333","allow_access":true}}' \
  run rest-openam-oidc bench/rest_translate.lua "$base/rest-sts/rest-bench?_action=translate"
run soap-text-saml2 bench/issue_text.lua "$base/sts/soap-username-transformer"
STS_BENCH_BODY='{"input_token_state":{"token_type":"USERNAME","username":"bench","password":"'$STS_BENCH_PASSWORD'"},"output_token_state":{"token_type":"SAML2","subject_confirmation":"BEARER"}}' \
  run rest-username-saml2 bench/rest_translate.lua "$base/rest-sts/rest-bench?_action=translate"
echo "peak RSS: $(grep VmHWM /proc/$pid/status)" | tee "$out/rss-rest.txt"
