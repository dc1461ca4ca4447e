#!/usr/bin/env bash
# Builds the plugin in release mode and installs it for the current user's OBS.
set -euo pipefail
cd "$(dirname "$0")/.."
source build-scripts/deps.sh
ensure_deps

cargo build --release --lib
dest="${XDG_CONFIG_HOME:-$HOME/.config}/obs-studio/plugins/obs-rtc-golive"
mkdir -p "$dest/bin/64bit" "$dest/data"
install -m 0755 target/release/libobs_rtc_golive.so "$dest/bin/64bit/obs-rtc-golive.so"
cp -r data/. "$dest/data/"
echo "installed: $dest/bin/64bit/obs-rtc-golive.so"
echo "data:      $dest/data"
echo "Restart OBS, then open Tools -> RTC Go-Live... to choose ZEGOCLOUD (zego_rtmp_dispatch)"
echo "or Alibaba Cloud ARTC (aliyun_artc_rtmp) and enter your credentials."
