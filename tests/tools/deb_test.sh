#!/usr/bin/env bash
# The Debian packages (tools/package-deb.sh), made from the Bazel-built artifacts:
#   deb_test.sh --install CCFLAGS  install them with dpkg into a private root (dpkg --root, an
#                                  empty dpkg database plus this machine's entries for the
#                                  packages they depend on: their dependencies are checked, not
#                                  forced), build a C and a C++ program against the installed
#                                  files and a typed-bus C program against the typed-records
#                                  library (libshmbus-types-dev), run them and the tools, then
#                                  purge: nothing is left.
#   deb_test.sh --lintian          lintian reports no error on them.
# CCFLAGS: the sanitizer the artifacts were built with, if any.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"
R=$RUNFILES
mode=${1:?--install or --lintian}
read -r -a CCFLAGS <<<"${2:-}"
v=$("$R/tools/package-deb.sh" --print-version "$R/core/shmbus.h")
major=${v%%.*}
arch=$(dpkg --print-architecture)
files=("$R/tools/shmpub" "$R/tools/shmsub" "$R/tools/shmbus" "$R/tools/libshmbus.so"
       "$R/core/libshmbus.a" "$R/core/shmbus.h" "$R/cpp/shmbus.hpp" "$R"/docs/man/*.1
       "$R/types/libshmbus_types.so" "$R/types/shmbus_types.h")
expect_rc 0 "$R/tools/package-deb.sh" --out "$TMP/debs" --revision 1 --files "${files[@]}"
debs=()
for p in "libshmbus$major" libshmbus-dev shmbus-tools "libshmbus-types$major" libshmbus-types-dev; do
  d="$TMP/debs/${p}_$v-1_$arch.deb"
  if [ -f "$d" ]; then pass; debs+=("$d"); else fail "no $d"; fi
done
((${#debs[@]} == 5)) || { finish; exit 1; }

if [ "$mode" = --lintian ]; then
  # lintian refuses to run as root without --allow-root (this test may run as root).
  expect_rc 0 lintian --allow-root --fail-on error --tag-display-limit 0 "${debs[@]}"
  sed 's/^/  lintian: /' "$TMP/out" >&2
  if grep -q '^E:' "$TMP/out"; then fail "lintian errors"; else pass; fi
  finish
  exit
fi

expect_rc 0 dpkg-deb -f "${debs[0]}" Version; out_is "$v-1"
expect_rc 0 dpkg-deb -f "${debs[1]}" Depends; out_is "libshmbus$major (= $v-1)"
expect_rc 0 dpkg-deb -c "${debs[0]}"; out_has "usr/lib/libshmbus.so.$major -> libshmbus.so.$v"
# The typed-records library: its own runtime package (dependencies from dpkg-shlibdeps: the
# libraries it links), and a -dev package that brings what shmbus-types.pc names.
expect_rc 0 dpkg-deb -f "${debs[3]}" Depends; out_has '(^|, )libcycloneddsidl0 \(>= '; out_has '(^|, )libjansson4 \(>= '
expect_rc 0 dpkg-deb -f "${debs[4]}" Depends
out_is "libshmbus-types$major (= $v-1), libshmbus-dev (= $v-1), libjansson-dev, cyclonedds-dev"
expect_rc 0 dpkg-deb -c "${debs[3]}"; out_has "usr/lib/libshmbus_types.so.$major -> libshmbus_types.so.$v"
expect_rc 0 dpkg-deb -c "${debs[4]}"; out_has '\./usr/include/shmbus_types\.h$'
out_has '\./usr/lib/pkgconfig/shmbus-types\.pc$'; out_has '\./usr/lib/cmake/shmbus/shmbus-types\.cmake$'
expect_rc 0 sh -c 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./usr/share/doc/shmbus-tools/copyright' sh "${debs[2]}"
out_has '^License: Expat$'; out_has '^ Permission is hereby granted'; out_has '^ \.$'

# A private root: its dpkg database knows only the packages ours depend on, copied from this
# machine's, so dpkg checks the Depends lines for real.
root=$TMP/root
mkdir -p "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/triggers"
deps=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Depends; echo; done |
       tr ',' '\n' | sed 's/(.*//; s/|.*//; s/ //g; s/:any$//' | grep -v '^libshmbus' | grep . | sort -u)
# shellcheck disable=SC2086
dpkg-query -s $deps >"$root/var/lib/dpkg/status" 2>/dev/null || fail "a dependency is not installed here: $deps"
DPKG=(dpkg --root="$root" --log=/dev/null --force-not-root --force-script-chrootless)
expect_rc 0 "${DPKG[@]}" --install "${debs[@]}"
for f in bin/shmpub bin/shmsub bin/shmbus include/shmbus.h include/shmbus.hpp lib/libshmbus.a \
         "lib/libshmbus.so.$v" lib/pkgconfig/shmbus.pc lib/cmake/shmbus/shmbusConfig.cmake \
         share/man/man1/shmsub.1.gz "share/doc/libshmbus$major/copyright" include/shmbus_types.h \
         "lib/libshmbus_types.so.$v" lib/pkgconfig/shmbus-types.pc lib/cmake/shmbus/shmbus-types.cmake; do
  if [ -f "$root/usr/$f" ]; then pass; else fail "not installed: /usr/$f"; fi
done
expect_rc 0 "${DPKG[@]}" --status libshmbus-dev; out_has '^Status: install ok installed$'

# The tools, from the installed package.
newbus T; newbus C; newbus X
expect_rc 0 "$root/usr/bin/shmbus" --version; out_is "shmbus (shmbus) $v"
expect_rc 0 "$root/usr/bin/shmpub" "$T" -m "from the package"
expect_rc 0 "$root/usr/bin/shmsub" "$T" -1; out_is "from the package"
if command -v man >/dev/null; then
  expect_rc 0 env MANWIDTH=80 man -l "$root/usr/share/man/man1/shmpub.1.gz"; out_has 'EXIT STATUS'
fi

# A C program through pkg-config (the .pc names /usr: the sysroot maps it into the root), and
# a C++ program on the static library.
cp "$R/tests/tools/cmake_consumer/prog.c" "$R/tests/tools/cmake_consumer/prog.cc" "$TMP/"
export PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$root/usr/lib/pkgconfig
expect_rc 0 pkg-config --modversion shmbus; out_is "$v"
# shellcheck disable=SC2046
expect_rc 0 cc "${CCFLAGS[@]}" -std=c11 -Wall -Werror -o "$TMP/prog" "$TMP/prog.c" $(pkg-config --cflags --libs shmbus)
expect_rc 0 env LD_LIBRARY_PATH="$root/usr/lib" "$TMP/prog" "$C" deb; out_is "from C (deb)"
expect_rc 0 env LD_LIBRARY_PATH="$root/usr/lib" ldd "$TMP/prog"; out_has "libshmbus.so.$major => $root/usr/lib/libshmbus.so.$major"
# shellcheck disable=SC2046
expect_rc 0 c++ "${CCFLAGS[@]}" -std=c++17 -Wall -Werror -o "$TMP/progxx" "$TMP/prog.cc" $(pkg-config --cflags shmbus) "$root/usr/lib/libshmbus.a" -pthread
expect_rc 0 "$TMP/progxx" "$X" deb; out_is "from C++ 1.5 2.5 7 (deb, shmbus $v)"

# A typed bus through the installed typed-records library. shmbus-types.pc requires jansson
# (Requires.private), which is not in the private root: without this machine's pkg-config
# directory pkg-config refuses, with it the program builds.
newbus Y
cp "$R/tests/tools/cmake_consumer/typed.c" "$TMP/"
expect_rc 1 pkg-config --cflags --libs shmbus-types; err_has "'jansson', required by 'shmbus-types', not found"
PKG_CONFIG_LIBDIR=$root/usr/lib/pkgconfig:/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/pkgconfig:/usr/share/pkgconfig
expect_rc 0 pkg-config --cflags --libs shmbus-types; out_has "^-I$root/usr/include -L$root/usr/lib -lshmbus_types -lshmbus *$"
# shellcheck disable=SC2046
expect_rc 0 cc "${CCFLAGS[@]}" -std=c11 -Wall -Werror -o "$TMP/typed" "$TMP/typed.c" $(pkg-config --cflags --libs shmbus-types)
expect_rc 0 env LD_LIBRARY_PATH="$root/usr/lib" "$TMP/typed" "$Y" deb
out_is 'demo::Point v1 {"x":1.5,"y":-2,"n":7,"mode":"RUN","name":"pt"} (deb)
-22 IDL: line 1, column 19: syntax error'
err_empty
expect_rc 0 env LD_LIBRARY_PATH="$root/usr/lib" ldd "$TMP/typed"
out_has "libshmbus_types.so.$major => $root/usr/lib/libshmbus_types.so.$major"

# Purge: every file goes, the database forgets the packages.
expect_rc 0 "${DPKG[@]}" --purge libshmbus-types-dev "libshmbus-types$major" shmbus-tools libshmbus-dev "libshmbus$major"
left=$(cd "$root" && find . ! -type d ! -path './var/lib/dpkg/*')
if [ -z "$left" ]; then pass; else fail "left after purge: $left"; fi
left=$(cd "$root" && find usr -mindepth 1 2>/dev/null)
if [ -z "$left" ]; then pass; else fail "directories left after purge: $left"; fi
expect_rc 1 "${DPKG[@]}" --status libshmbus-dev
expect_rc 1 "${DPKG[@]}" --status libshmbus-types-dev
finish
