#!/usr/bin/env bash
# Builds the Debian package with cargo-deb (a release build of the plugin): the .so under
# /usr/lib/x86_64-linux-gnu/obs-plugins/ and the locale under /usr/share/obs/obs-plugins/, where
# Debian's OBS looks. Prints the package's path on the last line.
#   sudo dpkg -i "$(build-scripts/deb.sh | tail -n 1)"
set -euo pipefail
cd "$(dirname "$0")/.."
source build-scripts/deps.sh
ensure_deps
ensure_cargo_deb
# Only the plugin: the simulator binary is not part of the package.
cargo build --release --lib
cargo deb --quiet --no-build --no-strip --output target/debian/
