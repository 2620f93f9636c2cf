# The two commands of the quick start: `make run` and `make test`.
.PHONY: run test fuzz-smoke fuzz-long deps deps-test build release lint bench clean

DATA_DIR ?= sts-data
LISTEN ?= 127.0.0.1:8080

## Start a working STS (installs build packages if missing; first start creates sts-data/).
run: deps
	cargo run --release -- serve --data-dir $(DATA_DIR) --listen $(LISTEN)

## Run the whole test suite (installs build and test packages if missing).
test: deps-test
	# Format and lints first: a failing test must not hide them.
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	# The library as users build it: without the test-util feature that opens its internals
	# to tests, so code only tests use shows up here as dead.
	cargo clippy --lib --bins -- -D warnings
	RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps
	# Licences, bans and sources; advisories where the advisory database can be fetched.
	scripts/deny.sh
	# The example program is run by a test (tests/it/custom.rs); --all-targets builds
	# examples only as test harnesses.
	cargo build --examples
	cargo test --all-targets
	scripts/fuzz.sh smoke

## A few seconds of every fuzz target (part of `make test`; see fuzz/README.md).
fuzz-smoke: deps-test
	scripts/fuzz.sh smoke

## Ten minutes of every fuzz target, one after the other; the corpus grows in fuzz/corpus/.
fuzz-long: deps-test
	scripts/fuzz.sh long

deps:
	scripts/deps.sh build

deps-test:
	scripts/deps.sh test

build: deps
	cargo build

release: deps
	cargo build --release

## Load benchmark of Issue (see bench/README.md).
bench: deps
	scripts/deps.sh bench
	bench/run.sh

clean:
	cargo clean
