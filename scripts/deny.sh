#!/usr/bin/env bash
# `cargo deny` for `make test` (policy in deny.toml): licences, bans and sources always;
# advisories when the advisory database can be fetched. Where it cannot (no route to its
# git host), the advisories check says SKIPPED on a line of its own instead of passing.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo deny --locked check --hide-inclusion-graph bans licenses sources

# The database lives in cargo-deny's default place ($CARGO_HOME/advisory-dbs); once fetched,
# the check reads it offline.
if fetched=$(timeout 300 cargo deny --locked fetch db 2>&1); then
  cargo deny --locked --offline check advisories
else
  echo "cargo deny: advisories SKIPPED: the advisory database could not be fetched" \
    "($(printf '%s\n' "$fetched" | grep -v '^\s*$' | tail -n 1))"
fi
