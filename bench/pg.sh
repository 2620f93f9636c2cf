#!/usr/bin/env bash
# Load benchmark on a PostgreSQL store (a throwaway server, see lib_pg.sh):
#  1. one node: SOAP Issue (PasswordDigest, RSA-2048) with persistence off and on, same run,
#     next to `openssl speed` RSA-2048 signing;
#  2. three nodes on the same database, loaded together (one wrk per node): the total, and the
#     database work per request (transactions and rows, from pg_stat_database) from which the
#     number of nodes one primary can serve is estimated.
# Knobs: DURATION (15s), CONNECTIONS (64), PORT (18090, +1, +2 for the nodes), PG_PORT (15432),
# STS_BIN (a release binary to use as it is; by default ./target/release/sts, built first).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18090}
PG_PORT=${PG_PORT:-15432}
out=bench/results
mkdir -p "$out"
. bench/lib_pg.sh
pids=()
data=$(mktemp -d)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pg_stop
  rm -rf "$data"
}
trap cleanup EXIT
trap "exit 130" INT TERM

if [ -n "${STS_BIN:-}" ]; then sts=$STS_BIN; else cargo build --release --quiet; sts=./target/release/sts; fi
pg_start
export STS_MASTER_KEY_FILE="$data/master.key"
$sts keys master-key generate "$STS_MASTER_KEY_FILE" >/dev/null
export STS_BENCH_USER=bench STS_BENCH_PASSWORD=bench-password
# The first node's data directory: keys and the demo instance; the store gets them at start.
STS_DEMO_PASSWORD=demo-password $sts --data-dir "$data/a" init >/dev/null
sed -e 's/"soap-username-transformer"/"soap-persist"/' -e 's/"persist-issued-tokens-in-cts": "false"/"persist-issued-tokens-in-cts": "true"/' \
  "$data/a/instances/soap/soap-username-transformer.json" >"$data/a/instances/soap/soap-persist.json"
STS_USER_PASSWORD=$STS_BENCH_PASSWORD $sts --data-dir "$data/a" user add bench --digest >/dev/null
# The other nodes: the same configuration (instance files), nothing else of their own.
for n in b c; do
  mkdir -p "$data/$n/instances/soap"
  cp "$data/a/instances/soap/"*.json "$data/$n/instances/soap/"
done

serve() { # name port
  STS_LOG=warn $sts serve --data-dir "$data/$1" --listen "127.0.0.1:$2" >"$out/pg-node-$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$2/health" >/dev/null && return 0; sleep 0.1; done
  echo "node $1 did not start: $(tail -5 "$out/pg-node-$1.log")" >&2
  return 1
}
pg_ticks() { # CPU time (clock ticks) of every process of this PostgreSQL server, so far
  local t=0 p
  for p in $(pgrep -f "postgres.*$PG_DIR" ; pgrep -P "$(pgrep -of "postgres -D $PG_DIR")"); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
stats() {
  PGPASSWORD=$STS_STORE_PASSWORD psql -h 127.0.0.1 -p "$PG_PORT" -U sts -d sts -tAc \
    "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, tup_fetched FROM pg_stat_database WHERE datname = 'sts'"
}

serve a "$PORT"
echo "== openssl speed -multi $(nproc) rsa2048"
openssl speed -seconds 5 -multi "$(nproc)" rsa2048 2>/dev/null | tail -1 | tee "$out/pg-openssl.txt"
for inst in soap-username-transformer soap-persist; do
  echo "== one node on PostgreSQL: Issue, PasswordDigest, $inst, $CONNECTIONS connections, $DURATION"
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/issue_digest.lua \
    "http://127.0.0.1:$PORT/sts/$inst" | tee "$out/pg-one-$inst.txt"
done

serve b $((PORT + 1))
serve c $((PORT + 2))
echo "== three nodes on one PostgreSQL, persistence on, $((CONNECTIONS / 3)) connections each, $DURATION"
before=$(stats)
ticks_before=$(pg_ticks)
wrks=()
for i in 0 1 2; do
  STS_BENCH_SEED=node$i wrk -t1 -c$((CONNECTIONS / 3)) -d"$DURATION" --latency -s bench/issue_digest.lua \
    "http://127.0.0.1:$((PORT + i))/sts/soap-persist" >"$out/pg-three-$i.txt" &
  wrks+=($!)
done
wait "${wrks[@]}"
after=$(stats)
ticks_after=$(pg_ticks)
total=0
for i in 0 1 2; do
  r=$(awk '/Requests\/sec/ {print $2}' "$out/pg-three-$i.txt")
  n=$(awk '/requests in/ {print $1}' "$out/pg-three-$i.txt")
  echo "node $i: $r req/s ($n requests)"
  total=$(python3 -c "print($total + $n)")
done
python3 - "$before" "$after" "$total" "$((ticks_after - ticks_before))" "$(getconf CLK_TCK)" <<'PY' | tee "$out/pg-three.txt"
import sys
b = [int(x) for x in sys.argv[1].split('|')]
a = [int(x) for x in sys.argv[2].split('|')]
n = int(sys.argv[3])
ms = int(sys.argv[4]) * 1000 / int(sys.argv[5])
print(f"PostgreSQL CPU per request: {ms / n:.3f} ms (all its processes, over the three-node run)")
print(f"one PostgreSQL core serves about {1000 / (ms / n):.0f} such requests/s")
names = ["transactions", "rows inserted", "rows updated", "rows deleted", "rows fetched"]
print(f"requests over three nodes: {n}")
for name, x, y in zip(names, b, a):
    print(f"{name:>14} per request: {(y - x) / n:.2f}")
PY
