#!/usr/bin/env bash
# Why `_queryFilter` by sts_id and the replay-cache insert have the tails they have, on a
# throwaway PostgreSQL configured as the test server (src/store/testpg.rs: shared_buffers 64MB,
# fsync and synchronous_commit on), with TOKENS rows shaped as `cargo bench --bench tokens`
# fills them (10 sts ids, TOKENS/100 principals, 3.4 KB texts):
# 1. EXPLAIN (ANALYZE, BUFFERS) of the exact statements the store runs (src/store/sql.rs,
#    src/store/postgres/replay.rs);
# 2. pgbench of each (one client, per-statement latencies from --log: p50/p99), with the
#    server's own view of the same statements (pg_stat_statements mean/max, statements over
#    1 ms from log_min_duration_statement), WAL and buffer-write counters, and how long the
#    server process and the client waited for a CPU (/proc/PID/schedstat), so that the tail
#    can be split into database work and waiting for a core.
# Knobs: TOKENS (1000000), N (5000 statements per measure), ROUNDS ("1 2"), PG_PORT (15441),
# KEEP=1 (leave the server running at the end, for more experiments; prints how to reach it).
set -euo pipefail
cd "$(dirname "$0")/.."
PG_PORT=${PG_PORT:-15441}
TOKENS=${TOKENS:-1000000}
N=${N:-5000}
PG_OPTS="-c shared_buffers=64MB -c fsync=on -c synchronous_commit=on \
 -c shared_preload_libraries=pg_stat_statements -c track_io_timing=on -c track_wal_io_timing=on \
 -c log_min_duration_statement=1 -c log_checkpoints=on -c log_autovacuum_min_duration=0 ${EXTRA_PG_OPTS:-}"
. bench/lib_pg.sh
work=$(mktemp -d)
if [ -n "${KEEP:-}" ]; then
  trap 'rm -rf "$work"; echo "kept: PGPASSWORD=$STS_STORE_PASSWORD psql -h 127.0.0.1 -p $PG_PORT -U sts sts; stop: $PG_DIR"' EXIT
else
  trap 'pg_stop; rm -rf "$work"' EXIT
fi
pg_start
export PGPASSWORD=$STS_STORE_PASSWORD
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
q() { psql -h 127.0.0.1 -p "$PG_PORT" -U sts -d sts -qAtX "$@"; }
cat migrations/postgres/0*.sql | q >/dev/null
q -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
principals=$((TOKENS / 100))
t0=$(date +%s.%N)
for ((b = 0; b < TOKENS; b += 10000)); do
  q -c "INSERT INTO tokens (token_id, sts_id, realm, principal, token_type, issued_ms, expires_ms, token)
        SELECT '_' || md5(i::text), 'sts-' || (i % 10), '/', 'user' || (i % $principals), 'SAML2', 0,
               9223372036854775807, repeat('x', 3400)
        FROM generate_series($b, least($b + 9999, $TOKENS - 1)) AS i"
