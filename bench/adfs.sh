#!/usr/bin/env bash
# SAML 1.1 next to SAML 2.0 over AD FS's usernamemixed path (issue 18): one release server with
# `[adfs]` mapped to an instance that issues both, PasswordDigest UsernameTokens with distinct
# nonces (no argon2id: the token, not the password hash, is measured), wst:TokenType choosing
# the output. The two types alternate, ROUNDS times each, in the same run; `openssl speed`
# RSA-2048 signing is measured alongside for reference.
# Knobs: DURATION (10s), CONNECTIONS (32), THREADS (2), ROUNDS (3), PORT (18081).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18081}
out=bench/results
mkdir -p "$out"
data=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT

cargo build --release --quiet
export STS_BENCH_USER=bench STS_BENCH_PASSWORD=bench-password
STS_DEMO_PASSWORD=demo-password ./target/release/sts --data-dir "$data" init >/dev/null
python3 - "$data/instances/soap" <<'PY'
import json, sys
d = sys.argv[1]
j = json.load(open(d + "/soap-username-transformer.json"))
j["deployment-config"]["deployment-url-element"] = "soap-adfs"
j["issued-token-types"] = ["SAML2", "SAML1"]
json.dump(j, open(d + "/soap-adfs.json", "w"))
PY
STS_USER_PASSWORD=$STS_BENCH_PASSWORD ./target/release/sts --data-dir "$data" user add bench --digest >/dev/null
printf '[adfs]\ninstance = "soap-adfs"\n' >"$data/sts.toml"
STS_DEMO_PASSWORD=demo-password STS_LOG=warn ./target/release/sts serve --config "$data/sts.toml" \
  --data-dir "$data" --listen "127.0.0.1:$PORT" >"$out/server-adfs.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$PORT/adfs/services/trust/13/usernamemixed"

echo "== openssl speed -multi $(nproc) rsa2048"
openssl speed -seconds 5 -multi "$(nproc)" rsa2048 2>/dev/null | tail -1 | tee "$out/openssl-adfs.txt"
for round in $(seq "$ROUNDS"); do
  for t in SAML2:urn:oasis:names:tc:SAML:2.0:assertion SAML1:urn:oasis:names:tc:SAML:1.0:assertion; do
    name=${t%%:*}
    echo "== round $round: $name over usernamemixed, PasswordDigest, $CONNECTIONS connections, $DURATION"
    STS_BENCH_TOKEN_TYPE=${t#*:} wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
      -s bench/issue_digest.lua "$url" | tee "$out/wrk-adfs-$name-$round.txt"
  done
done
echo "== summary (req/s): SAML2 then SAML1 per round"
for round in $(seq "$ROUNDS"); do
  printf 'round %s: %s %s\n' "$round" \
    "$(awk '/Requests\/sec/ {print $2}' "$out/wrk-adfs-SAML2-$round.txt")" \
    "$(awk '/Requests\/sec/ {print $2}' "$out/wrk-adfs-SAML1-$round.txt")"
done
