#!/usr/bin/env bash
# The README's test command: every check CI runs, in the order a failure is cheapest to see.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings

echo "== unit and integration tests"
cargo test --workspace
