#!/usr/bin/env bash
# The plugin for Windows, built on this Linux machine:
#
#   build-scripts/windows.sh             release DLL, installer and portable zip in target/windows/
#   build-scripts/windows.sh test        the same, then every Windows test under Wine
#   build-scripts/windows.sh --prepare   only build (or check) the toolchain root filesystem
#   build-scripts/windows.sh run CMD...  a command inside the toolchain root filesystem
#
# No Rust standard library for Windows can be downloaded here, so the toolchain is Debian sid's
# rustc with the matching rust-src, which builds std for x86_64-pc-windows-gnu itself
# (`-Z build-std`), MinGW-w64 to link, Wine to run the tests and NSIS for the installer, all in a
# root filesystem cached beside the OBS ones (build-scripts/rootfs.sh). Cargo's registry and the
# Windows build directory are cached too, so a second run compiles only this project's crates.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checkout=$(dirname "$here")
source "$here/rootfs.sh"

# rust-src: std's source for -Z build-std; libclang-dev: obs-sys's build script runs bindgen;
# wine: the tests and the installer's; nsis: the installer; zip: the portable package;
# libsimde-dev: libobs 29.0's headers include SIMDe for SSE outside MSVC (the layout check).
packages=(rustc cargo rust-src gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 libclang-dev
  ca-certificates wine wine64 nsis file zip libsimde-dev)
# sid's libobs headers (32.x) for the layout check, unpacked without the library's dependencies;
# SIMDe alone in an include directory of its own, so that MinGW sees no Linux header.
headers_hook='chroot "$1" sh -c "cd /tmp && apt-get download -q libobs-dev && mkdir -p /opt/libobs /opt/simde && dpkg-deb -x libobs-dev_*.deb /opt/libobs && rm libobs-dev_*.deb && ln -s /usr/include/simde /opt/simde/simde"'
rootfs_ensure windows sid --customize-hook="$headers_hook" -- "${packages[@]}"
[ "${1:-}" = "--prepare" ] && exit 0

target=x86_64-pc-windows-gnu
# Outside the checkout, so that a fresh clone (CI) reuses std and the dependencies.
export CARGO_TARGET_DIR=$rootfs_cache/windows-target
mkdir -p "$CARGO_TARGET_DIR"
# Cargo inside reaches crates.io through this network's certificate authorities.
export RTC_GOLIVE_ROOTFS_BINDS="/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt ${RTC_GOLIVE_ROOTFS_BINDS:-}"
# -Z build-std is unstable; sid's rustc is a stable release.
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine WINEDEBUG=-all

inside() {
  (rootfs_exec "$rootfs" "$checkout" "$@")
}

if [ "${1:-}" = "run" ]; then
  shift
  inside "$@"
  exit
fi

out=$checkout/target/windows
mkdir -p "$out"

