# Oxbow's two entry points (see README.md):
#   make run   — install what is missing, build, open the desktop app (or, with no display, start
#                `oxbow serve` and print the studio URL).
#   make test  — install what is missing, build, run every test (Rust unit/integration + end-to-end with real clients).
# Both are idempotent: a second run only rebuilds what changed.

CARGO ?= cargo
SERVE_ARGS ?=

.PHONY: run test setup-build setup-test ui build build-release test-rust test-e2e test-studio test-browser test-desktop bench bench-studio fmt

# A display (X11 or Wayland) gets the desktop window; a headless machine gets `oxbow serve`, whose
# ready line is the studio URL to open in a browser. SERVE_ARGS go to either (same flags).
run: setup-build build-release
	@if [ -n "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
		echo "make run: opening the Oxbow desktop app"; \
		./target/release/oxbow-desktop $(SERVE_ARGS); \
	else \
		echo "make run: no display here; starting oxbow serve (open the 'ready studio' URL below in a browser)"; \
		./target/release/oxbow serve $(SERVE_ARGS); \
	fi

test: setup-test build test-rust test-e2e test-studio test-browser test-desktop

setup-build:
	bash scripts/setup-build-deps.sh

setup-test: setup-build
	bash scripts/setup-test-deps.sh
	bash tests/browser/setup.sh
	bash tests/desktop/setup.sh

# The studio embeds ui/dist at compile time, so the UI is built before any cargo build.
ui:
	npm --prefix ui run build --silent

build: ui
	$(CARGO) build --workspace --all-targets --locked

build-release: ui
	$(CARGO) build --release -p oxbow -p oxbow-desktop --locked

test-rust:
	$(CARGO) fmt --all --check
	$(CARGO) test --workspace --locked

test-e2e:
	OXBOW_BIN=target/debug/oxbow .venv/bin/python -m pytest -q tests/e2e

test-studio:
	OXBOW_BIN=target/debug/oxbow .venv/bin/python -m pytest -q tests/studio

test-browser:
	npm --prefix ui run check --silent
	npm --prefix ui test --silent
	OXBOW_BIN=target/debug/oxbow npm --prefix tests/browser test --silent

# The desktop smoke test: the real app in WebKitGTK under Xvfb, driven by tauri-driver, with a
# session bus for the single-instance check. The session's own chatter (D-Bus activation, GTK
# portals) goes to a log file that is shown only when the tests fail.
DESKTOP_ARTIFACTS = target/test-artifacts/desktop
test-desktop:
	@mkdir -p $(DESKTOP_ARTIFACTS)
	PATH="$$PATH:$${CARGO_HOME:-$$HOME/.cargo}/bin" OXBOW_DESKTOP_BIN=target/debug/oxbow-desktop \
		dbus-run-session -- xvfb-run -a -s "-screen 0 1400x900x24" \
		.venv/bin/python -m pytest -q tests/desktop 2> $(DESKTOP_ARTIFACTS)/session-stderr.log \
		|| { echo "--- last lines of $(DESKTOP_ARTIFACTS)/session-stderr.log"; tail -n 60 $(DESKTOP_ARTIFACTS)/session-stderr.log; exit 1; }

bench: setup-test build-release
	./target/release/oxbow bench

# The studio benchmark (reports figures, asserts none): oxbow's memory and the UI's frame times while
# live-tailing 20,000 records/s, and with 10,000 topics; results in target/bench-studio/. OXBOW_BIN
# runs a binary already built (no build then); BENCH_DURATION_S, BENCH_RATE, BENCH_TOPICS, BENCH_PARTS tune it.
bench-studio: setup-build
	bash scripts/setup-test-deps.sh
	bash tests/browser/setup.sh
	@if [ -z "$${OXBOW_BIN:-}" ]; then npm --prefix ui run build --silent && $(CARGO) build --release -p oxbow --locked; fi
	OXBOW_BIN="$${OXBOW_BIN:-target/release/oxbow}" node tests/browser/bench-studio.mjs

fmt:
	$(CARGO) fmt --all
