#!/usr/bin/env bash
# Benchmarks go-live (issue "Performance: go-live with no waiting") on a real, headless OBS,
# nginx-rtmp and the bundled API simulator: StartStream -> publish for OBS's Custom service (the
# floor) and the plugin's services cold and warm at 0, 300 and 3000 ms of API latency, the
# UI-thread time inside the plugin (its own log line, and OBS's main thread sampled from outside
# with eu-stack: time inside obs_output_start), its load time, OBS's memory with and without it,
# and the .so size. Writes the report to docs/benchmarks.md and prints it. About 10 minutes on
# 2 cores, builds excluded. Targets are reported PASS/MISS, never asserted.
#
# `build-scripts/bench.sh 30.2.3` (or 32.2.2) runs the same benchmark against that OBS in its
# root filesystem (build-scripts/obs-version.sh) with the project's .deb installed there, and
# writes docs/benchmarks-obs-VERSION.md; the footprint needs OBS without the plugin, so only the
# host's run has it.
set -euo pipefail
cd "$(dirname "$0")/.."
source build-scripts/deps.sh
source build-scripts/bench-common.sh
ensure_deps

version=${1:-29.0.2}
report=docs/benchmarks.md
obs=(obs)
if [ "$version" != 29.0.2 ]; then
  report=docs/benchmarks-obs-$version.md
  obs=(build-scripts/obs-version.sh "$version" obs)
  echo "==> building the package and installing it for OBS $version"
  deb=$(build-scripts/deb.sh | tail -n 1)
  build-scripts/obs-version.sh "$version" dpkg -i "$PWD/$deb" >/dev/null
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$PWD/build-scripts/obs-version.sh $version"
  export RTC_GOLIVE_SYSTEM_PLUGIN=1
fi

bench_run bench
bench_write "$report" "$("${obs[@]}" --version 2>/dev/null | tail -n 1)" \
  "build-scripts/bench.sh${1:+ $1}" "Benchmarks" \
  "Go-live with no waiting: how long Start Streaming takes to reach the RTMP server with" \
  "the plugin's services, against OBS's own Custom service, and what the plugin costs OBS."