# check_imports DLL: the plugin imports from OBS only what OBS 29.0 exports (anything newer is
# looked up at run time), and needs no DLL beyond OBS's and Windows's own (a MinGW runtime DLL
# would have to ship beside it); OBS finds its entry points.
check_imports() {
  local dll=$1 dump foreign missing=() entry
  dump=$(inside x86_64-w64-mingw32-objdump -p "$dll")
  foreign=$(awk '/DLL Name:/ { print tolower($3) }' <<<"$dump" | sort -u |
    grep -vxE 'obs\.dll|obs-frontend-api\.dll|(kernel32|msvcrt|ntdll|userenv|ws2_32|bcryptprimitives|advapi32|bcrypt|crypt32|ncrypt|secur32|ktmw32|oleaut32|api-ms-win-[a-z0-9-]+)\.dll' || true)
  if [ -n "$foreign" ]; then
    echo "error: $dll needs DLLs that neither OBS nor Windows provides: $foreign" >&2
    return 1
  fi
  while read -r from function; do
    grep -qxF "    $function" "$here/windows/${from%.dll}.def" || missing+=("$from:$function")
  done < <(awk '/DLL Name:/ { dll = tolower($3); next } /^$/ { dll = "" }
      dll ~ /^obs(-frontend-api)?\.dll$/ && $2 == "<none>" { print dll, $4 }' <<<"$dump")
  if ((${#missing[@]})); then
    echo "error: $dll imports what OBS 29.0 does not export: ${missing[*]}" >&2
    return 1
  fi
  for entry in obs_module_load obs_module_post_load obs_module_unload obs_module_set_pointer \
    obs_current_module obs_module_ver obs_module_set_locale obs_module_free_locale; do
    grep -qE "\] +[0-9a-f]+ $entry\$" <<<"$dump" || {
      echo "error: $dll does not export $entry" >&2
      return 1
    }
  done
  echo "==> imports: $(awk '/DLL Name:/ { dll = tolower($3); next } /^$/ { dll = "" }
      dll == "obs.dll" && $2 == "<none>" { n++ } END { print n + 0 }' <<<"$dump") functions from obs.dll," \
    "$(awk '/DLL Name:/ { dll = tolower($3); next } /^$/ { dll = "" }
      dll == "obs-frontend-api.dll" && $2 == "<none>" { n++ } END { print n + 0 }' <<<"$dump") from obs-frontend-api.dll, all in OBS 29.0; no other DLL outside Windows"
}

started=$SECONDS
echo "==> Windows: cargo build --release --lib --target $target (std built from source)"
inside cargo build --quiet -Z build-std --target "$target" --release --lib
# The symbol table is of no use without the build tree; the download is 20 % smaller.
inside x86_64-w64-mingw32-strip --strip-unneeded -o "$out/obs-rtc-golive.dll" \
  "$CARGO_TARGET_DIR/$target/release/obs_rtc_golive.dll"
check_imports "$out/obs-rtc-golive.dll"
echo "==> $out/obs-rtc-golive.dll ($(du -h "$out/obs-rtc-golive.dll" | cut -f1)) in $((SECONDS - started)) s"
inside "$here/windows/package.sh" "$out"
[ "${1:-}" = "test" ] || exit 0

started=$SECONDS
inside "$checkout/tests/windows-host/build.sh" "$out/test-host"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$checkout/Cargo.toml" | head -n 1)
# The layout check compiles libobs's headers with MinGW: the machine's 29.0.2 headers (the
# oldest supported OBS) and sid's 32.2.
export RTC_GOLIVE_ROOTFS_BINDS="$RTC_GOLIVE_ROOTFS_BINDS /usr/include/obs:/opt/libobs-29/include/obs"
export RTC_GOLIVE_ABI_CC=/usr/bin/x86_64-w64-mingw32-gcc RTC_GOLIVE_ABI_CFLAGS=-I/opt/simde
export RTC_GOLIVE_ABI_INCLUDE="/opt/libobs-29/include;/opt/libobs/usr/include"
export RTC_GOLIVE_WINDOWS_DLL=$out/obs-rtc-golive.dll
export RTC_GOLIVE_TEST_HOST=$out/test-host/host.exe
export RTC_GOLIVE_WINDOWS_INSTALLER=$out/obs-rtc-golive-$version-windows-x64-installer.exe
export RTC_GOLIVE_WINDOWS_ZIP=$out/obs-rtc-golive-$version-windows-x64.zip
# The plugin's test executables link obs.dll and obs-frontend-api.dll as the DLL does; Windows
# loads none of them without the stubs on its search path.
export WINEPATH="Z:${out//\//\\}\\test-host"
echo "==> Windows tests under Wine: the core, the simulator, the plugin (layouts, smoke test of" \
  "the release DLL on a stub libobs, installer) and the broker"
status=0
inside cargo test -Z build-std --target "$target" --no-fail-fast \
  -p rtc-golive-core -p rtc-golive-simulator -p obs-rtc-golive -p rtc-golive-broker \
  --lib --bins --tests || status=$?
# The installer picks its language from Windows's, which Wine takes from the locale at start.
echo "==> the installer's tests again in Chinese"
LC_ALL=zh_CN.UTF-8 inside cargo test -Z build-std --target "$target" -p obs-rtc-golive \
  --test windows_installer || status=$?
echo "==> Windows tests: $((SECONDS - started)) s"
exit "$status"
