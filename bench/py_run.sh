#!/usr/bin/env bash
# bench/py_run.sh - Python against C on the same bus (issue 14): build, assemble, run.
#   bench/py_run.sh [--quick | --full] [more py_bench flags...]
# Builds //bench:py_bench and the extension //python:_shmbus.so with --config=opt, assembles
# the shmbus package (python/shmbus/*.py + the .so) in bench/out/python/pkg, and runs
# py_bench with Debian's /usr/bin/python3 (python3-numpy) as the Python reader. Quick (default):
# about a minute; --full: 10 rounds, a few minutes. Leaves bench/out/python/results.{md,csv}.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/python
bazel build --config=opt //bench:py_bench //python:_shmbus.so >&2
rm -rf "$out/pkg"
mkdir -p "$out/pkg/shmbus"
cp python/shmbus/* "$out/pkg/shmbus/"
cp -L bazel-bin/python/_shmbus.so "$out/pkg/shmbus/"
PYTHONPATH=$PWD/$out/pkg PYTHONDONTWRITEBYTECODE=1 \
  exec bazel-bin/bench/py_bench --python /usr/bin/python3 --reader bench/py_reader.py \
  --out "$out" "$@"
