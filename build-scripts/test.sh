#!/usr/bin/env bash
# Everything CI runs: formatting, lints, unit tests, signer vectors, and the end-to-end tests
# against real OBS (under Xvfb), nginx-rtmp and the bundled vendor simulator, on every OBS
# version the project supports:
#   - OBS 29.0.2 (the machine's own, per-user plugin install): the whole suite;
#   - OBS 32.2.2 (Debian sid root filesystem, plugin installed from the .deb): every test that
#     runs OBS or reads its headers;
#   - OBS 30.2.3 (Debian trixie root filesystem, from the .deb): go-live on both providers,
#     vendor errors, failover and the quit tests, Start Streaming off the UI thread, the settings
#     window, the libobs layouts, the pull source, going live through the platform's broker;
#   - Windows x64 (build-scripts/windows.sh test): the release DLL, its installer and zip, and
#     under Wine the core's, the simulator's and the broker's tests, the libobs layouts, a smoke
#     test of the DLL on a stub libobs, and the installer's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source build-scripts/deps.sh
ensure_deps
ensure_cargo_deb

started=$SECONDS
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# The root filesystems take minutes to build the first time: build them while the host works.
for version in 30.2.3 32.2.2; do
  build-scripts/obs-version.sh "$version" --prepare >"$logs/rootfs-$version.log" 2>&1 &
  eval "rootfs_${version//./_}=$!"
done
build-scripts/windows.sh --prepare >"$logs/rootfs-windows.log" 2>&1 &
rootfs_windows=$!

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
# The end-to-end tests install the plugin .so into a throwaway OBS, and e2e_platform runs the
# real broker binary (target/debug/rtc-golive-broker) on every version: build both first so
# they are never stale. The selection is the host block's own, so cargo test below reuses
# every artifact (another selection unifies other features and compiles much of it again).
echo "==> cargo build (plugin, broker, host test binaries)"
cargo build --workspace --lib --bins --tests
echo "==> build and lints: $((SECONDS - started)) s since the start"
echo "==> the core's tests with libobs hidden (no headers, no library)"
bash build-scripts/core-without-libobs.sh
echo "==> fuzz smoke (20 s per target; the long runs are build-scripts/fuzz.sh long)"
bash build-scripts/fuzz.sh smoke

# "OBS x.y.z: N passed, M failed" from one block's cargo test output.
totals() {
  awk -v label="$1" '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
       END { printf "%s: %d passed, %d failed\n", label, p, f }' "$2"
}
summary=()
failed=0

# One block of results: runs cargo test with the given arguments, labelled with its OBS version.
block() {
  local label=$1 log=$logs/block-${#summary[@]}.log
  shift
  echo "==> $label: cargo test $*"
  local status=0
  cargo test --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
  summary+=("$(totals "$label" "$log")")
  echo "==> ${summary[-1]} ($((SECONDS - started)) s since the start)"
  ((status == 0)) || failed=1
}

# Examples (demo, bench) are built by clippy above; they are programs, not test suites.
block "OBS 29.0.2 (host, whole suite)" --workspace --lib --bins --tests

# The host block's test executables ("name path" per line). The root filesystems' blocks run
# these very binaries: another cargo selection would compile much of the workspace again.
executables=$(cargo test --workspace --lib --bins --tests --no-run 2>&1 |
  sed -n 's/^ *Executable tests\/\([a-z0-9_]*\)\.rs (\(.*\))$/\1 \2/p')

# One block of end-to-end results on a root filesystem's OBS: runs the named test executables
# there, as cargo would with the version's runner (from the checkout, the plugin the .deb
# installed).
rootfs_block() {
  local label=$1 version=$2 log=$logs/block-${#summary[@]}.log status=0 name exe
  shift 2
  echo "==> $label: $*"
  for name in "$@"; do
    exe=$(awk -v name="$name" '$1 == name { print $2 }' <<<"$executables")
    if [ -z "$exe" ]; then
      echo "error: the host block built no test executable $name" | tee -a "$log" >&2
      status=1
      continue
    fi
    echo "     Running tests/$name.rs ($exe)" | tee -a "$log"
    RTC_GOLIVE_SYSTEM_PLUGIN=1 build-scripts/obs-version.sh "$version" "$here/$exe" 2>&1 |
      tee -a "$log" || status=1
  done
  summary+=("$(totals "$label" "$log")")
  echo "==> ${summary[-1]} ($((SECONDS - started)) s since the start)"
  ((status == 0)) || failed=1
}

echo "==> Debian package (cargo-deb, release build)"
deb_started=$SECONDS
deb=$(build-scripts/deb.sh | tail -n 1)
echo "==> $deb ($(du -h "$deb" | cut -f1)) built in $((SECONDS - deb_started)) s"

e2e_all=(e2e_baseline e2e_zego e2e_aliyun e2e_cdn e2e_networks e2e_reliability e2e_ui_thread
  e2e_settings_window abi e2e_pull e2e_platform)
e2e_core=(e2e_baseline e2e_zego e2e_aliyun e2e_reliability e2e_ui_thread e2e_settings_window
  abi e2e_pull e2e_platform)
here=$(pwd)
for version in 32.2.2 30.2.3; do
  pid_var="rootfs_${version//./_}"
  waited=$SECONDS
  if ! wait "${!pid_var}"; then
    cat "$logs/rootfs-$version.log"
    echo "error: the OBS $version root filesystem could not be built" >&2
    exit 1
  fi
  grep '^==>' "$logs/rootfs-$version.log" || true
  echo "==> waited $((SECONDS - waited)) s for the OBS $version root filesystem"
  echo "==> OBS $version: dpkg -i $(basename "$deb")"
  build-scripts/obs-version.sh "$version" dpkg -i "$here/$deb" >/dev/null
  if [ "$version" = 32.2.2 ]; then
    tests=("${e2e_all[@]}") label="OBS 32.2.2 (Debian sid, .deb, end-to-end suite)"
  else
    tests=("${e2e_core[@]}") label="OBS 30.2.3 (Debian trixie, .deb, core end-to-end tests)"
  fi
  rootfs_block "$label" "$version" "${tests[@]}"
done

waited=$SECONDS
if ! wait "$rootfs_windows"; then
  cat "$logs/rootfs-windows.log"
  echo "error: the Windows toolchain root filesystem could not be built" >&2
  exit 1
fi
grep '^==>' "$logs/rootfs-windows.log" || true
echo "==> waited $((SECONDS - waited)) s for the Windows toolchain root filesystem"
log=$logs/block-${#summary[@]}.log
status=0
echo "==> Windows x64: build-scripts/windows.sh test"
build-scripts/windows.sh test 2>&1 | tee "$log" || status=$?
summary+=("$(totals "Windows x64 (under Wine, stub libobs)" "$log")")
echo "==> ${summary[-1]} ($((SECONDS - started)) s since the start)"
((status == 0)) || failed=1

echo "==> results by OBS version and system ($((SECONDS - started)) s in all)"
printf '    %s\n' "${summary[@]}"
# One closing line for the whole run.
cat "$logs"/block-*.log >"$logs/all.log"
totals "all tests" "$logs/all.log"
exit "$failed"
