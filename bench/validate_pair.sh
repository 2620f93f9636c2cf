#!/usr/bin/env bash
# SOAP Validate of an RSA-signed assertion, two builds paired: two release binaries (BEFORE
# and AFTER) serve the same data directory side by side, and wrk loads them in alternation
# (before, after, before, after, ...) with bench/validate_session.lua (OpenAM session input,
# 64 connections). The machine is shared and noisy, so each adjacent pair's ratio is
# reported, with the CPU time per request of each server, which is robust to what else runs.
# Knobs: BEFORE, AFTER (paths of `sts` binaries; required), ROUNDS (3), DURATION (8s),
# CONNECTIONS (64), PORT (18120; the second server uses PORT+1).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BEFORE:?path of the sts binary before the change}" "${AFTER:?path of the sts binary after it}"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18120}
data=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$data"
}
trap cleanup EXIT
trap "exit 130" INT TERM

export STS_BENCH_USER=bench STS_BENCH_PASSWORD=bench-password
STS_DEMO_PASSWORD=demo-password "$BEFORE" --data-dir "$data" init >/dev/null
sed -e 's/"soap-username-transformer"/"soap-session"/' -e 's/"validatedTokenType": "USERNAME"/"validatedTokenType": "OPENAM"/' \
  "$data/instances/soap/soap-username-transformer.json" >"$data/instances/soap/soap-session.json"
STS_USER_PASSWORD=$STS_BENCH_PASSWORD "$BEFORE" --data-dir "$data" user add bench --digest >/dev/null
start() { # binary port
  STS_DEMO_PASSWORD=demo-password STS_LOG=warn "$1" serve --data-dir "$data" --listen "127.0.0.1:$2" >>"$data/server-$2.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$2/health" >/dev/null && return; sleep 0.1; done
  echo "server on $2 did not start" >&2; exit 1
}
start "$BEFORE" "$PORT"
pid_before=${pids[0]}
start "$AFTER" "$((PORT + 1))"
pid_after=${pids[1]}

STS_BENCH_SESSION=$(curl -sf -X POST -H "X-OpenAM-Username: bench" -H "X-OpenAM-Password: $STS_BENCH_PASSWORD" \
  "http://127.0.0.1:$PORT/json/authenticate" | sed -e 's/.*"tokenId":"\([^"]*\)".*/\1/')
export STS_BENCH_SESSION
STS_BENCH_ASSERTION=$(curl -sf -H 'Content-Type: text/xml' --data-binary @- "http://127.0.0.1:$PORT/sts/soap-session" <<XML | python3 -c 'import re,sys; print(re.search(r"<saml2:Assertion.*</saml2:Assertion>", sys.stdin.read(), re.S).group(0))'
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:BinarySecurityToken ValueType="http://schemas.forgerock.org/ws/securitypolicy#OpenAMSessionToken">$STS_BENCH_SESSION</wsse:BinarySecurityToken></wsse:Security></s:Header><s:Body><wst:RequestSecurityToken xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512"><wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</wst:RequestType></wst:RequestSecurityToken></s:Body></s:Envelope>
XML
)
export STS_BENCH_ASSERTION

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
one() { # pid port -> "req/s cpu_ms p50 p99 bad"
  local t0 t1 out
  t0=$(ticks "$1")
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/validate_session.lua "http://127.0.0.1:$2/sts/soap-session" 2>&1)
  t1=$(ticks "$1")
  python3 - "$out" "$((t1 - t0))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
out, t, tck = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n = int(re.search(r"(\d+) requests in", out).group(1))
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
def pct(p):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, out, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
bad = len(re.findall(r"unexpected reply", out))
print(f"{rate:.0f} {t * 1000 / tck / max(n, 1):.3f} {pct(50):.2f} {pct(99):.2f} {bad}")
PY
}
echo "Validate, $CONNECTIONS connections, $DURATION per run, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "before: $BEFORE"
echo "after:  $AFTER"
one "$pid_before" "$PORT" >/dev/null # warm-up
one "$pid_after" "$((PORT + 1))" >/dev/null
printf '%-6s %9s %8s %7s %7s   %9s %8s %7s %7s   %s\n' round "before/s" "cpu ms" p50 p99 "after/s" "cpu ms" p50 p99 "after/before (CPU/req before/after)"
for r in $(seq "$ROUNDS"); do
  read -r a ac a50 a99 abad <<<"$(one "$pid_before" "$PORT")"
  read -r b bc b50 b99 bbad <<<"$(one "$pid_after" "$((PORT + 1))")"
  [ "$abad$bbad" = 00 ] || echo "unexpected replies: before $abad, after $bbad" >&2
  printf '%-6s %9s %8s %7s %7s   %9s %8s %7s %7s   %.2f (%.2f)\n' "$r" "$a" "$ac" "$a50" "$a99" "$b" "$bc" "$b50" "$b99" \
    "$(python3 -c "print($b / $a)")" "$(python3 -c "print($ac / $bc)")"
done
echo "openssl speed -seconds 3 -multi $(nproc) rsa2048 (same run): $(openssl speed -seconds 3 -multi "$(nproc)" rsa2048 2>/dev/null | tail -1)"
