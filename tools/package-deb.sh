#!/usr/bin/env bash
# package-deb.sh - build shmbus's Debian packages with dpkg-deb:
#   tools/package-deb.sh [--out DIR] [--revision N]      build optimised with Bazel, then package
#   tools/package-deb.sh [--out DIR] [--revision N] --files FILE...   package these built files
#   tools/package-deb.sh --print-version [SHMBUS_H]      the version the packages get
# Makes five packages in DIR (default: the current directory), for this machine's architecture:
#   libshmbus0      the shared library (/usr/lib/libshmbus.so.0, soname libshmbus.so.0)
#   libshmbus-dev   shmbus.h, shmbus.hpp, libshmbus.a, the .so link, pkg-config and CMake files
#   shmbus-tools    shmpub, shmsub, shmbus and their man pages
#   libshmbus-types0     the typed-records library (/usr/lib/libshmbus_types.so.0, types/)
#   libshmbus-types-dev  shmbus_types.h, the .so link, shmbus-types.pc, the CMake component
# (the last two only when libshmbus_types.so and shmbus_types.h are among the --files).
# The version is SHMBUS_VERSION_STRING of core/shmbus.h (the one source; docs/PACKAGING.md),
# with Debian revision N (default 1). The tree is staged by tools/install_files.sh
# --prefix /usr --destdir, ELF files are stripped, dependencies come from dpkg-shlibdeps, and
# every file is owned by root (dpkg-deb --root-owner-group): no fakeroot needed. Check them
# with: lintian --fail-on error *.deb. --files takes what tools/install.sh would install (the
# tools, libshmbus.so, libshmbus.a, shmbus.h, shmbus.hpp, the man pages, libshmbus_types.so,
# shmbus_types.h).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$PWD revision=1 files=() print_version=0
while (($#)); do
  case $1 in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --revision) revision=${2:?--revision needs a number}; shift 2 ;;
    --files) shift; files=("$@"); break ;;
    --print-version) print_version=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "package-deb.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) [ "$print_version" -eq 1 ] && { files=("$1"); shift; continue; }
       echo "package-deb.sh: unexpected argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

