#!/usr/bin/env bash
# bench/run.sh - build and run shmbus's benchmark suite, then plot it.
#   bench/run.sh [--quick | --full] [more shmbus_bench flags...]
# Quick (default): about a minute. Full: 100k samples per configuration, under 15 minutes.
# Leaves in bench/out/ (git-ignored): results.md (the table also printed on stdout),
# results.csv, plot.dat, latency.png, syscalls.txt, and from the fan-out group (issue 20;
# up to 256 sleeping reader processes, run by shmbus_bench_testing) fanout.dat, fanout.png
# and bench/out/fanout/ (its own results, whose rows are appended to results.csv/.md).
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"

for tool in bazel gnuplot; do
  if ! command -v "$tool" >/dev/null; then
    echo "run.sh: $tool is missing; install it (Debian: bazel-bootstrap, gnuplot-nox) and run again" >&2
    exit 1
  fi
done
bazel build --config=opt //bench:shmbus_bench //bench:shmbus_bench_testing >&2
bin=bazel-bin/bench/shmbus_bench
bin_testing=bazel-bin/bench/shmbus_bench_testing

# The suite itself: table on stdout (and results.md), CSV and plot data in $out.
rc=0
"$bin" --out "$out" "$@" || rc=$?

# The fan-out group (waking N sleeping readers, old design against new) needs the library's
# test hook, so the testing build runs it; unless --only leaves it out. Its CSV rows and its
# tables join the suite's.
fanout=1
for ((i = 1; i <= $#; i++)); do
  a=${!i}
  case "$a" in
    --only=*) [[ ",${a#--only=}," == *,fanout,* ]] || fanout=0 ;;
    --only) j=$((i + 1)); [[ ",${!j:-}," == *,fanout,* ]] || fanout=0 ;;
  esac
done
if [ "$fanout" = 1 ]; then
  rm -rf "$out/fanout"
  if "$bin_testing" --out "$out/fanout" "$@" --only fanout > /dev/null; then
    tail -n +2 "$out/fanout/results.csv" >> "$out/results.csv"
    sed -n '/^### Waking N sleeping readers/,/^### Targets (this run)/p' "$out/fanout/results.md" |
      sed '$d' | tee -a "$out/results.md"
    cp "$out/fanout/fanout.dat" "$out/fanout.dat"
    gnuplot -e "dat='$out/fanout.dat'; png='$out/fanout.png'" bench/fanout.gp
  else
    rc=1
  fi
fi

# A second, independent witness that publish makes no syscall without sleeping readers:
# count syscalls of whole processes that publish 1000 and 1001000 records; the difference is
# what one million publishes cost. strace -c -f counts every syscall of the process tree.
{
  echo "System calls of 'shmbus_bench --publish-only N' (64 B records, no reader), whole process:"
  if command -v strace >/dev/null; then
    for n in 1000 1001000; do
      total=$(strace -f -c -o /dev/stdout "$bin" --publish-only "$n" --size 64 2>/dev/null |
              awk '$NF == "total" {print $(NF-2)}')
      echo "  strace -c -f, N=$n: ${total:-?} syscalls"
    done
    echo "Equal counts for N=1000 and N=1001000 mean one million publishes made no syscall."
  else
    echo "  strace is not installed (Debian: strace); the in-run perf count is in results.md."
  fi
} > "$out/syscalls.txt" 2>&1 || true
cat "$out/syscalls.txt" >&2

gnuplot -e "dat='$out/plot.dat'; png='$out/latency.png'" bench/plot.gp
echo "run.sh: wrote $out/results.md, $out/results.csv, $out/latency.png, $out/syscalls.txt" \
  "$([ "$fanout" = 1 ] && echo "$out/fanout.png")" >&2
exit "$rc"
