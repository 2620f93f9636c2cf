# Sourced by the PostgreSQL benchmarks: starts a throwaway PostgreSQL server in a temporary
# directory on $PG_PORT (as the `postgres` system user when run as root: initdb refuses root),
# exports STS_STORE_URL and STS_STORE_PASSWORD, and stops it on exit (pg_stop). PG_OPTS adds
# server settings ("-c shared_buffers=64MB ...").
pg_start() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed: scripts/deps.sh test" >&2; return 1; }
  PG_DIR=$(mktemp -d)
  local as=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR"; as=(runuser -u postgres --); fi
  local pw
  pw=$(openssl rand -hex 16)
  printf '%s\n' "$pw" >"$PG_DIR/pw"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR/pw"
  "${as[@]}" "$bin/initdb" -D "$PG_DIR/db" -U sts --pwfile="$PG_DIR/pw" -A scram-sha-256 >/dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/db" -l "$PG_DIR/log" -w -o \
    "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 ${PG_OPTS:-}" start >/dev/null
  PGPASSWORD=$pw psql -h 127.0.0.1 -p "$PG_PORT" -U sts -d postgres -qc "CREATE DATABASE sts" >/dev/null
  PG_STOP=("${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/db" -m immediate stop)
  export STS_STORE_URL="postgres://sts@127.0.0.1:$PG_PORT/sts?sslmode=disable"
  export STS_STORE_PASSWORD=$pw
}

pg_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  "${PG_STOP[@]}" >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
