# Sourced by obs-version.sh and windows.sh: Debian root filesystems made by mmdebstrap from the
# archive the machine's apt already uses, cached under /var/tmp/obs-rtc-golive/ (or
# RTC_GOLIVE_ROOTFS_CACHE), and commands run inside them. The host's packages are never
# upgraded: the suites are never added to the host's sources.

rootfs_cache=${RTC_GOLIVE_ROOTFS_CACHE:-/var/tmp/obs-rtc-golive}

# rootfs_ensure NAME SUITE [MMDEBSTRAP-OPTION...] -- PACKAGE...
# Builds (once) the root filesystem NAME of Debian SUITE with PACKAGES, and sets `rootfs` to its
# path. The cache key changes with the options and the package list, so another list builds
# another root filesystem and replaces the older one of that NAME. Parallel callers wait for one
# builder.
rootfs_ensure() {
  local name=$1 suite=$2 options=() packages=()
  shift 2
  while (($#)) && [ "$1" != "--" ]; do
    options+=("$1")
    shift
  done
  shift
  packages=("$@")
  local key
  key=$(printf '%s\n' "$suite" "${options[@]}" "${packages[@]}" | sha256sum | cut -c1-12)
  rootfs="$rootfs_cache/$name-$key"
  mkdir -p "$rootfs_cache"
  exec 9>"$rootfs_cache/$name.lock"
  flock 9
  [ -d "$rootfs" ] || rootfs_build "$name" "$suite" "$rootfs" "${options[@]}" -- "${packages[@]}"
  flock -u 9
  exec 9>&-
}

rootfs_build() {
  local name=$1 suite=$2 root=$3 options=()
  shift 3
  while [ "$1" != "--" ]; do
    options+=("$1")
    shift
  done
  shift
  # Several root filesystems may be prepared at once (build-scripts/test.sh): one apt-get at a
  # time, or the second dies on apt's lock instead of waiting for it.
  (
    flock 8
    command -v mmdebstrap >/dev/null || {
      echo "==> installing mmdebstrap"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
    }
  ) 8>"$rootfs_cache/apt.lock"
  local mirror
  # The archive the host's apt uses (deb822 or one-line sources).
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  # Older caches of this name (another package list) are replaced.
  rm -rf "$rootfs_cache/$name"-*.partial
  find "$rootfs_cache" -maxdepth 1 -name "$name-*" ! -name "$(basename "$root")" -exec rm -rf {} +
  local started=$SECONDS
  echo "==> building the $name root filesystem (Debian $suite) in $root"
  # sid's Release file on a mirror can be past its Valid-Until.
  mmdebstrap --variant=apt --quiet \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --include="$(IFS=,; echo "$*")" \
    "${options[@]}" \
    "$suite" "$root.partial" "$mirror"
  mv "$root.partial" "$root"
  echo "==> $name root filesystem ready in $((SECONDS - started)) s ($(du -sh "$root" | cut -f1))"
}

# rootfs_exec ROOT CHECKOUT CMD [ARG...]
# Runs CMD chrooted into ROOT, in a private mount namespace (the binds vanish with the command
# and never touch the host's mounts), with /proc, /sys, /dev, /tmp, the checkout and
# CARGO_TARGET_DIR (when set) bind-mounted at their own paths, and each path in
# RTC_GOLIVE_ROOTFS_BINDS (space-separated HOST:INSIDE pairs) over its place inside. The command
# starts in the current directory. The network namespace is the host's: loopback servers
# started inside and outside see each other.
rootfs_exec() {
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
    for pair in ${RTC_GOLIVE_ROOTFS_BINDS:-}; do
      mkdir -p "$(dirname "$root${pair#*:}")"
      [ -e "$root${pair#*:}" ] || { [ -d "${pair%%:*}" ] && mkdir -p "$root${pair#*:}" || touch "$root${pair#*:}"; }
      mount --bind "${pair%%:*}" "$root${pair#*:}"
    done
    cwd=$(pwd)
    exec chroot "$root" /usr/bin/env \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
  ' rootfs "$@"
}
