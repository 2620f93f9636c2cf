#!/usr/bin/env bash
# What a commit costs PostgreSQL: pgbench stores G tokens (3.4 KB texts, the token writer's
# one-statement insert) per transaction, for several G, and reports the server's CPU time
# (all its processes, exited backends included) per token. The token writer's group size
# comes from this curve (src/store/postgres/tokens.rs, LINGER).
# Knobs: GROUP_SIZES ("1 2 4 8 16"), CLIENTS (4), TOKENS (4000 per client), PG_PORT (15440),
# PGOPTIONS (e.g. "-c synchronous_commit=off" to see the commit's share).
set -euo pipefail
cd "$(dirname "$0")/.."
PG_PORT=${PG_PORT:-15440}
CLIENTS=${CLIENTS:-4}
TOKENS=${TOKENS:-4000}
. bench/lib_pg.sh
work=$(mktemp -d)
trap 'pg_stop; rm -rf "$work"' EXIT
pg_start
export PGPASSWORD=$STS_STORE_PASSWORD
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
cat migrations/postgres/002_tokens.sql migrations/postgres/010_token_queries.sql |
  psql -h 127.0.0.1 -p "$PG_PORT" -U sts -d sts -q
body=$(head -c 2600 /dev/urandom | base64 -w0)
# CPU ticks of the server: the postmaster, its live children, and the children it reaped.
pg_ticks() {
  local pm t p
  pm=$(head -1 "$PG_DIR/db/postmaster.pid")
  t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat")
  for p in $(pgrep -P "$pm"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
for g in ${GROUP_SIZES:-1 2 4 8 16}; do
  col() { echo "array_fill($1, ARRAY[$g])"; }
  ids="ARRAY[$(for i in $(seq "$g"); do [ "$i" -gt 1 ] && printf ,; printf "'t'||gen_random_uuid()"; done)]"
  cat >"$work/g.sql" <<SQL
WITH input AS (SELECT * FROM unnest($ids, $(col "'sts'::text"), $(col "'/'::text"), $(col "'bench'::text"), $(col "'SAML2'::text"), $(col "1::int8"), $(col "2::int8"), $(col "'$body'::text")) AS i (token_id, sts_id, realm, principal, token_type, issued_ms, expires_ms, token)), ins AS (INSERT INTO tokens (token_id, sts_id, realm, principal, token_type, issued_ms, expires_ms) SELECT token_id, sts_id, realm, principal, token_type, issued_ms, expires_ms FROM input WHERE NOT EXISTS (SELECT 1 FROM tokens WHERE token_id IN (SELECT token_id FROM input)) ON CONFLICT (token_id) DO NOTHING RETURNING token_id), bodies AS (INSERT INTO token_bodies (token_id, token) SELECT i.token_id, i.token FROM input i JOIN ins ON ins.token_id = i.token_id COLLATE "C" ON CONFLICT (token_id) DO UPDATE SET token = excluded.token) SELECT token_id FROM ins;
SQL
  txns=$((TOKENS / g))
  t0=$(pg_ticks)
  out=$("$bin/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U sts -n -M prepared -f "$work/g.sql" -c "$CLIENTS" -j 1 -t "$txns" sts 2>&1)
  t1=$(pg_ticks)
  tps=$(echo "$out" | awk '/^tps =/ {print $3; exit}')
  python3 -c "
ticks, tck, tokens = $t1 - $t0, $(getconf CLK_TCK), $CLIENTS * $txns * $g
print(f'group of {$g:2d}: {ticks * 1000 / tck / tokens:.3f} ms PostgreSQL CPU per token, {float(\"$tps\") * $g:.0f} tokens/s')"
done
