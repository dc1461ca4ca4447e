#!/usr/bin/env bash
# The Windows packages of the plugin, from OUTDIR/obs-rtc-golive.dll and data/locale/*.ini:
#   OUTDIR/obs-rtc-golive-<version>-windows-x64-installer.exe  per-machine NSIS installer (installer.nsi)
#   OUTDIR/obs-rtc-golive-<version>-windows-x64.zip            portable: unpack into an OBS folder
# The zip has an OBS install's layout (obs-plugins/64bit/obs-rtc-golive.dll,
# data/obs-plugins/obs-rtc-golive/locale/*.ini), the layout the installer writes too.
# Needs makensis (NSIS 3) and zip: build-scripts/windows.sh runs it in its root filesystem,
#   build-scripts/windows.sh run build-scripts/windows/package.sh target/windows
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR (holding obs-rtc-golive.dll)" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checkout=$(cd "$here/../.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
dll=$out/obs-rtc-golive.dll
locale=$checkout/data/locale
[ -f "$dll" ] || { echo "$dll is missing: build it first (build-scripts/windows.sh)" >&2; exit 1; }
compgen -G "$locale/*.ini" >/dev/null || { echo "no locale files in $locale" >&2; exit 1; }
for tool in makensis zip; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (build-scripts/windows.sh run $0 ...)" >&2; exit 1; }
done

# [workspace.package] version in Cargo.toml.
version=$(awk '/^\[/ { section = $0 } section == "[workspace.package]" && $1 == "version" { gsub(/"/, "", $3); print $3; exit }' "$checkout/Cargo.toml")
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || { echo "no [workspace.package] version in Cargo.toml (got '$version')" >&2; exit 1; }
# The installer's file version wants four numbers: 1.2.3-beta.1 becomes 1.2.3.0.
vi_version=${BASH_REMATCH[0]}.0
base=obs-rtc-golive-$version-windows-x64
installer=$out/$base-installer.exe
zip=$out/$base.zip

# What Add/Remove Programs shows as the size, in KiB.
size_kb=$(du -k -c "$dll" "$locale"/*.ini | tail -1 | cut -f1)

rm -f "$installer" "$zip"
# -INPUTCHARSET: the script's Chinese messages are UTF-8. -WX: a warning is a mistake.
makensis -V2 -WX -INPUTCHARSET UTF8 \
  -DVERSION="$version" -DVI_VERSION="$vi_version" -DSIZE_KB="$size_kb" \
  -DDLL="$dll" -DLOCALE_DIR="$locale" -DOUTFILE="$installer" \
  "$here/installer.nsi"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/obs-plugins/64bit" "$stage/data/obs-plugins/obs-rtc-golive/locale"
cp "$dll" "$stage/obs-plugins/64bit/obs-rtc-golive.dll"
cp "$locale"/*.ini "$stage/data/obs-plugins/obs-rtc-golive/locale/"
# -X: no Unix owners or times beyond the standard ones; -D: files only (folders come with them).
(cd "$stage" && zip -q -r -X -D -9 "$zip" obs-plugins data)

for file in "$installer" "$zip"; do
  printf '==> %s (%s bytes, %s)\n' "$file" "$(stat -c %s "$file")" "$(du -h "$file" | cut -f1)"
done
