#!/bin/sh
# Builds the Windows smoke test's host into DIR: host.exe, and beside it the stub obs.dll and
# obs-frontend-api.dll it loads the plugin with. Runs inside the Windows toolchain's root
# filesystem:
#
#   build-scripts/windows.sh run tests/windows-host/build.sh target/windows/test-host
#
# The stubs are compiled against libobs's own headers (LIBOBS_INCLUDE, default sid's libobs-dev
# in /opt/libobs), so each function has libobs's signature. With PLUGIN_DLL (default
# target/windows/obs-rtc-golive.dll) present, every function the plugin imports from obs.dll
# and obs-frontend-api.dll must be exported by the stubs, or the build fails naming the missing
# ones (the loader would refuse the plugin).
set -eu

out=${1:?usage: build.sh OUTPUT-DIR}
here=$(cd "$(dirname "$0")" && pwd)
include=${LIBOBS_INCLUDE:-/opt/libobs/usr/include/obs}
plugin=${PLUGIN_DLL:-target/windows/obs-rtc-golive.dll}
cc=${CC_MINGW:-x86_64-w64-mingw32-gcc}
objdump=${OBJDUMP_MINGW:-x86_64-w64-mingw32-objdump}

[ -f "$include/obs.h" ] || { echo "build.sh: no libobs headers in $include" >&2; exit 1; }
mkdir -p "$out"

# -include sys/stat.h: util/platform.h declares os_stat(const char *, struct stat *) before
# anything declares struct stat (harmless in libobs's own build, a warning here).
cflags="-O1 -g -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror
  -std=gnu11 -D__USE_MINGW_ANSI_STDIO=1 -include sys/stat.h -I$include -I$here"
# Static libgcc: the DLLs need nothing beside them but each other.
ldflags="-static-libgcc"

echo "==> $out/obs.dll"
# Every global function is exported (the libobs API), the helpers in stub-api.h included.
$cc $cflags -shared "$here/obs-stub.c" -o "$out/obs.dll" \
  -Wl,--export-all-symbols -Wl,--out-implib,"$out/libobs-stub.dll.a" $ldflags
echo "==> $out/obs-frontend-api.dll"
$cc $cflags -shared "$here/frontend-stub.c" -o "$out/obs-frontend-api.dll" \
  -Wl,--export-all-symbols -Wl,--out-implib,"$out/libobs-frontend-api-stub.dll.a" \
  "$out/libobs-stub.dll.a" $ldflags
echo "==> $out/host.exe"
$cc $cflags -municode "$here/host.c" -o "$out/host.exe" \
  "$out/libobs-stub.dll.a" "$out/libobs-frontend-api-stub.dll.a" -lws2_32 $ldflags

# The functions DLL imports from FROM (objdump -p's import table).
imports() {
  $objdump -p "$1" | awk -v dll="$2" '
    /DLL Name:/ { current = $3; next }
    current == dll && $2 == "<none>" { print $4 }' | sort -u
}
# The functions DLL exports.
exports() {
  $objdump -p "$1" | awk '
    /^\[Ordinal\/Name Pointer\] Table/ { table = 1; next }
    table && /^\t\[/ { print $NF; next }
    table && !/^\t/ { table = 0 }' | sort -u
}

if [ -f "$plugin" ]; then
  status=0
  for dll in obs.dll obs-frontend-api.dll; do
    imports "$plugin" "$dll" >"$out/$dll.imports"
    exports "$out/$dll" >"$out/$dll.exports"
    missing=$(comm -23 "$out/$dll.imports" "$out/$dll.exports")
    if [ -n "$missing" ]; then
      echo "build.sh: the plugin imports from $dll what the stub does not export:" >&2
      echo "$missing" | sed 's/^/  /' >&2
      status=1
    else
      echo "==> $dll exports all $(wc -l <"$out/$dll.imports") functions $(basename "$plugin") imports from it"
    fi
  done
  [ "$status" = 0 ] || exit 1
else
  echo "build.sh: $plugin not built: the stubs' exports were not checked against its imports" >&2
fi
