#!/usr/bin/env bash
# Install the Bazel-built artifacts into a temporary prefix with tools/install_files.sh (what
# tools/install.sh runs after building), then build and run a small C program against it with
# cc $(pkg-config --cflags --libs shmbus), dynamically and statically.
# $1: extra cc flags (the sanitizer the artifacts were built with, if any).
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"
R=$RUNFILES
read -r -a CCFLAGS <<<"${1:-}"
prefix=$TMP/prefix
files=("$R/tools/shmpub" "$R/tools/shmsub" "$R/tools/shmbus" "$R/tools/libshmbus.so"
       "$R/core/libshmbus.a" "$R/core/shmbus.h" "$R/cpp/shmbus.hpp" "$R"/docs/man/*.1)
expect_rc 0 "$R/tools/install_files.sh" --prefix "$prefix" "${files[@]}"
for f in bin/shmpub bin/shmsub bin/shmbus include/shmbus.h include/shmbus.hpp lib/libshmbus.a \
         lib/libshmbus.so.0.1.0 share/man/man1/shmpub.1 share/man/man1/shmsub.1 share/man/man1/shmbus.1 \
         lib/pkgconfig/shmbus.pc lib/cmake/shmbus/shmbusConfig.cmake lib/cmake/shmbus/shmbusConfigVersion.cmake; do
  if [ -f "$prefix/$f" ]; then pass; else fail "not installed: $f"; fi
done
if [ "$(readlink "$prefix/lib/libshmbus.so")" = libshmbus.so.0 ] &&
   [ "$(readlink "$prefix/lib/libshmbus.so.0")" = libshmbus.so.0.1.0 ]; then pass; else fail "so links"; fi
if [ -x "$prefix/bin/shmsub" ] && [ ! -x "$prefix/include/shmbus.h" ]; then pass; else fail "modes"; fi
expect_rc 0 "$prefix/bin/shmbus" --version; out_has '^shmbus \(shmbus\) 0\.1\.0$'
if command -v man >/dev/null; then
  expect_rc 0 env MANWIDTH=80 man -l "$prefix/share/man/man1/shmsub.1"; out_has 'EXIT STATUS'
fi
expect_rc 2 "$R/tools/install_files.sh" --prefix relative/dir "${files[@]}"; err_has 'absolute path'
expect_rc 1 "$R/tools/install_files.sh" --prefix "$prefix" /no/such/artifact; err_has "no such file"
expect_rc 1 "$R/tools/install_files.sh" --destdir "$TMP/nohdr" "$R/tools/shmpub"; err_has "shmbus.h must be among"

# A program that publishes a record and reads it back through the installed library.
newbus P
cat >"$TMP/prog.c" <<'C'
#include <shmbus.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  shmbus_pub *p;
  shmbus_sub *s;
  char buf[64];
  struct shmbus_record_info info;
  ssize_t n;
  int rc = shmbus_pub_open(argv[1], NULL, &p);
  if (rc < 0) return fprintf(stderr, "pub_open: %s\n", shmbus_strerror(rc)), 1;
  if ((rc = shmbus_sub_open(argv[1], 0, &s)) < 0) return fprintf(stderr, "sub_open: %s\n", shmbus_strerror(rc)), 1;
  shmbus_sub_seek(s, SHMBUS_SEEK_NEW); /* not the latest record of an earlier run */
  shmbus_pub_publish(p, "installed ok", 12);
  n = shmbus_sub_next(s, buf, sizeof buf, &info);
  if (n < 0) return fprintf(stderr, "next: %s\n", shmbus_strerror((int)n)), 1;
  printf("%.*s v%llu (%s)\n", (int)n, buf, (unsigned long long)info.version, argc > 2 ? argv[2] : "");
  shmbus_sub_close(s);
  shmbus_pub_close(p);
  return 0;
}
C
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
expect_rc 0 pkg-config --modversion shmbus; out_is 0.1.0
expect_rc 0 pkg-config --cflags --libs shmbus; out_has "^-I$prefix/include -L$prefix/lib -lshmbus *$"
# shellcheck disable=SC2046
expect_rc 0 cc "${CCFLAGS[@]}" -std=c11 -Wall -Wextra -Werror -o "$TMP/prog" "$TMP/prog.c" $(pkg-config --cflags --libs shmbus)
expect_rc 0 env LD_LIBRARY_PATH="$prefix/lib" ldd "$TMP/prog"; out_has "libshmbus.so.0 => $prefix/lib/libshmbus.so.0"
expect_rc 0 env LD_LIBRARY_PATH="$prefix/lib" "$TMP/prog" "$P" shared; out_is "installed ok v1 (shared)"
# Statically, from libshmbus.a.
# shellcheck disable=SC2046
expect_rc 0 cc "${CCFLAGS[@]}" -std=c11 -o "$TMP/prog_static" "$TMP/prog.c" $(pkg-config --cflags shmbus) "$prefix/lib/libshmbus.a"
expect_rc 0 "$TMP/prog_static" "$P" static; out_is "installed ok v2 (static)"
if ldd "$TMP/prog_static" | grep -q libshmbus; then fail "static program needs libshmbus.so"; else pass; fi
# Only the public API is exported by the shared library.
if nm -D --defined-only "$prefix/lib/libshmbus.so" | grep -q ' shmbus__'; then fail "internal symbols exported"; else pass; fi

# --uninstall removes it all again.
expect_rc 0 "$R/tools/install_files.sh" --prefix "$prefix" --uninstall "${files[@]}"
left=$(find "$prefix" -type f -o -type l)
if [ -z "$left" ]; then pass; else fail "left after uninstall: $left"; fi
finish
