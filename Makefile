# KallyAI Desktop. `make demo` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/kallyai-desktop/target
CARGO ?= cargo

.PHONY: deps build demo test lint unit e2e official-cli

deps:
	@scripts/install-deps

build: deps
	$(CARGO) build -p kallyai-sim -p kallyai-desktop

## Start the demo KallyAI (kallyai-sim --seed demo) and the tray app against it; Ctrl-C stops both.
demo: build
	@scripts/demo

## Every check: lint, the official KallyAI CLI against the sim, then all tests (unit, sim, core,
## end-to-end on a headless desktop), then the sign-in, quick-ask, inbound-call, credits, inbox, activity and
## call-form suites again
## against the sim's production profile (no extensions; tests of an extension are named
## `extension_…` and skipped there). Ends with one line for both runs.
PRODUCTION_SUITES := --test signin --test quick_ask --test inbound_calls --test credits --test inbox --test activity \
  --test dialer
test: deps lint official-cli
	@mkdir -p test-output
	set -o pipefail; scripts/with-desktop $(CARGO) test --workspace --locked --no-fail-fast -- --test-threads=2 \
	  2>&1 | tee test-output/cargo-test.log
	set -o pipefail; KALLYAI_TEST_PROFILE=production scripts/with-desktop $(CARGO) test -p kallyai-desktop --locked \
	  --no-fail-fast $(PRODUCTION_SUITES) -- --test-threads=2 --skip extension_ 2>&1 | tee test-output/cargo-test-production.log
	@scripts/test-summary test-output/cargo-test.log test-output/cargo-test-production.log

## The README's pictures (docs/screenshots/): runs the end-to-end tests that take them, on the
## default profile, and copies what they saved in test-output/screenshots/ over the tracked ones.
## Tests never write into the tree, so `make test` leaves `git status` clean; this target is the
## deliberate refresh. It fails if a picture in docs/screenshots/ was not taken again.
.PHONY: screenshots
SCREENSHOT_SUITES := --test appearance --test signin --test credits --test inbound_calls --test quick_ask --test settings --test inbox --test activity \
  --test dialer
SCREENSHOT_TESTS := balance_plan_and_period_follow_the_sim take_over_and_reject_from_the_notification::stream \
  popup_follows_the_call_until_it_ends::stream hotkey_ask_reply_escape_and_conversations \
  hostile_markdown_in_a_reply_is_formatted_safely \
  a_goal_is_shown_and_its_step_approved_from_the_box spanish_changes_every_window_and_the_tray_at_once \
  every_kind_is_handled_where_the_user_is the_inbox_works_by_keyboard_in_spanish \
  activity_shows_what_kallyai_did_and_undoes_it activity_works_by_keyboard_in_spanish \
  a_call_is_placed_once_and_its_result_shown the_dialer_works_by_keyboard_in_spanish \
  every_window_follows_the_desktops_colour_scheme_and_passes_an_accessibility_audit \
  a_first_run_is_welcomed_and_never_again_once_signed_in
screenshots: deps
	rm -rf test-output/screenshots
	KALLYAI_TEST_PROFILE=default scripts/with-desktop $(CARGO) test -p kallyai-desktop --locked $(SCREENSHOT_SUITES) \
	  -- --test-threads=2 $(SCREENSHOT_TESTS)
	@for picture in docs/screenshots/*.png; do \
	  test -f "test-output/screenshots/$${picture##*/}" || { echo "make screenshots: no test took $${picture##*/}" >&2; exit 1; }; \
	done
	cp test-output/screenshots/*.png docs/screenshots/

lint: deps
	scripts/module-cycles
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

official-cli: deps
	$(CARGO) build -p kallyai-sim --locked
	scripts/official-cli-check "$(CARGO_TARGET_DIR)/debug/kallyai-sim"

## Linux packages (.deb and .rpm) of a release build, made by the Tauri bundler (docs/packaging.md).
.PHONY: package
package: deps
	@scripts/package

## Benchmarks (not part of `make test`): release builds of the app, the sim and bench/floor (a bare
## Tauri tray app), then every metric on a headless desktop; rewrites docs/benchmarks.{json,md}.
## The binaries are copied as soon as they are built: other builds in the shared target dir (e.g.
## `make package`) write the same paths, and the run must measure what this tree built.
.PHONY: bench
bench: deps
	$(CARGO) build --release --manifest-path bench/floor/Cargo.toml
	$(CARGO) build --release -p kallyai-desktop -p kallyai-sim
	@bin="$$(mktemp -d)"; \
	cp "$(CARGO_TARGET_DIR)/release/kallyai-desktop" "$(CARGO_TARGET_DIR)/release/kallyai-sim" \
	  "$(CARGO_TARGET_DIR)/release/kallyai-bench-floor" "$$bin/" && \
	scripts/with-desktop /usr/bin/python3 bench/run.py \
	  --app "$$bin/kallyai-desktop" --sim "$$bin/kallyai-sim" --floor "$$bin/kallyai-bench-floor"; \
	status=$$?; rm -rf "$$bin"; exit $$status
