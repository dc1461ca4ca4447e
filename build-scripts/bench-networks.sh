#!/usr/bin/env bash
# Benchmarks node choice on streamers' networks (issue "Works on streamers' real networks"): one
# probe of nginx-rtmp and its RTMPS front, TCP only against the RTMP handshake; choosing the node
# of [silent, good] before (wait for the preferred node's timeout) and now (staggered race);
# and a real, headless OBS going live with [good], [silent, good] and [TCP-only, good].
# Writes the report to docs/benchmarks-networks.md and prints it. About 2 minutes on 2 cores,
# builds excluded. The target is reported PASS/MISS, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
source build-scripts/deps.sh
ensure_deps

# What is built: HEAD, and whether the plugin's sources differ from it.
tree="commit $(git rev-parse --short HEAD)"
git diff --quiet HEAD -- src data Cargo.toml Cargo.lock || tree="$tree with uncommitted changes"

echo "==> building the plugin (release), then the benchmark, and running it"
cargo build --release --lib
results=$(mktemp)
trap 'rm -f "$results"' EXIT
# The report goes to stdout, progress to stderr.
cargo run --release -p rtc-golive-test-support --example bench_networks >"$results"

cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^[[:space:]]*//')
{
  echo "# Benchmarks: node choice on streamers' networks"
  echo
  echo "What a silent node (packets dropped) or a node that accepts TCP but is no RTMP server"
  echo "costs a go-live, and what the RTMP handshake adds to a probe."
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr)"
  echo "- OBS: $(obs --version 2>/dev/null | tail -n 1)"
  echo "- Build: release (\`cargo build --release --lib\`, LTO), $tree"
  echo "- Command: \`build-scripts/bench-networks.sh\`"
  echo
  cat "$results"
} >docs/benchmarks-networks.md
echo
cat docs/benchmarks-networks.md
