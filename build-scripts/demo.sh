#!/usr/bin/env bash
# Goes live on the bundled simulator: builds the plugin, starts the ZEGOCLOUD/Alibaba API
# simulator, nginx-rtmp on loopback and a throwaway, headless OBS (its own HOME, profile and
# Xvfb display), presses Start Streaming for each service, prints what the RTMP server
# received (codec and resolution from ffprobe), then cleans everything up.
set -euo pipefail
cd "$(dirname "$0")/.."
source build-scripts/deps.sh
ensure_deps

echo "==> building the plugin (release)"
cargo build --release --lib
cargo build --release -p rtc-golive-test-support --example demo
exec target/release/examples/demo
