#!/usr/bin/env bash
# Install the Bazel-built artifacts into a temporary prefix with tools/install_files.sh (what
# tools/install.sh runs after building), then build and run a small C program against it with
# cc $(pkg-config --cflags --libs shmbus), dynamically and statically; and a typed-bus program
# against the typed-records library with cc $(pkg-config --cflags --libs shmbus-types).
# $1: extra cc flags (the sanitizer the artifacts were built with, if any).
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"
R=$RUNFILES
read -r -a CCFLAGS <<<"${1:-}"
prefix=$TMP/prefix
files=("$R/tools/shmpub" "$R/tools/shmsub" "$R/tools/shmbus" "$R/tools/libshmbus.so"
       "$R/core/libshmbus.a" "$R/core/shmbus.h" "$R/cpp/shmbus.hpp" "$R"/docs/man/*.1
       "$R/types/libshmbus_types.so" "$R/types/shmbus_types.h")
expect_rc 0 "$R/tools/install_files.sh" --prefix "$prefix" "${files[@]}"
for f in bin/shmpub bin/shmsub bin/shmbus include/shmbus.h include/shmbus.hpp lib/libshmbus.a \
         lib/libshmbus.so.0.1.0 share/man/man1/shmpub.1 share/man/man1/shmsub.1 share/man/man1/shmbus.1 \
         lib/pkgconfig/shmbus.pc lib/cmake/shmbus/shmbusConfig.cmake lib/cmake/shmbus/shmbusConfigVersion.cmake \
         include/shmbus_types.h lib/libshmbus_types.so.0.1.0 lib/pkgconfig/shmbus-types.pc \
         lib/cmake/shmbus/shmbus-types.cmake; do
  if [ -f "$prefix/$f" ]; then pass; else fail "not installed: $f"; fi
done
if [ "$(readlink "$prefix/lib/libshmbus.so")" = libshmbus.so.0 ] &&
   [ "$(readlink "$prefix/lib/libshmbus.so.0")" = libshmbus.so.0.1.0 ]; then pass; else fail "so links"; fi
if [ "$(readlink "$prefix/lib/libshmbus_types.so")" = libshmbus_types.so.0 ] &&
   [ "$(readlink "$prefix/lib/libshmbus_types.so.0")" = libshmbus_types.so.0.1.0 ]; then pass; else fail "types so links"; fi
if [ -x "$prefix/bin/shmsub" ] && [ ! -x "$prefix/include/shmbus.h" ]; then pass; else fail "modes"; fi
expect_rc 0 "$prefix/bin/shmbus" --version; out_has '^shmbus \(shmbus\) 0\.1\.0$'
if command -v man >/dev/null; then
  expect_rc 0 env MANWIDTH=80 man -l "$prefix/share/man/man1/shmsub.1"; out_has 'EXIT STATUS'
fi
expect_rc 2 "$R/tools/install_files.sh" --prefix relative/dir "${files[@]}"; err_has 'absolute path'
expect_rc 1 "$R/tools/install_files.sh" --prefix "$prefix" /no/such/artifact; err_has "no such file"
expect_rc 1 "$R/tools/install_files.sh" --destdir "$TMP/nohdr" "$R/tools/shmpub"; err_has "shmbus.h must be among"
expect_rc 1 "$R/tools/install_files.sh" --destdir "$TMP/notypeshdr" "$R/core/shmbus.h" "$R/types/libshmbus_types.so"
err_has "libshmbus_types.so and shmbus_types.h go together"

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

# The typed-records library: a program outside the tree parses an IDL schema, publishes a
# record from JSON on a typed bus, reads it back and prints it as JSON (with the schema the bus
# carries); Cyclone's message for a broken schema is captured by the library (idl_log.c's
# functions take the place of libcycloneddsidl's through the shared library too: stderr stays
# empty).
expect_rc 0 pkg-config --modversion shmbus-types; out_is 0.1.0
expect_rc 0 pkg-config --cflags --libs shmbus-types
out_has "^-I$prefix/include -L$prefix/lib -lshmbus_types -lshmbus *$"
expect_rc 0 pkg-config --print-requires-private shmbus-types; out_is jansson
expect_rc 0 objdump -p "$prefix/lib/libshmbus_types.so"; out_has 'SONAME +libshmbus_types\.so\.0$'
out_has 'NEEDED +libcycloneddsidl\.so\.0$'; out_has 'NEEDED +libjansson\.so\.4$'
if nm -D --defined-only "$prefix/lib/libshmbus_types.so" | grep -v ' shmbus_type_\| idl_\(v\?error\|warning\)@' | grep -q ' [TDB] '; then
  fail "libshmbus_types.so exports more than shmbus_type_* and Cyclone's message functions"; else pass; fi
cp "$R/tests/tools/cmake_consumer/typed.c" "$TMP/typed.c"
newbus T
# shellcheck disable=SC2046
expect_rc 0 cc "${CCFLAGS[@]}" -std=c11 -Wall -Wextra -Werror -o "$TMP/typed" "$TMP/typed.c" $(pkg-config --cflags --libs shmbus-types)
expect_rc 0 env LD_LIBRARY_PATH="$prefix/lib" "$TMP/typed" "$T" pkg-config
out_is 'demo::Point v1 {"x":1.5,"y":-2,"n":7,"mode":"RUN","name":"pt"} (pkg-config)
-22 IDL: line 1, column 19: syntax error'
err_empty
expect_rc 0 env LD_LIBRARY_PATH="$prefix/lib" ldd "$TMP/typed"
out_has "libshmbus_types.so.0 => $prefix/lib/libshmbus_types.so.0"; out_has "libshmbus.so.0 => $prefix/lib/libshmbus.so.0"

# --uninstall removes it all again.
expect_rc 0 "$R/tools/install_files.sh" --prefix "$prefix" --uninstall "${files[@]}"
left=$(find "$prefix" -type f -o -type l)
if [ -z "$left" ]; then pass; else fail "left after uninstall: $left"; fi
finish
