#!/usr/bin/env bash
# install_files.sh - copy built shmbus artifacts under a prefix and write shmbus.pc and the
# CMake package.
#   tools/install_files.sh [--prefix DIR] [--destdir DIR] [--uninstall] FILE...
# Each FILE goes where its name says: *.1 -> share/man/man1, *.h and *.hpp -> include,
# libshmbus.so -> lib/libshmbus.so.VERSION (+ .so.MAJOR and .so links), likewise
# libshmbus_types.so (the typed-records library, types/), *.a -> lib, anything else (the tools)
# -> bin. lib/pkgconfig/shmbus.pc is written from the prefix;
# lib/cmake/shmbus/shmbusConfig.cmake and shmbusConfigVersion.cmake (imported targets
# shmbus::shmbus and shmbus::shmbus_static) find the prefix from where they lie. With
# libshmbus_types.so and shmbus_types.h among the FILEs, also lib/pkgconfig/shmbus-types.pc and
# lib/cmake/shmbus/shmbus-types.cmake (the component: find_package(shmbus COMPONENTS types),
# target shmbus::types). --destdir
# stages the tree under DIR (packaging); the .pc file still names the real prefix.
# VERSION is SHMBUS_VERSION_STRING of the shmbus.h among the FILEs: the one source of the
# version (docs/PACKAGING.md). tools/install.sh builds the artifacts and calls this; the
# install test calls it with Bazel-built files.
set -euo pipefail
prefix=/usr/local destdir="" uninstall=0 files=()
while (($#)); do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "install_files.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) files+=("$1"); shift ;;
  esac
done
case $prefix in /*) ;; *) echo "install_files.sh: --prefix must be an absolute path, not '$prefix'" >&2; exit 2 ;; esac
root="$destdir$prefix"

dest_of() { # where file $1 goes, relative to the prefix
  local b; b=$(basename "$1")
  case $b in
    *.1) echo "share/man/man1/$b" ;;
    *.h|*.hpp) echo "include/$b" ;;
    libshmbus.so) echo "lib/libshmbus.so.$version" ;;
    libshmbus_types.so) echo "lib/libshmbus_types.so.$version" ;;
    *.a) echo "lib/$b" ;;
    *) echo "bin/$b" ;;
  esac
}

if ((uninstall)); then
  for f in "${files[@]}"; do
    case $f in */libshmbus.so|*/libshmbus_types.so) ;; *) rm -f "$root/$(dest_of "$f")" ;; esac
  done
  rm -f "$root"/lib/libshmbus.so "$root"/lib/libshmbus.so.[0-9]* "$root/lib/pkgconfig/shmbus.pc"
  rm -f "$root"/lib/libshmbus_types.so "$root"/lib/libshmbus_types.so.[0-9]* "$root/lib/pkgconfig/shmbus-types.pc"
  rm -rf "$root/lib/cmake/shmbus"
  echo "removed shmbus from $root"
  exit 0
fi

header="" types_lib=0 types_header=0
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "install_files.sh: no such file '$f' (build it first)" >&2; exit 1; }
  case $(basename "$f") in
    shmbus.h) header=$f ;;
    libshmbus_types.so) types_lib=1 ;;
    shmbus_types.h) types_header=1 ;;
  esac
done
if ((types_lib != types_header)); then
  echo "install_files.sh: libshmbus_types.so and shmbus_types.h go together (the typed-records library)" >&2
  exit 1
