#!/usr/bin/env bash
# One version, from one source: SHMBUS_VERSION_STRING in core/shmbus.h. The tools' --version,
# the man pages, the shared libraries' sonames (libshmbus.so.MAJOR, libshmbus_types.so.MAJOR), the installed file names,
# pkg-config, the CMake package and tools/package-deb.sh all say the same.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"
R=$RUNFILES
v=$(sed -n 's/^#define SHMBUS_VERSION_STRING "\(.*\)"$/\1/p' "$R/core/shmbus.h")
if [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then pass; else fail "SHMBUS_VERSION_STRING '$v' is not X.Y.Z"; fi
major=${v%%.*}
for t in shmpub shmsub shmbus; do
  expect_rc 0 "$R/tools/$t" --version; out_is "$t (shmbus) $v"
  if head -1 "$R/docs/man/$t.1" | grep -Fq "\"shmbus $v\""; then pass; else fail "$t.1 .TH does not say shmbus $v"; fi
done
soname=$(objdump -p "$R/tools/libshmbus.so" | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" = "libshmbus.so.$major" ]; then pass; else fail "soname '$soname', wanted libshmbus.so.$major"; fi
soname=$(objdump -p "$R/types/libshmbus_types.so" | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" = "libshmbus_types.so.$major" ]; then pass; else fail "soname '$soname', wanted libshmbus_types.so.$major"; fi
prefix=$TMP/p
expect_rc 0 "$R/tools/install_files.sh" --prefix "$prefix" "$R/core/shmbus.h" "$R/tools/libshmbus.so" \
  "$R/types/libshmbus_types.so" "$R/types/shmbus_types.h"
for l in libshmbus libshmbus_types; do
  if [ -f "$prefix/lib/$l.so.$v" ] && [ "$(readlink "$prefix/lib/$l.so.$major")" = "$l.so.$v" ]; then
    pass; else fail "$l files not named after $v"; fi
done
expect_rc 0 env PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion shmbus; out_is "$v"
expect_rc 0 env PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion shmbus-types; out_is "$v"
if grep -q "PACKAGE_VERSION \"$v\"" "$prefix/lib/cmake/shmbus/shmbusConfigVersion.cmake"; then pass; else fail "CMake version"; fi
expect_rc 0 "$R/tools/package-deb.sh" --print-version "$R/core/shmbus.h"; out_is "$v"
finish
