#!/usr/bin/env bash
# Persistence on / off, paired: one release node, the demo instance and a copy that persists its
# tokens, loaded in alternation (off, on, off, on, ...) with wrk, 64 connections, PasswordDigest
# input (bench/issue_digest.lua). The machine is shared and noisy, so the ratio of each adjacent
# pair is reported, and the CPU time per request of the node and of PostgreSQL (all its
# processes), which is robust to what else runs. STORE=postgres (a throwaway server,
# lib_pg.sh, on the same two cores) or STORE=sqlite (the data directory's store).
# Knobs: STORE (postgres), ROUNDS (3), DURATION (8s), CONNECTIONS (64), PORT (18095),
# PG_PORT (15436), STS_BIN (./target/release/sts; built if absent).
set -euo pipefail
cd "$(dirname "$0")/.."
STORE=${STORE:-postgres}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18095}
PG_PORT=${PG_PORT:-15436}
sts=${STS_BIN:-./target/release/sts}
[ -x "$sts" ] || cargo build --release --quiet
. bench/lib_pg.sh
data=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  pg_stop
  rm -rf "$data"
}
trap cleanup EXIT
trap "exit 130" INT TERM

if [ "$STORE" = postgres ]; then
  pg_start
  export STS_MASTER_KEY_FILE="$data/master.key"
  $sts keys master-key generate "$STS_MASTER_KEY_FILE" >/dev/null
fi
export STS_BENCH_USER=bench STS_BENCH_PASSWORD=bench-password
STS_DEMO_PASSWORD=demo-password $sts --data-dir "$data/a" init >/dev/null
sed -e 's/"soap-username-transformer"/"soap-persist"/' -e 's/"persist-issued-tokens-in-cts": "false"/"persist-issued-tokens-in-cts": "true"/' \
  "$data/a/instances/soap/soap-username-transformer.json" >"$data/a/instances/soap/soap-persist.json"
STS_USER_PASSWORD=$STS_BENCH_PASSWORD $sts --data-dir "$data/a" user add bench --digest >/dev/null
STS_LOG=warn $sts serve --data-dir "$data/a" --listen "127.0.0.1:$PORT" >"$data/node.log" 2>&1 &
pid=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

# CPU ticks so far: of the node, and of the PostgreSQL server (postmaster, live children and
# the children it reaped).
node_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
pg_ticks() {
  [ "$STORE" = postgres ] || { echo 0; return; }
  local pm t p
  pm=$(head -1 "$PG_DIR/db/postmaster.pid")
  t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat")
  for p in $(pgrep -P "$pm"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
one() { # instance -> "req/s sts_ms pg_ms non2xx"
  local s0 p0 s1 p1 out
  s0=$(node_ticks); p0=$(pg_ticks)
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s bench/issue_digest.lua "http://127.0.0.1:$PORT/sts/$1")
  s1=$(node_ticks); p1=$(pg_ticks)
  python3 - "$out" "$((s1 - s0))" "$((p1 - p0))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
out, s, p, tck = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
n = int(re.search(r"(\d+) requests in", out).group(1))
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
print(f"{rate:.0f} {s * 1000 / tck / n:.3f} {p * 1000 / tck / n:.3f} {bad.group(1) if bad else 0}")
PY
}
echo "store $STORE, $CONNECTIONS connections, $DURATION per run, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
one soap-persist >/dev/null # warm-up: the first write of the store, page cache
printf '%-6s %8s %8s %8s   %8s %8s %8s   %s\n' round "off r/s" "sts ms" "pg ms" "on r/s" "sts ms" "pg ms" "on/off (CPU/req ratio)"
for r in $(seq "$ROUNDS"); do
  read -r a as ap abad <<<"$(one soap-username-transformer)"
  read -r b bs bp bbad <<<"$(one soap-persist)"
  [ "$abad$bbad" = 00 ] || echo "non-2xx replies: off $abad, on $bbad" >&2
  printf '%-6s %8s %8s %8s   %8s %8s %8s   %.2f (%.2f)\n' "$r" "$a" "$as" "$ap" "$b" "$bs" "$bp" \
    "$(python3 -c "print($b / $a)")" "$(python3 -c "print(($as + $ap) / ($bs + $bp))")"
done
