#!/usr/bin/env bash
# install.sh - build shmbus optimised and install it:
#   tools/install.sh [--prefix DIR] [--destdir DIR] [--uninstall]     (default prefix /usr/local)
# Installs bin/shmpub, bin/shmsub, bin/shmbus, their man pages (share/man/man1), include/shmbus.h,
# include/shmbus.hpp (the C++17 binding), lib/libshmbus.a, lib/libshmbus.so (+ .so.0, .so.0.1.0),
# lib/pkgconfig/shmbus.pc and lib/cmake/shmbus/ (shmbusConfig.cmake, shmbusConfigVersion.cmake),
# and the typed-records library: include/shmbus_types.h, lib/libshmbus_types.so (+ .so.0,
# .so.0.1.0), lib/pkgconfig/shmbus-types.pc, lib/cmake/shmbus/shmbus-types.cmake; so that
#   cc prog.c $(pkg-config --cflags --libs shmbus)          (or shmbus-types, for typed records)
# or, in CMake, find_package(shmbus 0.1 REQUIRED) + target_link_libraries(prog shmbus::shmbus)
# (or shmbus::shmbus_static; find_package(shmbus 0.1 REQUIRED COMPONENTS types) + shmbus::types)
# builds a program against it. Builds as the calling user; copies
# with sudo when the prefix is not writable. A prefix other than /usr/local may need PKG_CONFIG_PATH=DIR/lib/pkgconfig,
# CMAKE_PREFIX_PATH=DIR and LD_LIBRARY_PATH=DIR/lib (or link with -static / libshmbus.a).
set -euo pipefail
cd "$(dirname "$0")/.."
args=("$@") prefix=/usr/local destdir=""
while (($#)); do
  case $1 in
    --prefix) prefix=${2:?}; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --destdir) destdir=${2:?}; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) shift ;;
  esac
done
targets=(//tools:shmpub //tools:shmsub //tools:shmbus //tools:libshmbus.so //tools:libshmbus_a
         //types:libshmbus_types.so)
echo "install: building ${targets[*]} (bazel build --config=opt)" >&2
bazel build --config=opt "${targets[@]}"
bin=$(bazel info --config=opt bazel-bin 2>/dev/null)
files=("$bin/tools/shmpub" "$bin/tools/shmsub" "$bin/tools/shmbus" "$bin/tools/libshmbus.so"
       "$bin/core/libshmbus.a" core/shmbus.h cpp/shmbus.hpp docs/man/shmpub.1 docs/man/shmsub.1
       docs/man/shmbus.1 "$bin/types/libshmbus_types.so" types/shmbus_types.h)
SUDO=()
target="$destdir$prefix"
while [ ! -e "$target" ]; do target=$(dirname "$target"); done
if [ ! -w "$target" ] && [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
"${SUDO[@]}" tools/install_files.sh "${args[@]}" "${files[@]}"
# The dynamic linker's cache, for a system prefix.
if [ -z "$destdir" ] && [ "$prefix" = /usr/local ] && [ -x /sbin/ldconfig ]; then
  "${SUDO[@]}" /sbin/ldconfig
fi
