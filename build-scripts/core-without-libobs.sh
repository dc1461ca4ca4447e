#!/usr/bin/env bash
# Runs the core crate's tests (`cargo test -p rtc-golive-core`) as on a machine without
# libobs-dev: in a private mount namespace where OBS's headers and every libobs and
# obs-frontend-api library file are hidden (an empty directory, or a file that is no library,
# mounted over them; not /dev/null, which GNU ld would take for an empty linker script). It proves the core needs nothing from OBS to build, link and run; the plugin crate would fail
# here at its link step. Needs root (unshare), as CI has.
set -euo pipefail
cd "$(dirname "$0")/.."

hidden=$(ls -d /usr/include/obs /usr/lib/x86_64-linux-gnu/libobs* \
  /usr/lib/x86_64-linux-gnu/libobs-frontend-api* 2>/dev/null | sort -u || true)
not_a_library=$(mktemp)
trap 'rm -f "$not_a_library"' EXIT
echo "libobs is hidden here (build-scripts/core-without-libobs.sh)" >"$not_a_library"
unshare --mount --propagation private bash -euo pipefail -c '
  for path in $1; do
    if [ -d "$path" ]; then mount -t tmpfs none "$path"; else mount --bind "$2" "$path"; fi
  done
  # Nothing of OBS is left to build or link against.
  if [ -n "$(ls /usr/include/obs 2>/dev/null)" ]; then echo "OBS headers still visible" >&2; exit 1; fi
  cargo test --quiet -p rtc-golive-core
' core-without-libobs "$hidden" "$not_a_library"
