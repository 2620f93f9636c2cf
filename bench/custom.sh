#!/usr/bin/env bash
# Custom token translations per second over HTTP, with the Rust plug-ins of
# examples/custom_token.rs (release build): CUSTOM -> CUSTOM (validator and provider, two
# guarded plug-in calls), CUSTOM -> OPENIDCONNECT (validator + RS256 id_token), each on a
# persisting and a non-persisting instance. Every reply must be 200; any other fails the run.
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
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$data"' EXIT

cargo build --release --quiet --example custom_token
mkdir -p "$data/instances/rest"
for persist in true false; do
  cat >"$data/instances/rest/custom-$persist.json" <<JSON
{"deployment-config": {"deployment-url-element": "custom-$persist", "deployment-realm": "/"},
 "oidc-id-token-config": {"oidc-issuer": "https://sts.example.com/$persist", "oidc-audience": "rp",
   "oidc-signature-algorithm": "RS256", "oidc-signature-key-alias": "sts-signing",
   "oidc-token-lifetime-seconds": "3600"},
 "persist-issued-tokens-in-cts": "$persist",
 "supported-token-transforms": [
   {"inputTokenType": "USERNAME", "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true}],
 "custom-token-validators": [{"customTokenName": "CUSTOM", "customOperationClassName": "partner-key-validator"}],
 "custom-token-providers": [{"customTokenName": "CUSTOM", "customOperationClassName": "ticket-provider"}],
 "custom-token-transforms": [
   {"inputTokenType": "CUSTOM", "outputTokenType": "CUSTOM", "invalidateInterimOpenAMSession": true},
   {"inputTokenType": "CUSTOM", "outputTokenType": "OPENIDCONNECT", "invalidateInterimOpenAMSession": true}]}
JSON
done
STS_DATA_DIR="$data" STS_LISTEN="127.0.0.1:$PORT" STS_LOG=warn STS_REST_STS_CALLER=anyone \
  STS_DEMO_PASSWORD=demo-password STS_ADMIN_PASSWORD=admin-password \
  STS_EXAMPLE_PARTNERS=very_useful_state=demo \
  STS_EXAMPLE_TICKET_KEY=bench-ticket-key-0123456789abcdef0123456789 \
  ./target/release/examples/custom_token >"$out/server-custom.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$PORT"
input='{"token_type":"CUSTOM","extra_stuff":"very_useful_state"}'
failed=0
run() { # name, instance, output state
  local body="{\"input_token_state\":$input,\"output_token_state\":$3}"
  curl -sf -X POST -H "Content-Type: application/json" "$base/rest-sts/$2?_action=translate" -d "$body" \
    | grep -q '"issued_token"' || { echo "probe of $1 failed" >&2; failed=1; return; }
  echo "== $1"
  STS_BENCH_BODY=$body wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/rest_translate.lua \
    "$base/rest-sts/$2?_action=translate" >"$out/wrk-$1.txt" 2>&1
  grep -E "Requests/sec|  50%|  99%" "$out/wrk-$1.txt"
  if grep -qE "Non-2xx|non-200 reply|Socket errors" "$out/wrk-$1.txt"; then
    grep -E "Non-2xx|non-200 reply|Socket errors" "$out/wrk-$1.txt" >&2
    failed=1
  fi
}
for persist in true false; do
  run "custom-to-custom-persist-$persist" "custom-$persist" \
    '{"token_type":"CUSTOM","extra_stuff_for_custom":"some_useful_information"}'
  run "custom-to-oidc-persist-$persist" "custom-$persist" \
    '{"token_type":"OPENIDCONNECT","nonce":"n","allow_access":true}'
done
echo "peak RSS: $(grep VmHWM /proc/$pid/status)" | tee "$out/rss-custom.txt"
exit $failed
