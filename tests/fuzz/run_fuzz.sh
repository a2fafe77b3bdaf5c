#!/usr/bin/env bash
# run_fuzz.sh TARGET MINUTES [libFuzzer flags...] - fuzz one target with libFuzzer + ASan + UBSan.
#
#   tests/fuzz/run_fuzz.sh segment 5     # target 1: a reader opening arbitrary objects
#   tests/fuzz/run_fuzz.sh records 5     # target 2: the record path over arbitrary slots
#   tests/fuzz/run_fuzz.sh tools 5       # target 3: the tools' argument and input parsing
#   tests/fuzz/run_fuzz.sh mcap 5        # target 4: the MCAP reader over arbitrary files
#   tests/fuzz/run_fuzz.sh types_idl 5   # target 5: IDL schemas (types/, Cyclone's parser)
#   tests/fuzz/run_fuzz.sh types_json 5  # target 6: JSON into a rich typed record (types/)
#   tests/fuzz/run_fuzz.sh serve 5       # target 7: shmbus serve's client messages
#   tests/fuzz/run_fuzz.sh types_cdr 5   # target 8: CDR into a rich typed record (types/)
#
# Builds outside Bazel (Bazel's toolchain here is gcc; libFuzzer needs clang): the core's C
# sources plus tests/fuzz/fuzz_TARGET.c, with clang -fsanitize=fuzzer,address,undefined. Starts
# from a copy of the checked-in corpus tests/fuzz/corpus/TARGET/ (new inputs go to the work
# directory, not into the source tree) and writes crashes, hangs and the log there. Exit status:
# 0 when nothing was found. To keep a new input as a seed, copy it from the work directory's
# corpus into tests/fuzz/corpus/TARGET/ (keep the corpus small: < 100 files, < 1 MiB).
# Needs clang and libclang-rt-14-dev (the libFuzzer runtime).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 segment|records|tools|mcap|types_idl|types_json|serve|types_cdr MINUTES [libFuzzer flags...]" >&2
  exit 2
fi
target=$1 minutes=$2
shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
src="$root/tests/fuzz/fuzz_$target.c"
if [ ! -f "$src" ]; then
  echo "run_fuzz.sh: no target '$target' (there are segment, records, tools, mcap, types_idl, types_json, serve and types_cdr)" >&2
  exit 2
fi
CC=${CC:-$(command -v clang || command -v clang-14 || true)}
if [ -z "$CC" ]; then
  echo "run_fuzz.sh: clang not found; install the Debian packages clang and libclang-rt-14-dev" >&2
  exit 2
fi
work=${FUZZ_WORKDIR:-$(mktemp -d /tmp/shmbus-fuzz-$target.XXXXXX)}
mkdir -p "$work/corpus"
cp "$root/tests/fuzz/corpus/$target/"* "$work/corpus/" 2>/dev/null || true

# The sources of //core:shmbus: the SRCS list of core/BUILD.
core_srcs=$(sed -n '/^SRCS = \[/,/^\]/p' "$root/core/BUILD" | grep -o '"[A-Za-z0-9_]*\.c"' | tr -d '"')
if [ -z "$core_srcs" ]; then
  echo "run_fuzz.sh: cannot find the SRCS list in core/BUILD" >&2
  exit 2
fi
extra=() flags=()
if [ "$target" = tools ]; then
  # The tools' helpers, and their two argument parsers compiled from the tools' own sources.
  # The tools' typed-bus code (tools/typed.c) brings the typed-records library in.
  extra=("$root/tools/common.c" "$root/tools/format.c" "$root/tools/stats.c"
         "$root/tools/options.c" "$root/tools/typed.c"
         "$root/tests/fuzz/fuzz_tools_args.c" "$root/tests/fuzz/fuzz_tools_args_pub.c"
         $(sed -n '/^SRCS = \[/,/^\]/p' "$root/types/BUILD" | grep -o '"[A-Za-z0-9_]*\.c"' |
           tr -d '"' | sed "s|^|$root/types/|") -lcycloneddsidl -ljansson -lm)
  extra+=(-DFUZZ_TOOLS_FROM_TREE)
  flags=(-close_fd_mask=3)  # the parsers' usage messages would drown libFuzzer's output
fi
if [ "$target" = types_idl ] || [ "$target" = types_json ] || [ "$target" = types_cdr ]; then
  # The typed-records library, Cyclone's IDL parser (cyclonedds-dev) and jansson.
  extra=($(sed -n '/^SRCS = \[/,/^\]/p' "$root/types/BUILD" | grep -o '"[A-Za-z0-9_]*\.c"' |
           tr -d '"' | sed "s|^|$root/types/|") -lcycloneddsidl -ljansson -lm)
fi
if [ "$target" = serve ]; then
  # The protocol state of `shmbus serve` and Debian's jansson (libjansson-dev).
  extra=("$root/serve/hub.c" -ljansson)
fi
if [ "$target" = mcap ]; then
  # The MCAP library and its compressors (Debian zlib1g-dev, libzstd-dev, liblz4-dev).
  extra=("$root/mcap/mcap_reader.c" "$root/mcap/mcap_writer.c" -lzstd -llz4 -lz)
fi
"$CC" -std=c11 -D_GNU_SOURCE -I"$root" -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Wall -Wextra -Werror -pthread \
  $(for f in $core_srcs; do echo "$root/core/$f"; done) "$src" "${extra[@]}" -o "$work/fuzz_$target"

# Objects the target makes are named fuzz-TAG-...: remove whatever a crash left behind, the
# buses' wake pages too (System V segments, found by the key at offset 220 of each header,
# docs/PROTOCOL.md; a crashed target never ran its shmbus_unlink()).
export SHMBUS_FUZZ_TAG="r$$"
remove_leftovers() {
  local f key
  for f in /dev/shm/shmbus.fuzz-"$SHMBUS_FUZZ_TAG"-*; do
    [ -f "$f" ] || continue
    key=$(od -An -t x4 -j 220 -N 4 "$f" 2>/dev/null | tr -d ' ')
    [ -n "$key" ] && [ "$key" != 00000000 ] && ipcrm -M "0x$key" 2>/dev/null
  done
  rm -f /dev/shm/shmbus.fuzz-"$SHMBUS_FUZZ_TAG"-* /dev/shm/shmbus-lock.fuzz-"$SHMBUS_FUZZ_TAG"-*
}
trap remove_leftovers EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
if [ "$target" = types_idl ] || [ "$target" = types_json ] || [ "$target" = types_cdr ]; then
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/fuzz/lsan_cyclone.supp}
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "run_fuzz.sh: fuzzing $target for $minutes min in $work" >&2
rc=0
"$work/fuzz_$target" "$work/corpus" -max_total_time=$((minutes * 60)) -timeout=10 \
  -max_len=20000 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" "${flags[@]}" "$@" \
  2>&1 | tee "$work/fuzz.log" || rc=$?
# (compgen: ls would fail unless every kind of finding were present)
if compgen -G "$work/crash-*" >/dev/null || compgen -G "$work/timeout-*" >/dev/null ||
   compgen -G "$work/oom-*" >/dev/null || compgen -G "$work/leak-*" >/dev/null; then
  echo "run_fuzz.sh: FINDINGS in $work:" >&2
  ls -l "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$work"/leak-* 2>/dev/null >&2 || true
  exit 1
fi
echo "run_fuzz.sh: nothing found ($(ls "$work/corpus" | wc -l) inputs in $work/corpus)" >&2
exit "$rc"
