#!/usr/bin/env bash
# Goes live on the bundled simulator: builds the plugin and the broker, starts the
# ZEGOCLOUD/Alibaba API simulator, nginx-rtmp on loopback, a throwaway, headless OBS (its own
# HOME, profile and Xvfb display) and, for the platform service, rtc-golive-broker on the
# simulator; presses Start Streaming for each service, prints what the RTMP server received
# (codec and resolution from ffprobe), then cleans everything up.
set -euo pipefail
cd "$(dirname "$0")/.."
source build-scripts/deps.sh
ensure_deps

echo "==> building the plugin (release)"
cargo build --release --lib
cargo build --release -p rtc-golive-broker
cargo build --release -p rtc-golive-test-support --example demo
exec target/release/examples/demo
