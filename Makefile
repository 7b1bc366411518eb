# Oxbow's two entry points (see README.md):
#   make run   — install what is missing, build, start `oxbow serve` on the default ports.
#   make test  — install what is missing, build, run every test (Rust unit/integration + end-to-end with real clients).
# Both are idempotent: a second run only rebuilds what changed.

CARGO ?= cargo
SERVE_ARGS ?=

.PHONY: run test setup-build setup-test ui build build-release test-rust test-e2e test-studio test-browser bench fmt

run: setup-build build-release
	./target/release/oxbow serve $(SERVE_ARGS)

test: setup-test build test-rust test-e2e test-studio test-browser

setup-build:
	bash scripts/setup-build-deps.sh

setup-test: setup-build
	bash scripts/setup-test-deps.sh
	bash tests/browser/setup.sh

# The studio embeds ui/dist at compile time, so the UI is built before any cargo build.
ui:
	npm --prefix ui run build --silent

build: ui
	$(CARGO) build --workspace --all-targets --locked

build-release: ui
	$(CARGO) build --release -p oxbow --locked

test-rust:
	$(CARGO) test --workspace --locked

test-e2e:
	OXBOW_BIN=target/debug/oxbow .venv/bin/python -m pytest -q tests/e2e

test-studio:
	OXBOW_BIN=target/debug/oxbow .venv/bin/python -m pytest -q tests/studio

test-browser:
	npm --prefix ui run check --silent
	npm --prefix ui test --silent
	OXBOW_BIN=target/debug/oxbow npm --prefix tests/browser test --silent

bench: setup-test build-release
	./target/release/oxbow bench

fmt:
	$(CARGO) fmt --all