fi
[ -n "$header" ] || { echo "install_files.sh: shmbus.h must be among the files (it holds the version)" >&2; exit 1; }
version=$(sed -n 's/^#define SHMBUS_VERSION_STRING "\([0-9]*\.[0-9]*\.[0-9]*\)"$/\1/p' "$header")
[ -n "$version" ] || { echo "install_files.sh: no SHMBUS_VERSION_STRING \"X.Y.Z\" in $header" >&2; exit 1; }
major=${version%%.*} minor=${version#*.}; minor=${minor%%.*}

for f in "${files[@]}"; do
  d=$(dest_of "$f")
  case $d in bin/*|lib/*.so.*) mode=0755 ;; *) mode=0644 ;; esac
  install -D -m "$mode" "$f" "$root/$d"
  echo "installed $prefix/$d"
done
for l in libshmbus libshmbus_types; do
  if [ -f "$root/lib/$l.so.$version" ]; then
    ln -sfn "$l.so.$version" "$root/lib/$l.so.$major"
    ln -sfn "$l.so.$major" "$root/lib/$l.so"
  fi
done
mkdir -p "$root/lib/pkgconfig"
cat > "$root/lib/pkgconfig/shmbus.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: shmbus
Description: publish/subscribe broadcast bus over POSIX shared memory
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lshmbus
PC
echo "installed $prefix/lib/pkgconfig/shmbus.pc"

# The CMake package: relocatable (the prefix is three levels above this file), so a staged
# tree (--destdir, the .deb) and a moved prefix work alike.
cmakedir="$root/lib/cmake/shmbus"
mkdir -p "$cmakedir"
cat > "$cmakedir/shmbusConfig.cmake" <<CMAKE
# shmbusConfig.cmake - find_package(shmbus) for shmbus $version (written by install_files.sh).
# Imported targets:
#   shmbus::shmbus         the shared library (libshmbus.so.$major) with <shmbus.h> and <shmbus.hpp>
#   shmbus::shmbus_static  the static library (libshmbus.a), the same headers
# <shmbus.hpp> (the C++ binding) needs C++17. Variables: shmbus_VERSION, shmbus_INCLUDE_DIR.
get_filename_component(_shmbus_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(shmbus_INCLUDE_DIR "\${_shmbus_prefix}/include")
include(CMakeFindDependencyMacro)
find_dependency(Threads)
if(NOT TARGET shmbus::shmbus AND EXISTS "\${_shmbus_prefix}/lib/libshmbus.so.$version")
  add_library(shmbus::shmbus SHARED IMPORTED)
  set_target_properties(shmbus::shmbus PROPERTIES
    IMPORTED_LOCATION "\${_shmbus_prefix}/lib/libshmbus.so.$version"
    IMPORTED_SONAME "libshmbus.so.$major"
    INTERFACE_INCLUDE_DIRECTORIES "\${shmbus_INCLUDE_DIR}")
endif()
if(NOT TARGET shmbus::shmbus_static AND EXISTS "\${_shmbus_prefix}/lib/libshmbus.a")
  add_library(shmbus::shmbus_static STATIC IMPORTED)
  set_target_properties(shmbus::shmbus_static PROPERTIES
    IMPORTED_LOCATION "\${_shmbus_prefix}/lib/libshmbus.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "\${shmbus_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "Threads::Threads")
endif()
if(NOT TARGET shmbus::shmbus AND NOT TARGET shmbus::shmbus_static)
  set(shmbus_FOUND FALSE)
  set(shmbus_NOT_FOUND_MESSAGE "neither libshmbus.so.$version nor libshmbus.a in \${_shmbus_prefix}/lib")
endif()
# Components: "types" (shmbus::types, the typed-records library <shmbus_types.h>) is defined by
# shmbus-types.cmake, installed with libshmbus_types.so (Debian: libshmbus-types-dev).
include("\${CMAKE_CURRENT_LIST_DIR}/shmbus-types.cmake" OPTIONAL)
foreach(_shmbus_c IN LISTS shmbus_FIND_COMPONENTS)
  if(_shmbus_c STREQUAL "types" AND TARGET shmbus::types)
    set(shmbus_types_FOUND TRUE)
  else()
    set(shmbus_\${_shmbus_c}_FOUND FALSE)
    if(shmbus_FIND_REQUIRED_\${_shmbus_c})
      set(shmbus_FOUND FALSE)
      if(_shmbus_c STREQUAL "types")
        set(shmbus_NOT_FOUND_MESSAGE "component types: no libshmbus_types.so.$version and shmbus_types.h in \${_shmbus_prefix} (install libshmbus-types-dev)")
      else()
        set(shmbus_NOT_FOUND_MESSAGE "no component \${_shmbus_c} (shmbus has: types)")
      endif()
    endif()
  endif()
endforeach()
unset(_shmbus_c)
unset(_shmbus_prefix)
CMAKE
cat > "$cmakedir/shmbusConfigVersion.cmake" <<CMAKE
# shmbusConfigVersion.cmake - shmbus $version. Compatible with a request for the same major
# version that is not newer; while the major version is 0, the minor version must match too
# (0.x minor releases may change the API; see docs/PACKAGING.md).
set(PACKAGE_VERSION "$version")
if(PACKAGE_FIND_VERSION_MAJOR STREQUAL "$major" AND
   (NOT "$major" STREQUAL "0" OR PACKAGE_FIND_VERSION_COUNT EQUAL 1 OR
    PACKAGE_FIND_VERSION_MINOR STREQUAL "$minor") AND
   NOT PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
else()
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()
if(CMAKE_SIZEOF_VOID_P AND NOT CMAKE_SIZEOF_VOID_P STREQUAL "8")
  set(PACKAGE_VERSION "\${PACKAGE_VERSION} (64-bit)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
CMAKE
echo "installed $prefix/lib/cmake/shmbus/shmbusConfig.cmake, shmbusConfigVersion.cmake"
((types_lib)) || exit 0

# The typed-records library (types/): shmbus-types.pc and the CMake component. It needs
# libshmbus to publish and read (Requires), and links jansson and Cyclone DDS's IDL library
# (libcycloneddsidl, Debian cyclonedds-dev: no .pc of its own) itself.
cat > "$root/lib/pkgconfig/shmbus-types.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: shmbus-types
Description: typed records for shmbus: OMG IDL schemas, C-struct records to and from JSON, text and CDR
Version: $version
Requires: shmbus = $version
Requires.private: jansson
Cflags: -I\${includedir}
Libs: -L\${libdir} -lshmbus_types
Libs.private: -lcycloneddsidl -lm
PC
echo "installed $prefix/lib/pkgconfig/shmbus-types.pc"
cat > "$cmakedir/shmbus-types.cmake" <<CMAKE
# shmbus-types.cmake - the "types" component of find_package(shmbus) for shmbus $version
# (written by install_files.sh; included by shmbusConfig.cmake). Imported target:
#   shmbus::types  the typed-records library (libshmbus_types.so.$major) with <shmbus_types.h>;
#                  links shmbus::shmbus.
get_filename_component(_shmbus_types_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET shmbus::types AND TARGET shmbus::shmbus AND
   EXISTS "\${_shmbus_types_prefix}/lib/libshmbus_types.so.$version" AND
   EXISTS "\${_shmbus_types_prefix}/include/shmbus_types.h")
  add_library(shmbus::types SHARED IMPORTED)
  set_target_properties(shmbus::types PROPERTIES
    IMPORTED_LOCATION "\${_shmbus_types_prefix}/lib/libshmbus_types.so.$version"
    IMPORTED_SONAME "libshmbus_types.so.$major"
    INTERFACE_INCLUDE_DIRECTORIES "\${_shmbus_types_prefix}/include"
    INTERFACE_LINK_LIBRARIES "shmbus::shmbus")
endif()
unset(_shmbus_types_prefix)
CMAKE
echo "installed $prefix/lib/cmake/shmbus/shmbus-types.cmake"
