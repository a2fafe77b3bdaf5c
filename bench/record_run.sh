#!/usr/bin/env bash
# bench/record_run.sh - `shmbus record`/`play` under load (issue 15): build, run.
#   bench/record_run.sh [--duration SEC] [more record_bench flags...]
#   bench/record_run.sh --compare-drain MS [--duration SEC] [more record_bench flags...]
# Builds //bench:record_bench and //tools:shmbus with --config=opt and runs the benchmark
# (default 2 s: a smoke run; the README's figures use --duration 60). Leaves
# bench/out/record/{results.md,results.csv,rec.mcap,record.err,play.err}.
# --compare-drain MS: two runs back to back with the same load and duration (no playback), the
# recorder as it is (per-record wakeups) and with `--drain-interval MS`, into
# bench/out/record/{wakeup,drain}/; prints both SUMMARY lines and the ratios drain / wakeup.
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build --config=opt //bench:record_bench //tools:shmbus >&2
BENCH=(bazel-bin/bench/record_bench --shmbus bazel-bin/tools/shmbus)
if [ "${1:-}" != "--compare-drain" ]; then exec "${BENCH[@]}" --out bench/out/record "$@"; fi
ms=${2:?--compare-drain MS}
mkdir -p bench/out/record/wakeup bench/out/record/drain
shift 2
# field KEY LINE - the value of KEY=... in a SUMMARY line
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
wake=$("${BENCH[@]}" --out bench/out/record/wakeup --no-play "$@" | grep '^SUMMARY')
echo "wakeup: $wake"
drain=$("${BENCH[@]}" --out bench/out/record/drain --no-play --drain-interval "$ms" "$@" | grep '^SUMMARY')
echo "drain:  $drain"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for k in cpu_share cpu_total_s ctxsw_total lost lost_reported recorded published; do
  a=$(field "$k" "$wake") b=$(field "$k" "$drain")
  printf '%-14s wakeup %-12s drain(%s ms) %-12s ratio %s\n' "$k" "$a" "$ms" "$b" \
    "$(awk -v a="$a" -v b="$b" 'BEGIN { if (a + 0 == 0) print "-"; else printf "%.3f", b / a }')"
done
