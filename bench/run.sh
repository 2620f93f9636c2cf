#!/usr/bin/env bash
# Load benchmark of SOAP Issue over HTTP keep-alive: starts a release server on a scratch data
# directory, measures `openssl speed` RSA-2048 and ECDSA P-256 signing in the same run for
# reference, then wrk with PasswordDigest (distinct nonces) and PasswordText (argon2id)
# UsernameTokens, and ends with every target row of issue 19 and its ratio.
# Knobs: DURATION (20s), CONNECTIONS (64), THREADS (2), PORT (18080), NO_BUILD (set: use the
# release binary as it is, for a measurement of a build made earlier).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-18080}
out=bench/results
mkdir -p "$out"
data=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT

[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet
export STS_BENCH_USER=bench STS_BENCH_PASSWORD=bench-password
STS_DEMO_PASSWORD=demo-password ./target/release/sts --data-dir "$data" init >/dev/null
# A second instance that signs with ECDSA P-256, to show the cost of RSA-2048 itself.
sed -e 's/"soap-username-transformer"/"soap-ecdsa"/' -e 's/"saml2-signature-key-alias": "sts-signing"/"saml2-signature-key-alias": "sts-signing-ec"/' \
  "$data/instances/soap/soap-username-transformer.json" >"$data/instances/soap/soap-ecdsa.json"
# The demo instance with token persistence on.
sed -e 's/"soap-username-transformer"/"soap-persist"/' -e 's/"persist-issued-tokens-in-cts": "false"/"persist-issued-tokens-in-cts": "true"/' \
  "$data/instances/soap/soap-username-transformer.json" >"$data/instances/soap/soap-persist.json"
# An instance that takes OpenAM session tokens (OPENAM input).
sed -e 's/"soap-username-transformer"/"soap-session"/' -e 's/"validatedTokenType": "USERNAME"/"validatedTokenType": "OPENAM"/' \
  "$data/instances/soap/soap-username-transformer.json" >"$data/instances/soap/soap-session.json"
# A digest-enabled user (PasswordDigest needs the plain password on the server).
STS_USER_PASSWORD=$STS_BENCH_PASSWORD ./target/release/sts --data-dir "$data" user add bench --digest >/dev/null
STS_DEMO_PASSWORD=demo-password STS_LOG=warn ./target/release/sts serve \
  --data-dir "$data" --listen "127.0.0.1:$PORT" >"$out/server.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$PORT/sts/soap-username-transformer"

echo "== openssl speed -multi $(nproc) rsa2048 ecdsap256"
openssl speed -seconds 5 -multi "$(nproc)" rsa2048 2>/dev/null | tail -1 | tee "$out/openssl.txt"
openssl speed -seconds 5 -multi "$(nproc)" ecdsap256 2>/dev/null | tail -1 | tee "$out/openssl-ec.txt"

echo "== wrk Issue, PasswordDigest, $CONNECTIONS connections, $DURATION"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/issue_digest.lua "$url" | tee "$out/wrk-digest.txt"
echo "peak RSS after digest run: $(grep VmHWM /proc/$pid/status)" | tee "$out/rss.txt"

echo "== wrk Issue, PasswordDigest, 256 connections, $DURATION"
wrk -t"$THREADS" -c256 -d"$DURATION" --latency -s bench/issue_digest.lua "$url" | tee "$out/wrk-digest-256.txt"
echo "peak RSS after the 256-connection digest run: $(grep VmHWM /proc/$pid/status)" | tee -a "$out/rss.txt"
rss_digest=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)

echo "== wrk Issue, PasswordDigest, persistence on (durable group commit), $CONNECTIONS connections, $DURATION"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/issue_digest.lua "http://127.0.0.1:$PORT/sts/soap-persist" | tee "$out/wrk-digest-persist.txt"

echo "== wrk Issue, PasswordDigest, 16 connections, $DURATION"
wrk -t"$THREADS" -c16 -d"$DURATION" --latency -s bench/issue_digest.lua "$url" | tee "$out/wrk-digest-16.txt"

echo "== wrk Issue, PasswordDigest, ECDSA P-256 instance, $CONNECTIONS connections, $DURATION"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/issue_digest.lua "http://127.0.0.1:$PORT/sts/soap-ecdsa" | tee "$out/wrk-digest-ecdsa.txt"
echo "peak RSS after digest runs: $(grep VmHWM /proc/$pid/status)" | tee -a "$out/rss.txt"

