#!/usr/bin/env bash
# Everything CI runs: formatting, lints, unit tests, signer vectors, and the end-to-end tests
# against real OBS (under Xvfb), nginx-rtmp and the bundled vendor simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
source build-scripts/deps.sh
ensure_deps

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --all-targets -- -D warnings
# The end-to-end tests install the plugin .so into a throwaway OBS; build it first so they
# never load a stale one.
echo "==> cargo build (plugin)"
cargo build --lib
echo "==> cargo test"
cargo test --all-targets
