#!/usr/bin/env bash
# Runs a command against one of the OBS versions the project supports:
#
#   build-scripts/obs-version.sh 29.0.2 CMD [ARG...]   the machine's own OBS (Debian bookworm)
#   build-scripts/obs-version.sh 30.2.3 CMD [ARG...]   Debian trixie's OBS, in a root filesystem
#   build-scripts/obs-version.sh 32.2.2 CMD [ARG...]   Debian sid's OBS, in a root filesystem
#   build-scripts/obs-version.sh 32.2.2 --prepare      only build (or check) the root filesystem
#
# 30.2.3 and 32.2.2 come from the same Debian archive the machine's apt already uses, each in an
# isolated root filesystem (build-scripts/rootfs.sh). The command runs chrooted into it with the
# checkout bind-mounted at its own path, so test binaries built on the host (CARGO_MANIFEST_DIR
# compiled in) find their files, and loopback servers inside and outside see each other.
#
# As a cargo runner it runs test binaries inside: 
#   CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="build-scripts/obs-version.sh 32.2.2" cargo test
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checkout=$(dirname "$here")

usage() {
  echo "usage: $0 29.0.2|30.2.3|32.2.2 (--prepare | CMD [ARG...])" >&2
  exit 2
}
(($# >= 2)) || usage
version=$1
shift

case "$version" in
29.0.2)
  [ "$1" = "--prepare" ] && exit 0
  exec "$@"
  ;;
30.2.3) suite=trixie ;;
32.2.2) suite=sid ;;
*) usage ;;
esac

# What the end-to-end tests need inside: OBS (with obs-websocket built in from 30.0), its
# headers and a C compiler (the obs_service_info layout test), Xvfb, nginx-rtmp, ffmpeg,
# imagemagick/xdotool/xclip/x11-utils (settings window, screenshots), elfutils (eu-stack samples the
# UI thread), tesseract (reads OBS's error dialog off the screen), a CJK font and locales (the
# zh-CN window), tinyproxy and nginx's stream module (forward proxy and RTMPS front of the
# network tests).
packages=(obs-studio libobs-dev gcc libc6-dev xvfb xauth nginx libnginx-mod-rtmp ffmpeg
  imagemagick xdotool xclip x11-utils elfutils tesseract-ocr tesseract-ocr-eng locales
  fonts-droid-fallback ca-certificates tinyproxy libnginx-mod-stream)

source "$here/rootfs.sh"
rootfs_ensure "$suite" "$suite" \
  --customize-hook='echo "en_US.UTF-8 UTF-8" > "$1/etc/locale.gen"; echo "zh_CN.UTF-8 UTF-8" >> "$1/etc/locale.gen"' \
  --customize-hook='chroot "$1" locale-gen >/dev/null' \
  -- "${packages[@]}"
[ "$1" = "--prepare" ] && exit 0
rootfs_exec "$rootfs" "$checkout" "$@"
