#!/usr/bin/env bash
# Sourced by the other scripts: installs the Debian/Ubuntu packages the project needs, if any
# are missing, and checks the Rust toolchain.

# Build: libobs headers + libclang (obs-sys) + a C compiler; run/tests: OBS, Xvfb, nginx with
# the RTMP module, ffmpeg (ffprobe), imagemagick/xdotool/x11-utils (settings-window test and
# screenshots; xclip reads what a field holds), elfutils (eu-stack samples the UI thread),
# tesseract (reads OBS's error dialog off the screen), locales + a CJK font (the zh-CN window),
# tinyproxy (a real forward proxy) and nginx's stream module (the TLS front that makes nginx-rtmp
# an RTMPS ingest) for the network tests; redis-server for the platform broker's shared state
# (crates/broker's tests and storm benchmark start their own on a loopback port, the platform
# e2e tests too; nothing uses a system-wide Redis).
GOLIVE_PACKAGES=(obs-studio libobs-dev libclang-dev clang pkg-config xvfb xauth nginx
  libnginx-mod-rtmp ffmpeg imagemagick xdotool xclip x11-utils elfutils tesseract-ocr
  tesseract-ocr-eng locales fonts-droid-fallback ca-certificates tinyproxy libnginx-mod-stream
  redis-server)

ensure_deps() {
  local missing=()
  for pkg in "${GOLIVE_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "==> installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "error: no Rust toolchain. Install one with rustup (https://rustup.rs), Rust 1.89 or newer." >&2
    exit 1
  fi
}

# cargo-deb builds the Debian package (build-scripts/deb.sh).
ensure_cargo_deb() {
  if ! cargo deb --version >/dev/null 2>&1; then
    echo "==> installing cargo-deb"
    cargo install --quiet --locked cargo-deb
  fi
}