echo "== wrk Issue, OPENAM session input (BinarySecurityToken), $CONNECTIONS connections, $DURATION"
STS_BENCH_SESSION=$(curl -sf -X POST -H "X-OpenAM-Username: bench" -H "X-OpenAM-Password: $STS_BENCH_PASSWORD" \
  "http://127.0.0.1:$PORT/json/authenticate" | sed -e 's/.*"tokenId":"\([^"]*\)".*/\1/')
export STS_BENCH_SESSION
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/issue_session.lua "http://127.0.0.1:$PORT/sts/soap-session" | tee "$out/wrk-session.txt"

echo "== wrk Validate (signature and validity), OPENAM session input, $CONNECTIONS connections, $DURATION"
STS_BENCH_ASSERTION=$(curl -sf -H 'Content-Type: text/xml' --data-binary @- "http://127.0.0.1:$PORT/sts/soap-session" <<XML | python3 -c 'import re,sys; print(re.search(r"<saml2:Assertion.*</saml2:Assertion>", sys.stdin.read(), re.S).group(0))'
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:BinarySecurityToken ValueType="http://schemas.forgerock.org/ws/securitypolicy#OpenAMSessionToken">$STS_BENCH_SESSION</wsse:BinarySecurityToken></wsse:Security></s:Header><s:Body><wst:RequestSecurityToken xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512"><wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</wst:RequestType></wst:RequestSecurityToken></s:Body></s:Envelope>
XML
)
export STS_BENCH_ASSERTION
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/validate_session.lua "http://127.0.0.1:$PORT/sts/soap-session" | tee "$out/wrk-validate.txt"

echo "== wrk Issue, PasswordText (argon2id), $CONNECTIONS connections, $DURATION"
# A fresh server, so that its peak RSS is that of the argon2id path alone.
kill "$pid"; wait "$pid" 2>/dev/null || true
STS_DEMO_PASSWORD=demo-password STS_LOG=warn ./target/release/sts serve \
  --data-dir "$data" --listen "127.0.0.1:$PORT" >>"$out/server.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency -s bench/issue_text.lua "$url" | tee "$out/wrk-text.txt"
echo "peak RSS after text run (fresh server): $(grep VmHWM /proc/$pid/status)" | tee -a "$out/rss.txt"
rss_text=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)

# Issue 19's targets, each with the figure of this run and its ratio.
rps() { awk '/Requests\/sec/ {print $2}' "$out/$1"; }
pct() { awk -v p="$2" '$1 == p {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else if (v ~ /s$/) {sub(/s/, "", v); v *= 1000}; print v}' "$out/$1"; }
rsa_sign=$(awk '{print $(NF-1)}' "$out/openssl.txt")
ec_sign=$(awk '{print $(NF-1)}' "$out/openssl-ec.txt")
echo "== issue 19 targets (this run)"
awk -v rsa="$(rps wrk-digest.txt)" -v sign="$rsa_sign" -v ec="$(rps wrk-digest-ecdsa.txt)" -v ecsign="$ec_sign" \
  -v val="$(rps wrk-validate.txt)" -v p50="$(pct wrk-digest-16.txt 50%)" -v p99="$(pct wrk-digest-16.txt 99%)" \
  -v rssd="$rss_digest" -v rsst="$rss_text" 'BEGIN {
  printf "%-58s %12s %10s %s\n", "target", "figure", "ratio", "goal"
  printf "%-58s %12.0f %10.2f %s\n", "SOAP Issue RSA-2048, 64 conn / openssl rsa2048 sign/s", rsa, rsa / sign, ">= 0.85"
  printf "%-58s %12.0f %10.2f %s\n", "SOAP Issue ECDSA P-256, 64 conn (req/s; ratio to 15000)", ec, ec / 15000, ">= 1 (openssl ecdsap256: " ecsign " sign/s)"
  printf "%-58s %12.0f %10.2f %s\n", "SOAP Validate RSA-signed, 64 conn (req/s; ratio to 10000)", val, val / 10000, ">= 1"
  printf "%-58s %12.2f %10.2f %s\n", "RSA Issue 16 conn: p99 / p50 (p99 ms)", p99, p99 / p50, "< 2.5"
  printf "%-58s %12.1f %10.2f %s\n", "peak RSS MB, digest path incl. 256 conn (ratio to 64 MB)", rssd / 1024, rssd / 1024 / 64, "< 1"
  printf "%-58s %12.1f %10.2f %s\n", "peak RSS MB, PasswordText 64 conn (ratio to 96 MB)", rsst / 1024, rsst / 1024 / 96, "< 1"
}' | tee "$out/targets.txt"
echo "REST translate within 10% of SOAP with the same key: bench/rest.sh"
