#!/usr/bin/env bash
# bench/record_run.sh - `shmbus record`/`play` under load (issue 15): build, run.
#   bench/record_run.sh [--duration SEC] [more record_bench flags...]
# Builds //bench:record_bench and //tools:shmbus with --config=opt and runs the benchmark
# (default 2 s: a smoke run; the README's figures use --duration 60). Leaves
# bench/out/record/{results.md,results.csv,rec.mcap,record.err,play.err}.
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build --config=opt //bench:record_bench //tools:shmbus >&2
exec bazel-bin/bench/record_bench --shmbus bazel-bin/tools/shmbus --out bench/out/record "$@"