case $out in /*) ;; *) out=$PWD/$out ;; esac
license=$here/../LICENSE
version_of() { sed -n 's/^#define SHMBUS_VERSION_STRING "\([0-9]*\.[0-9]*\.[0-9]*\)"$/\1/p' "$1"; }
if ((print_version)); then
  version_of "${files[0]:-$here/../core/shmbus.h}"
  exit 0
fi
[[ $revision =~ ^[0-9]+$ ]] || { echo "package-deb.sh: --revision must be a number" >&2; exit 2; }
[ -f "$license" ] || { echo "package-deb.sh: no $license (the copyright files quote it)" >&2; exit 1; }
for t in dpkg-deb dpkg-shlibdeps strip objdump; do
  command -v "$t" >/dev/null || { echo "package-deb.sh: needs $t (Debian: dpkg-dev, binutils)" >&2; exit 1; }
done

if ((${#files[@]} == 0)); then
  cd "$here/.."
  targets=(//tools:shmpub //tools:shmsub //tools:shmbus //tools:libshmbus.so //tools:libshmbus_a
           //types:libshmbus_types.so)
  echo "package-deb: building ${targets[*]} (bazel build --config=opt)" >&2
  bazel build --config=opt "${targets[@]}"
  bin=$(bazel info --config=opt bazel-bin 2>/dev/null)
  files=("$bin/tools/shmpub" "$bin/tools/shmsub" "$bin/tools/shmbus" "$bin/tools/libshmbus.so"
         "$bin/core/libshmbus.a" core/shmbus.h cpp/shmbus.hpp docs/man/shmpub.1 docs/man/shmsub.1
         docs/man/shmbus.1 "$bin/types/libshmbus_types.so" types/shmbus_types.h)
fi
header="" types=0
for f in "${files[@]}"; do
  case $(basename "$f") in
    shmbus.h) header=$f ;;
    libshmbus_types.so) types=1 ;;
  esac
done
[ -n "$header" ] || { echo "package-deb.sh: shmbus.h must be among the files" >&2; exit 1; }
upstream=$(version_of "$header")
[ -n "$upstream" ] || { echo "package-deb.sh: no version in $header" >&2; exit 1; }
major=${upstream%%.*}
version=$upstream-$revision
arch=$(dpkg --print-architecture)
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
umask 022
stage=$work/stage
"$here/install_files.sh" --prefix /usr --destdir "$stage" "${files[@]}" >/dev/null

maintainer="shmbus maintainers <maintainers@users.noreply.r-seed-9fcfad42.example>"
date_r=$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(stat -c %Y "$header")}")

# pkg NAME - an empty package tree with its copyright and changelog.
pkg() {
  local d=$work/$1
  mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$1"
  {
    echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    echo "Upstream-Name: shmbus"
    echo
    echo "Files: *"
    echo "Copyright: 2026 The shmbus authors"
    echo "License: Expat"
    echo
    echo "License: Expat"
    sed -n '/^Permission/,$p' "$license" | sed 's/^$/./; s/^/ /'
  } >"$d/usr/share/doc/$1/copyright"
  printf 'shmbus (%s) unstable; urgency=medium\n\n  * Package %s from the shmbus tree (tools/package-deb.sh).\n\n -- %s  %s\n' \
    "$version" "$upstream" "$maintainer" "$date_r" | gzip -9n >"$d/usr/share/doc/$1/changelog.Debian.gz"
}
# mv_from_stage PKG PATH... - move staged paths into a package.
mv_from_stage() {
  local p=$1 f
  shift
  for f in "$@"; do
    mkdir -p "$work/$p/$(dirname "$f")"
    mv "$stage/$f" "$work/$p/$f"
  done
}
# control PKG SECTION DEPENDS DESCRIPTION LONG - write DEBIAN/control and md5sums.
control() {
  local d=$work/$1 size
  size=$(du -k -s --exclude=DEBIAN "$d" | cut -f1)
  {
    echo "Package: $1"
    echo "Source: shmbus"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: $maintainer"
    echo "Installed-Size: $size"
    [ -n "$3" ] && echo "Depends: $3"
    echo "Section: $2"
    echo "Priority: optional"
    echo "Description: $4"
    echo "$5" | fold -s -w 72 | sed 's/ *$//; s/^/ /; s/^ $/ ./'
  } >"$d/DEBIAN/control"
  (cd "$d" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$d/DEBIAN/md5sums"
}
# shlibdeps FILE... - the Depends line dpkg-shlibdeps computes for these ELF files.
shlibdeps() {
  mkdir -p "$work/src/debian"
  printf 'Source: shmbus\n\nPackage: shmbus\nArchitecture: any\n' >"$work/src/debian/control"
  (cd "$work/src" && dpkg-shlibdeps -O -l"$work/libshmbus$major/usr/lib" "$@" 2>/dev/null) |
    sed -n 's/^shlibs:Depends=//p'
}
long="shmbus is a publish/subscribe broadcast bus over POSIX shared memory: one writer per bus \
publishes versioned records into a ring of seqlocked slots; any number of readers, in any \
process, copy out consistent snapshots and sleep on a futex until a newer one exists."

lib=libshmbus$major
pkg "$lib"
mv_from_stage "$lib" "usr/lib/libshmbus.so.$upstream" "usr/lib/libshmbus.so.$major"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$work/$lib/usr/lib/libshmbus.so.$upstream"
chmod 0644 "$work/$lib/usr/lib/libshmbus.so.$upstream"
echo "libshmbus $major $lib (>= $upstream)" >"$work/$lib/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$work/$lib/DEBIAN/triggers"
chmod 0644 "$work/$lib/DEBIAN/shlibs" "$work/$lib/DEBIAN/triggers"
control "$lib" libs "$(shlibdeps "$work/$lib/usr/lib/libshmbus.so.$upstream")" \
  "shared-memory broadcast bus - shared library" "$long

This package holds the shared library."

# The typed-records library, taken out of the stage before libshmbus-dev takes the rest of
# usr/include and usr/lib/pkgconfig, usr/lib/cmake.
tlib=libshmbus-types$major tdev=libshmbus-types-dev
if ((types)); then
  pkg "$tlib"
  mv_from_stage "$tlib" "usr/lib/libshmbus_types.so.$upstream" "usr/lib/libshmbus_types.so.$major"
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$work/$tlib/usr/lib/libshmbus_types.so.$upstream"
  chmod 0644 "$work/$tlib/usr/lib/libshmbus_types.so.$upstream"
  echo "libshmbus_types $major $tlib (>= $upstream)" >"$work/$tlib/DEBIAN/shlibs"
  echo "activate-noawait ldconfig" >"$work/$tlib/DEBIAN/triggers"
  chmod 0644 "$work/$tlib/DEBIAN/shlibs" "$work/$tlib/DEBIAN/triggers"
  control "$tlib" libs "$(shlibdeps "$work/$tlib/usr/lib/libshmbus_types.so.$upstream")" \
    "shared-memory broadcast bus - typed records library" "$long

This package holds the typed-records library: OMG IDL schemas (parsed by Cyclone DDS's IDL \
library), C-struct records to and from JSON, text and CDR."

  pkg "$tdev"
  mv_from_stage "$tdev" usr/include/shmbus_types.h usr/lib/libshmbus_types.so \
    usr/lib/pkgconfig/shmbus-types.pc usr/lib/cmake/shmbus/shmbus-types.cmake
  # shmbus-types.pc: Requires shmbus (libshmbus-dev), Requires.private jansson (libjansson-dev),
  # Libs.private -lcycloneddsidl (cyclonedds-dev, which also has the idlc headers' dds/dds.h).
  control "$tdev" libdevel "$tlib (= $version), libshmbus-dev (= $version), libjansson-dev, cyclonedds-dev" \
    "shared-memory broadcast bus - typed records development files" "$long

This package holds the C header shmbus_types.h of the typed-records library, the .so link, \
and the pkg-config (shmbus-types) and CMake (find_package(shmbus COMPONENTS types)) files."
fi

dev=libshmbus-dev
pkg "$dev"
mv_from_stage "$dev" usr/include usr/lib/libshmbus.so usr/lib/libshmbus.a usr/lib/pkgconfig usr/lib/cmake
strip --strip-debug --enable-deterministic-archives "$work/$dev/usr/lib/libshmbus.a"
control "$dev" libdevel "$lib (= $version)" \
  "shared-memory broadcast bus - development files" "$long

This package holds the C header shmbus.h, the header-only C++17 binding shmbus.hpp, the \
static library, and the pkg-config and CMake (find_package(shmbus)) files."

tools=shmbus-tools
pkg "$tools"
mv_from_stage "$tools" usr/bin usr/share/man
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$work/$tools"/usr/bin/*
gzip -9n "$work/$tools"/usr/share/man/man1/*.1
control "$tools" utils "$(shlibdeps "$work/$tools"/usr/bin/*)" \
  "shared-memory broadcast bus - command-line tools" "$long

This package holds shmpub (publish records from the command line or stdin), shmsub \
(subscribe: print, count, measure rate and latency) and shmbus (list, inspect and remove \
buses)."

left=$(cd "$stage" && find . ! -type d)
[ -z "$left" ] || { echo "package-deb.sh: staged files in no package: $left" >&2; exit 1; }
pkgs=("$lib" "$dev" "$tools")
((types)) && pkgs+=("$tlib" "$tdev")
for p in "${pkgs[@]}"; do
  find "$work/$p" -type d -exec chmod 0755 {} +
  dpkg-deb --root-owner-group -Zxz --build "$work/$p" "$out/${p}_${version}_$arch.deb" >/dev/null
  echo "$out/${p}_${version}_$arch.deb"
done
