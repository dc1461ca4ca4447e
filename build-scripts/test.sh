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
echo "==> fuzz smoke (20 s per target; the long runs are build-scripts/fuzz.sh long)"
bash build-scripts/fuzz.sh smoke
echo "==> cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Examples (demo, bench) are built by clippy above; they are programs, not test suites.
cargo test --lib --bins --tests 2>&1 | tee "$log"
# One closing line for the whole run.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "all tests: %d passed, %d failed\n", p, f }' "$log"
