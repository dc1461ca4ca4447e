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
source build-scripts/bench-common.sh
ensure_deps

bench_run bench_networks
bench_write docs/benchmarks-networks.md "$(obs --version 2>/dev/null | tail -n 1)" \
  "build-scripts/bench-networks.sh" "Benchmarks: node choice on streamers' networks" \
  "What a silent node (packets dropped) or a node that accepts TCP but is no RTMP server" \
  "costs a go-live, and what the RTMP handshake adds to a probe."