done
echo "filled $TOKENS tokens in $(echo "$(date +%s.%N) - $t0" | bc) s"
q -c "VACUUM (ANALYZE) tokens"
q -c "SELECT pg_size_pretty(pg_relation_size('tokens')), pg_size_pretty(pg_relation_size('tokens_sts_cover')), pg_size_pretty(pg_relation_size('tokens_principal_cover'))" | sed 's/^/heap|sts_cover|principal_cover: /'
SEL="SELECT token_id, sts_id, realm, principal, token_type, issued_ms, expires_ms FROM tokens"
echo "== EXPLAIN (ANALYZE, BUFFERS), the store's statements (second run: warm)"
q <<SQL
PREPARE by_sts(text, int8) AS $SEL WHERE (sts_id = \$1) ORDER BY token_id LIMIT \$2;
PREPARE by_principal(text, int8) AS $SEL WHERE (principal = \$1) ORDER BY token_id LIMIT \$2;
PREPARE next_sts(text, text, int8) AS $SEL WHERE (sts_id = \$1) AND token_id > \$2 ORDER BY token_id LIMIT \$3;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE by_sts('sts-3', 1001);
EXPLAIN (ANALYZE, BUFFERS) EXECUTE by_sts('sts-3', 1001);
EXPLAIN (ANALYZE, BUFFERS) EXECUTE by_principal('user77', 1001);
EXPLAIN (ANALYZE, BUFFERS) EXECUTE next_sts('sts-3', '_8', 1001);
SQL
# The replay table as the benchmark leaves it: N values, refused ones re-presented from these.
q -c "INSERT INTO replay SELECT sha256(i::text::bytea), 9223372036854775807 FROM generate_series(1, $N) i"
q <<SQL
PREPARE once(bytea, int8, int8) AS INSERT INTO replay (key, until_ms) SELECT \$1::bytea, \$2::bigint FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit ON CONFLICT (key) DO UPDATE SET until_ms = excluded.until_ms WHERE replay.until_ms < \$3::bigint;
EXPLAIN (ANALYZE, BUFFERS, WAL) EXECUTE once(sha256('fresh-explain'::bytea), 9223372036854775807, 0);
EXPLAIN (ANALYZE, BUFFERS, WAL) EXECUTE once(sha256('1'::bytea), 9223372036854775807, 0);
SQL
cat >"$work/by_sts.sql" <<SQL
\set s random(0, 9)
$SEL WHERE (sts_id = 'sts-' || :s) ORDER BY token_id LIMIT 1001;
SQL
cat >"$work/by_principal.sql" <<SQL
\set p random(0, $((principals - 1)))
$SEL WHERE (principal = 'user' || :p) ORDER BY token_id LIMIT 1001;
SQL
cat >"$work/fresh.sql" <<SQL
\set k random(1, 1000000000000)
INSERT INTO replay (key, until_ms) SELECT sha256(('f' || :k || '-' || :client_id)::bytea), 9223372036854775807 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit ON CONFLICT (key) DO UPDATE SET until_ms = excluded.until_ms WHERE replay.until_ms < 0;
SQL
cat >"$work/refused.sql" <<SQL
\set k random(1, $N)
INSERT INTO replay (key, until_ms) SELECT sha256((:k)::text::bytea), 9223372036854775807 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit ON CONFLICT (key) DO UPDATE SET until_ms = excluded.until_ms WHERE replay.until_ms < 0;
SQL
# Run-queue wait (ns) of a process: the second field of /proc/PID/schedstat.
waited() { awk '{print $2}' "/proc/$1/schedstat" 2>/dev/null || echo 0; }
stats() {
  q -c "SELECT (SELECT wal_records||' '||wal_fpi||' '||wal_buffers_full||' '||wal_write||' '||wal_sync||' '||round(wal_write_time::numeric,1)||' '||round(wal_sync_time::numeric,1) FROM pg_stat_wal)||' '||(SELECT buffers_backend||' '||buffers_backend_fsync||' '||buffers_checkpoint||' '||buffers_clean FROM pg_stat_bgwriter)"
}
measure() {
  local name=$1 script=$2 mode=$3
  q -c "SELECT pg_stat_statements_reset()" >/dev/null
  local before after slow0 slow1
  before=$(stats)
  slow0=$(grep -c "duration:" "$PG_DIR/log" || true)
  "$bin/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U sts -n -M "$mode" -f "$work/$script" -c 1 -j 1 -t "$N" \
    --log --log-prefix="$work/log_$name.$SECONDS" sts >"$work/out_$name" 2>&1 &
  local pb=$!
  local backend=""
  for _ in $(seq 100); do
    backend=$(q -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' LIMIT 1")
    [ -n "$backend" ] && break
    sleep 0.05
  done
  local bw0 cw0 bw1 cw1
  bw0=$(waited "$backend"); cw0=$(waited "$pb")
  # The last readings taken while both were alive.
  local b c
  while kill -0 "$pb" 2>/dev/null; do
    b=$(waited "$backend"); c=$(waited "$pb")
    [ "$b" != 0 ] && [ "$c" != 0 ] && { bw1=$b; cw1=$c; }
    sleep 0.2
  done
  wait "$pb" || { cat "$work/out_$name"; return 1; }
  after=$(stats)
  slow1=$(grep -c "duration:" "$PG_DIR/log" || true)
  local server
  server=$(q -c "SELECT calls||' '||round(mean_exec_time::numeric,3)||' '||round(max_exec_time::numeric,3) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%' AND calls >= $N ORDER BY calls DESC LIMIT 1")
  python3 - "$name" "$mode" "$(ls -t "$work"/log_"$name".* | head -1)" <<PY
import sys, glob
name, mode, files = sys.argv[1], sys.argv[2], sys.argv[3:]
lat = sorted(int(l.split()[2]) / 1000 for f in files for l in open(f))
p = lambda x: lat[min(len(lat) - 1, int(round((len(lat) - 1) * x)))]
over = sum(1 for v in lat if v > 1)
print(f"{name:9s} ({mode:8s}) client p50 {p(.5):6.3f} ms  p99 {p(.99):6.3f} ms  max {lat[-1]:7.2f} ms  over 1 ms: {over}")
PY
  echo "          server (calls mean max ms): $server; statements over 1 ms in the server log: $((slow1 - slow0))"
  echo "          run-queue wait per statement: server $(( (${bw1:-0} - bw0) / N / 1000 )) us, pgbench $(( (${cw1:-0} - cw0) / N / 1000 )) us"
  echo "          wal records fpi buffers_full writes syncs write_ms sync_ms | backend_writes backend_fsync ckpt_writes bgwriter_writes"
  echo "          before: $before"
  echo "          after:  $after"
}
for round in ${ROUNDS:-1 2}; do
  echo "== round $round"
  measure by_sts by_sts.sql extended
  measure by_sts_p by_sts.sql prepared
  measure by_prin by_principal.sql extended
  measure fresh fresh.sql prepared
  measure refused refused.sql prepared
done
echo "== server log: checkpoints and autovacuum"
grep -E "checkpoint (starting|complete)|automatic (vacuum|analyze)" "$PG_DIR/log" | sed 's/^/  /' | cut -c1-200 | tail -20
