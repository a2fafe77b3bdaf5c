#!/usr/bin/env bash
# The CMake package: install the Bazel-built artifacts into a temporary prefix with
# tools/install_files.sh, then a project outside the tree (tests/tools/cmake_consumer) finds it
# with find_package(shmbus MAJOR.MINOR REQUIRED) and builds and runs a C and a C++ program,
# against shmbus::shmbus (shared) and shmbus::shmbus_static. Refused versions are refused.
# The "types" component: find_package(shmbus MAJOR.MINOR REQUIRED COMPONENTS types) and a C
# program on shmbus::types that publishes and reads a typed record (cmake_consumer/types); a
# prefix without the typed-records library refuses the component.
# $1: extra compiler flags (the sanitizer the artifacts were built with, if any).
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"
R=$RUNFILES
flags=${1:-}
prefix=$TMP/prefix
v=$("$R/tools/package-deb.sh" --print-version "$R/core/shmbus.h")
major=${v%%.*} minor=${v#*.}; minor=${minor%%.*}
files=("$R/tools/shmpub" "$R/tools/shmsub" "$R/tools/shmbus" "$R/tools/libshmbus.so"
       "$R/core/libshmbus.a" "$R/core/shmbus.h" "$R/cpp/shmbus.hpp" "$R"/docs/man/*.1
       "$R/types/libshmbus_types.so" "$R/types/shmbus_types.h")
expect_rc 0 "$R/tools/install_files.sh" --prefix "$prefix" "${files[@]}"

# The project is copied out of the runfiles: CMake wants to own its source tree's neighbours.
cp -rL "$R/tests/tools/cmake_consumer" "$TMP/src"
expect_rc 0 cmake -S "$TMP/src" -B "$TMP/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DSHMBUS_WANT="$major.$minor" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags"
out_has "found shmbus $v in $prefix/lib/cmake/shmbus"
expect_rc 0 cmake --build "$TMP/build" -j 2
newbus A; newbus B; newbus C; newbus D
expect_rc 0 "$TMP/build/c_shared" "$A" shared; out_is "from C (shared)"
expect_rc 0 "$TMP/build/c_static" "$B" static; out_is "from C (static)"
expect_rc 0 "$TMP/build/cpp_shared" "$C" shared; out_is "from C++ 1.5 2.5 7 (shared, shmbus $v)"
expect_rc 0 "$TMP/build/cpp_static" "$D" static; out_is "from C++ 1.5 2.5 7 (static, shmbus $v)"
for p in c_shared cpp_shared; do
  expect_rc 0 ldd "$TMP/build/$p"; out_has "libshmbus.so.$major => $prefix/lib/libshmbus.so.$major"
done
for p in c_static cpp_static; do
  if ldd "$TMP/build/$p" | grep -q libshmbus; then fail "$p needs libshmbus.so"; else pass; fi
done

# The types component: a typed bus from a C program linked with shmbus::types (which brings
# shmbus::shmbus), run from its build tree (CMake's RPATH finds the prefix's libraries).
expect_rc 0 cmake -S "$TMP/src/types" -B "$TMP/build-types" -DCMAKE_PREFIX_PATH="$prefix" \
  -DSHMBUS_WANT="$major.$minor" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags"
out_has "found shmbus $v with types in $prefix/lib/cmake/shmbus"
expect_rc 0 cmake --build "$TMP/build-types" -j 2
newbus E
expect_rc 0 "$TMP/build-types/typed" "$E" cmake
out_is 'demo::Point v1 {"x":1.5,"y":-2,"n":7,"mode":"RUN","name":"pt"} (cmake)
-22 IDL: line 1, column 19: syntax error'
err_empty
expect_rc 0 ldd "$TMP/build-types/typed"
out_has "libshmbus_types.so.$major => $prefix/lib/libshmbus_types.so.$major"
out_has "libshmbus.so.$major => $prefix/lib/libshmbus.so.$major"
# A prefix with libshmbus only: the component is refused, saying what is missing; an unknown
# component too. The package without components is still found there.
expect_rc 0 "$R/tools/install_files.sh" --prefix "$TMP/notypes" "$R/tools/libshmbus.so" "$R/core/shmbus.h"
expect_rc 1 cmake -S "$TMP/src/types" -B "$TMP/build-notypes" -DCMAKE_PREFIX_PATH="$TMP/notypes" -DSHMBUS_WANT="$major.$minor"
err_has "component types: no libshmbus_types\.so\.$v and shmbus_types\.h"
cp -r "$TMP/src/version_probe" "$TMP/src/component_probe"
sed -i 's/REQUIRED)/REQUIRED COMPONENTS nosuch)/' "$TMP/src/component_probe/CMakeLists.txt"
expect_rc 1 cmake -S "$TMP/src/component_probe" -B "$TMP/build-nosuch" -DCMAKE_PREFIX_PATH="$prefix" -DSHMBUS_WANT="$v"
err_has "no component nosuch"
expect_rc 0 cmake -S "$TMP/src/version_probe" -B "$TMP/probe-notypes" -DCMAKE_PREFIX_PATH="$TMP/notypes" -DSHMBUS_WANT="$v"
out_has "found shmbus $v in $TMP/notypes/lib/cmake/shmbus"

# Versions: the same major.minor or older patch is accepted; a newer minor, another major,
# (while 0.x) another minor are refused.
probe() { # probe PREFIX VERSION
  cmake -S "$TMP/src/version_probe" -B "$TMP/probe-$RANDOM" -DCMAKE_PREFIX_PATH="$1" -DSHMBUS_WANT="$2"
}
expect_rc 0 probe "$prefix" "$v"; out_has "found shmbus $v in $prefix/lib/cmake/shmbus"
expect_rc 0 probe "$prefix" "$major"
expect_rc 1 probe "$prefix" "$major.$((minor + 1))"; err_has "$major\.$((minor + 1))"
expect_rc 1 probe "$prefix" "$((major + 1)).0"
if [ "$major" = 0 ] && [ "$minor" -gt 0 ]; then expect_rc 1 probe "$prefix" "0.$((minor - 1))"; fi
# A prefix moved elsewhere still works: the package finds its files relative to itself.
mv "$prefix" "$TMP/moved"
expect_rc 0 probe "$TMP/moved" "$v"; out_has "found shmbus $v in $TMP/moved/lib/cmake/shmbus"
finish
