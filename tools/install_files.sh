#!/usr/bin/env bash
# install_files.sh - copy built shmbus artifacts under a prefix and write shmbus.pc.
#   tools/install_files.sh [--prefix DIR] [--destdir DIR] [--uninstall] FILE...
# Each FILE goes where its name says: *.1 -> share/man/man1, *.h -> include,
# libshmbus.so -> lib/libshmbus.so.VERSION (+ .so.0 and .so links), *.a -> lib, anything else
# (the tools) -> bin. lib/pkgconfig/shmbus.pc is written from the prefix. --destdir stages the
# tree under DIR (packaging); the .pc file still names the real prefix. tools/install.sh builds
# the artifacts and calls this; the install test calls it with Bazel-built files.
set -euo pipefail
version=0.1.0
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
    *.h) echo "include/$b" ;;
    libshmbus.so) echo "lib/libshmbus.so.$version" ;;
    *.a) echo "lib/$b" ;;
    *) echo "bin/$b" ;;
  esac
}

if ((uninstall)); then
  for f in "${files[@]}"; do rm -f "$root/$(dest_of "$f")"; done
  rm -f "$root/lib/libshmbus.so" "$root/lib/libshmbus.so.0" "$root/lib/pkgconfig/shmbus.pc"
  echo "removed shmbus from $root"
  exit 0
fi

for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "install_files.sh: no such file '$f' (build it first)" >&2; exit 1; }
  d=$(dest_of "$f")
  case $d in bin/*|lib/*.so.*) mode=0755 ;; *) mode=0644 ;; esac
  install -D -m "$mode" "$f" "$root/$d"
  echo "installed $prefix/$d"
done
if [ -f "$root/lib/libshmbus.so.$version" ]; then
  ln -sfn "libshmbus.so.$version" "$root/lib/libshmbus.so.0"
  ln -sfn "libshmbus.so.0" "$root/lib/libshmbus.so"
fi
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
