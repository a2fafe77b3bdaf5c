#!/usr/bin/env bash
# Runs bench/py_bench (Python against C, issue 14) at its smallest and checks the outputs'
# shape: exit status 0, a CSV row for every reader x mode x size and every drain reader,
# ordered percentiles, the tables and the targets, no leftover bus. No timing is asserted.
# $1: the sanitizer of the build ("", asan, tsan), as python/tests/pytest.sh.
set -uo pipefail
sanitizer=${1:-}
R=${TEST_SRCDIR:?run through bazel test}/${TEST_WORKSPACE:-shmbus}
tmp=${TEST_TMPDIR:-$(mktemp -d)}
out=$tmp/out
fail() { echo "FAIL: $*" >&2; exit 1; }

case $sanitizer in
  tsan)
    echo "py_bench_test: skipped under TSan (CPython is not instrumented; see python/README.md)"
    exit 0 ;;
  asan)
    LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
    export LD_PRELOAD ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:verify_asan_link_order=0 ;;
esac
mkdir -p "$tmp/pkg/shmbus"
cp -L "$R"/python/shmbus/* "$R/python/_shmbus.so" "$tmp/pkg/shmbus/"
export PYTHONPATH=$tmp/pkg PYTHONDONTWRITEBYTECODE=1

"$R/bench/py_bench" --python /usr/bin/python3 --reader "$R/bench/py_reader.py" --out "$out" \
  --rounds 2 --samples 40 --passes 2 --slots 256 --batch 64 >"$tmp/stdout.md" 2>"$tmp/err" &
pid=$!
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || { cat "$tmp/err" >&2; fail "py_bench exited $rc"; }

csv=$out/results.csv
[ -s "$csv" ] || fail "no $csv"
head -1 "$csv" | grep -qx \
  'transport,mode,size_bytes,readers,samples,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,throughput_per_s' ||
  fail "CSV header"
for t in shmbus python python-into; do
  for m in sleep spin; do
    for s in 64 1048576; do
      grep -q "^$t,$m,$s,1," "$csv" || fail "no latency row $t $m $s"
    done
  done
done
for row in "shmbus,drain-next," "python,drain-next," "python,drain-next_many-64," \
           "python,drain-next_many_into-64,"; do
  grep -q "^$row" "$csv" || fail "no drain row $row"
done
bad=$(awk -F, 'NR > 1 {
  if (NF != 11) { print NR": "NF" fields"; next }
  if ($5 < 1 || $6 > $7 || $7 > $8 || $8 > $9 || $9 > $10) print NR": " $0
  if ($2 ~ /^drain/ && $11 <= 0) print NR": no rate: " $0
}' "$csv")
[ -z "$bad" ] || fail "malformed rows: $bad"
for s in "One-way latency" "Draining a ring" "Targets (issue 14)" "next_many(64) >= 30%" \
         "Python sleep p50 <= 1.2x C at 64 B" "load average"; do
  grep -qF "$s" "$out/results.md" || fail "results.md lacks '$s'"
done
cmp -s "$out/results.md" "$tmp/stdout.md" || fail "stdout differs from results.md"
ls /dev/shm | grep -q "pybench-$pid-" && { ls /dev/shm >&2; fail "buses left in /dev/shm"; }
echo "py_bench_test: ok"
