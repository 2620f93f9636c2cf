#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ (see fuzz/README.md).
#   scripts/fuzz.sh smoke [SECS] [TARGET...]  each target SECS seconds (default 5), corpus thrown away
#   scripts/fuzz.sh long  [SECS] [TARGET...]  each target SECS seconds (default 600), one after the
#                                             other, corpus kept in fuzz/corpus/TARGET, output in
#                                             fuzz/logs/TARGET.log
# Seeds: fixtures/soap/captures (XML targets), fuzz/seeds/TARGET; the inputs of
# fixtures/fuzz/TARGET (found crashes, replayed by `cargo test` too) are run first.
# Crashing inputs land in fuzz/artifacts/TARGET/. Needs the nightly toolchain and cargo-fuzz
# (scripts/deps.sh test installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-smoke}
[ $# -gt 0 ] && shift
case "$mode" in
  smoke) secs=5 ;;
  long) secs=600 ;;
  *) echo "usage: $0 smoke|long [SECS] [TARGET...]" >&2; exit 2 ;;
esac
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then secs=$1; shift; fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(xml soap rst filter jws jwk xmldsig sign)
# SANITIZER=none skips ASan (libxml2 and libxmlsec1 are C and never instrumented anyway).
sanitizer=${SANITIZER:-address}

# One build of every target (sanitizer-instrumented, the whole dependency tree). The smoke
# run builds unoptimised: a cold build takes minutes instead of most of an hour on two
# cores, and a few seconds of each target need no speed; long runs are optimised.
profile=()
[ "$mode" = smoke ] && profile=(--dev)
(cd fuzz && cargo +nightly fuzz build "${profile[@]}" --sanitizer "$sanitizer")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for t in "${targets[@]}"; do
  seeds=()
  case "$t" in
    xml|soap|rst) seeds+=(../fixtures/soap/captures) ;;
  esac
  [ -d "fuzz/seeds/$t" ] && seeds+=("seeds/$t")
  [ -d "fixtures/fuzz/$t" ] && seeds+=("../fixtures/fuzz/$t")
  if [ "$mode" = smoke ]; then
    corpus="$tmp/$t"
  else
    corpus="$PWD/fuzz/corpus/$t"
  fi
  mkdir -p "$corpus" fuzz/logs
  # cargo-fuzz puts crashing inputs in fuzz/artifacts/TARGET/.
  args=(-max_total_time="$secs" -timeout=10 -print_final_stats=1)
  echo "fuzz: $t for ${secs}s"
  if [ "$mode" = smoke ]; then
    (cd fuzz && cargo +nightly fuzz run "${profile[@]}" --sanitizer "$sanitizer" "$t" "$corpus" "${seeds[@]}" -- "${args[@]}" 2>"$tmp/$t.log") \
      || { status=1; tail -n 40 "$tmp/$t.log"; echo "fuzz: $t FAILED (input in fuzz/artifacts/$t/)"; }
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units)' "$tmp/$t.log" || true
  else
    (cd fuzz && cargo +nightly fuzz run --sanitizer "$sanitizer" "$t" "$corpus" "${seeds[@]}" -- "${args[@]}" >"logs/$t.log" 2>&1) \
      || { status=1; echo "fuzz: $t FAILED, see fuzz/logs/$t.log"; }
    grep -E 'DONE|stat::number_of_executed_units|^(==|SUMMARY|thread)' "fuzz/logs/$t.log" | tail -n 5 || true
  fi
done
exit $status
