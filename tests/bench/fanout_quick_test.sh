#!/usr/bin/env bash
# Runs the fan-out group of shmbus_bench_testing at its smallest (1 and 4 sleeping readers,
# 10 rounds) and checks its outputs' shape: exit status 0, the CSV rows of the floor, the old
# and the new design for each N, ordered percentiles, the tables and the targets, the plot
# data, no leftover bus. No timing is asserted; the full N list is for bench/run.sh only.
set -uo pipefail
bin=bench/shmbus_bench_testing
out=${TEST_TMPDIR:-$(mktemp -d)}/out
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$bin" ] || fail "cannot find $bin (run through bazel test)"
"$bin" --only fanout --samples 100 --fanout-readers 1,4 --out "$out" >"$out.md" 2>"$out.err" &
pid=$!
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || { cat "$out.err" >&2; fail "shmbus_bench_testing --only fanout exited $rc"; }

csv=$out/results.csv
[ -s "$csv" ] || fail "no $csv"
for t in futex-floor shmbus-wake-all shmbus-wake-2; do
  for m in fanout-call fanout-first fanout-last; do
    for n in 1 4; do
      grep -q "^$t,$m,[0-9]*,$n," "$csv" || fail "no row $t $m with $n readers"
    done
  done
done
bad=$(awk -F, 'NR > 1 && $2 ~ /^fanout-/ {
  if (NF != 11) { print NR": "NF" fields"; next }
  if ($5 < 1 || $6 > $7 || $7 > $8 || $8 > $9 || $9 > $10 || $11 != "") print NR": " $0
}' "$csv")
[ -z "$bad" ] || fail "malformed fan-out rows:"$'\n'"$bad"
grep -q '^### Waking N sleeping readers' "$out.md" || fail "no fan-out table"
grep -q '^#### Targets of issue 20' "$out.md" || fail "no fan-out targets"
grep -q '^| first reader no later than today, 4 readers | .* | \*\*\(met\|missed\)\*\* |$' \
  "$out.md" || fail "no verdict for the first of 4 readers"
[ "$(grep -vc '^#' "$out/fanout.dat")" -eq 2 ] || fail "fanout.dat should have one line per N"
ls /dev/shm/shmbus.bench-"$pid"-* >/dev/null 2>&1 && fail "the bench left a bus in /dev/shm"
echo "PASS: fan-out rows well formed"
