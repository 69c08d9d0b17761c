#!/usr/bin/env bash
# The README's test command: every check CI runs, in the order a failure is cheapest to see.
#   1. formatting and lints (rustfmt, clippy -D warnings);
#   2. the unit and integration tests of every crate but the end-to-end one;
#   3. the end-to-end tests (scripts/e2e.sh): the built plugin in a CLAP host built on
#      clack-host, the VST3 in Spotify's pedalboard, the standalone program headless.
# Needs ../shared beside the checkout (the corpus and MNIST images the tests read).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings

echo "== unit and integration tests"
# continuo-tests needs the plugin bundles, which scripts/e2e.sh builds in its own profile.
cargo test --workspace --exclude continuo-tests

echo "== end-to-end tests"
bash scripts/e2e.sh
