#!/usr/bin/env bash
# Builds the broker's Debian package with cargo-deb (a release build of rtc-golive-broker): the
# binary in /usr/bin, its systemd unit, and the example config in
# /usr/share/doc/rtc-golive-broker/. Prints the package's path on the last line.
#   sudo dpkg -i "$(build-scripts/broker-deb.sh | tail -n 1)"
set -euo pipefail
cd "$(dirname "$0")/.."
source build-scripts/deps.sh
command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"
ensure_cargo_deb
cargo build --release -p rtc-golive-broker --bin rtc-golive-broker
cargo deb -p rtc-golive-broker --quiet --no-build --output target/debian/
