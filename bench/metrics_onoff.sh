#!/usr/bin/env bash
# Paired cost of observability on SOAP Issue throughput (issue 20, "Performance"): the same
# release binary and data directory, restarted alternately with metrics on and off (and with
# AUDIT_ON/AUDIT_OFF set to the environment that turns the audit trail on and off), ROUNDS
# times, wrk with PasswordDigest UsernameTokens each time; which of the pair runs first
# alternates by round, so that drift of a loaded machine falls on both. While "on" runs,
# /metrics is scraped every SCRAPE_EVERY seconds (the state gauges' store counts included).
# Prints each pair with its ratio, and the ratio of the medians (on/off), by throughput and by
# the server's CPU time per request (user + system, from /proc; robust to other load on the
# machine, where throughput is not). Knobs: ROUNDS (3),
# DURATION (10s), CONNECTIONS (32), THREADS (2), PORT (18090), SCRAPE_EVERY (5),
# AUDIT_ON / AUDIT_OFF (extra `VAR=value` words, default none), STS_BIN (a release binary to use
# as it is; by default ./target/release/sts, built first).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18090}
SCRAPE_EVERY=${SCRAPE_EVERY:-5}
AUDIT_ON=${AUDIT_ON:-}
AUDIT_OFF=${AUDIT_OFF:-}
data=$(mktemp -d)
pid=""
scraper=""
trap '[ -n "$scraper" ] && kill "$scraper" 2>/dev/null; [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$data"' EXIT

sts=${STS_BIN:-./target/release/sts}
[ -x "$sts" ] && [ -n "${STS_BIN:-}" ] || cargo build --release --quiet
export STS_BENCH_USER=bench STS_BENCH_PASSWORD=bench-password
STS_DEMO_PASSWORD=demo-password "$sts" --data-dir "$data" init >/dev/null
STS_USER_PASSWORD=$STS_BENCH_PASSWORD "$sts" --data-dir "$data" user add bench --digest >/dev/null
url="http://127.0.0.1:$PORT/sts/soap-username-transformer"

ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
run() { # $1: on|off; prints "requests/s cpu-ms-per-request"
  local extra=$AUDIT_OFF metrics=false
  if [ "$1" = on ]; then extra=$AUDIT_ON; metrics=true; fi
  # shellcheck disable=SC2086
  env STS_METRICS=$metrics STS_LOG=warn $extra "$sts" serve \
    --data-dir "$data" --listen "127.0.0.1:$PORT" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.1; done
  if [ "$1" = on ]; then
    (while sleep "$SCRAPE_EVERY"; do curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null || true; done) &
    scraper=$!
  fi
  local t0 t1 out
  t0=$(ticks)
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/issue_digest.lua "$url")
  t1=$(ticks)
  awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
    /requests in/ {n = $1} /Requests\/sec/ {r = $2}
    END {printf "%s %.4f\n", r, (n > 0 ? 1000 * t / hz / n : 0)}' <<<"$out"
  if [ -n "$scraper" ]; then kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null || true; scraper=""; fi
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}

on=(); off=(); con=(); coff=()
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then a=$(run on); b=$(run off); else b=$(run off); a=$(run on); fi
  read -r a ca <<<"$a"; read -r b cb <<<"$b"
  echo "round $r: on $a req/s ($ca ms CPU/req), off $b req/s ($cb ms CPU/req), on/off" \
    "$(awk -v a="$a" -v b="$b" -v x="$ca" -v y="$cb" 'BEGIN {printf "%.3f (CPU/req off/on %.3f)", a/b, y/x}')"
  on+=("$a"); off+=("$b"); con+=("$ca"); coff+=("$cb")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
mon=$(median "${on[@]}"); moff=$(median "${off[@]}")
echo "median on $mon, off $moff, on/off $(awk -v a="$mon" -v b="$moff" 'BEGIN {printf "%.3f", a/b}')"
mcon=$(median "${con[@]}"); mcoff=$(median "${coff[@]}")
echo "median CPU per request on $mcon ms, off $mcoff ms, off/on $(awk -v a="$mcon" -v b="$mcoff" 'BEGIN {printf "%.3f", b/a}')"
