#!/usr/bin/env bash
# Runs a command against one of the OBS versions the project supports:
#
#   build-scripts/obs-version.sh 29.0.2 CMD [ARG...]   the machine's own OBS (Debian bookworm)
#   build-scripts/obs-version.sh 30.2.3 CMD [ARG...]   Debian trixie's OBS, in a root filesystem
#   build-scripts/obs-version.sh 32.2.2 CMD [ARG...]   Debian sid's OBS, in a root filesystem
#   build-scripts/obs-version.sh 32.2.2 --prepare      only build (or check) the root filesystem
#
# 30.2.3 and 32.2.2 come from the same Debian archive the machine's apt already uses, each in an
# isolated root filesystem made by mmdebstrap and cached under /var/tmp/obs-rtc-golive/. The
# host's packages are never upgraded: the suites are never added to the host's sources.
# The command runs in a private mount namespace, chrooted into the root filesystem, with /proc,
# /sys, /dev, /tmp and the checkout bind-mounted at their own paths, so test binaries built on
# the host (CARGO_MANIFEST_DIR compiled in) find their files. The network namespace is the
# host's: loopback servers started inside and outside see each other.
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

# The cache key changes with the package list, so a new list builds a new root filesystem.
key=$(printf '%s\n' "$suite" "${packages[@]}" | sha256sum | cut -c1-12)
# RTC_GOLIVE_ROOTFS_CACHE: another cache directory (e.g. a second checkout testing another
# package list without replacing the root filesystems other runs use).
cache=${RTC_GOLIVE_ROOTFS_CACHE:-/var/tmp/obs-rtc-golive}
root="$cache/$suite-$key"

build_rootfs() {
  # Both root filesystems are prepared at once (build-scripts/test.sh): one apt-get at a time,
  # or the second dies on apt's lock instead of waiting for it.
  (
    flock 8
    command -v mmdebstrap >/dev/null || {
      echo "==> installing mmdebstrap"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
    }
  ) 8>"$cache/apt.lock"
  local mirror
  # The archive the host's apt uses (deb822 or one-line sources).
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  mkdir -p "$cache"
  # Older caches of this suite (another package list) are replaced.
  rm -rf "$cache/$suite"-*.partial
  find "$cache" -maxdepth 1 -name "$suite-*" ! -name "$suite-$key" -exec rm -rf {} +
  local started=$SECONDS
  echo "==> building the OBS $version root filesystem (Debian $suite) in $root"
  # sid's Release file on a mirror can be past its Valid-Until.
  mmdebstrap --variant=apt --quiet \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --include="$(IFS=,; echo "${packages[*]}")" \
    --customize-hook='echo "en_US.UTF-8 UTF-8" > "$1/etc/locale.gen"; echo "zh_CN.UTF-8 UTF-8" >> "$1/etc/locale.gen"' \
    --customize-hook='chroot "$1" locale-gen >/dev/null' \
    "$suite" "$root.partial" "$mirror"
  mv "$root.partial" "$root"
  echo "==> OBS $version root filesystem ready in $((SECONDS - started)) s ($(du -sh "$root" | cut -f1))"
}

# One builder at a time per root filesystem (parallel callers wait for it).
mkdir -p "$cache"
exec 9>"$cache/$suite.lock"
flock 9
[ -d "$root" ] || build_rootfs
flock -u 9
[ "$1" = "--prepare" ] && exit 0

# A private mount namespace: the binds vanish with the command and never touch the host's mounts.
exec unshare --mount --propagation private -- /bin/bash -c '
  set -euo pipefail
  root=$1 checkout=$2
  shift 2
  # The root filesystem becomes a mount of its own, so that "/" inside is a mount point and a
  # command there can make a mount namespace of its own too (unshare sets "/" private).
  mount --bind "$root" "$root"
  for dir in /proc /sys /dev /tmp "$checkout" ${CARGO_TARGET_DIR:+"$CARGO_TARGET_DIR"}; do
    mkdir -p "$root$dir"
    mount --rbind "$dir" "$root$dir"
  done
  # The command inside starts in the same directory as outside.
  cwd=$(pwd)
  exec chroot "$root" /usr/bin/env \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
' obs-version "$root" "$checkout" "$@"
