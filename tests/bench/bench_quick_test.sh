#!/usr/bin/env bash
# Runs shmbus_bench's quick mode with a tiny sample count and checks its outputs' shape:
# exit status 0, the exact CSV header, 11 fields per row, numbers where numbers belong,
# percentiles in order, every transport present, the Markdown table, no leftover bus.
# Arguments are passed on to shmbus_bench (the ThreadSanitizer build passes --size 64).
set -uo pipefail
bin=bench/shmbus_bench
out=${TEST_TMPDIR:-$(mktemp -d)}/out
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$bin" ] || fail "cannot find $bin (run through bazel test)"
"$bin" --quick --samples 200 --out "$out" "$@" >"$out.md" 2>"$out.err" &
pid=$!
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || { cat "$out.err" >&2; fail "shmbus_bench --quick exited with status $rc"; }

csv=$out/results.csv
[ -s "$csv" ] || fail "no $csv"
want='transport,mode,size_bytes,readers,samples,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,throughput_per_s'
[ "$(head -n1 "$csv")" = "$want" ] || fail "CSV header is '$(head -n1 "$csv")'"
rows=$(($(wc -l <"$csv") - 1))
min_rows=60
[ $# -gt 0 ] && min_rows=20 # one record size
[ "$rows" -ge "$min_rows" ] || fail "only $rows CSV rows (expected >= $min_rows)"

# Every row: 11 fields; transport and mode non-empty; size a positive integer; the others
# empty or a non-negative integer; when percentiles are present they are ordered.
bad=$(awk -F, 'NR > 1 {
  if (NF != 11) { print NR": "NF" fields"; next }
  if ($1 == "" || $2 == "") { print NR": empty transport/mode"; next }
  if ($3 !~ /^[1-9][0-9]*$/) { print NR": size "$3; next }
  for (i = 4; i <= 11; i++) if ($i != "" && $i !~ /^[0-9]+$/) { print NR": field "i" = "$i; next }
  if ($5 != "" && ($5 < 1 || $6 > $7 || $7 > $8 || $8 > $9 || $9 > $10)) print NR": percentiles " $0
  if ($5 == "" && $11 == "") print NR": neither samples nor throughput"
}' "$csv")
[ -z "$bad" ] || fail "malformed CSV rows:"$'\n'"$bad"

for t in futex-floor shmbus pipe unix-socket posix-mq memcpy atomic64-loop shmbus-read; do
  grep -q "^$t," "$csv" || fail "no row for transport $t"
done
# ZeroMQ: measured, or (ThreadSanitizer builds only) listed as not measured.
grep -q '^zeromq,' "$csv" || grep -q 'zeromq at .* not measured: this is a ThreadSanitizer' "$out.md" ||
  fail "no row for transport zeromq"
if [ "$(nproc)" -ge 2 ]; then
  grep -q '^spin-floor,spin,' "$csv" || fail "no spin floor row on a multi-core machine"
  grep -q '^shmbus,spin,64,1,' "$csv" || fail "no shmbus spin row on a multi-core machine"
fi
for m in sleep spin-then-sleep; do
  for n in 1 4 16 64; do
    grep -q "^shmbus,$m,64,$n," "$csv" || fail "no shmbus $m row with $n readers"
  done
done
grep -q '^shmbus,publish,64,0,' "$csv" || fail "no publish row"
# Latency rows leave the throughput column empty; publish rows fill it.
awk -F, '$1 == "shmbus" && $2 == "sleep" && $11 != "" {exit 1}' "$csv" ||
  fail "latency rows must leave throughput_per_s empty"
awk -F, '$2 ~ /^publish/ && $11 == "" {exit 1}' "$csv" || fail "publish rows need a throughput"

grep -q '^| transport | mode | size | readers | samples | p50 |' "$out.md" || fail "no latency table"
grep -q '^### Targets' "$out.md" || fail "no targets section"
[ -s "$out/plot.dat" ] || fail "no plot data"
ls /dev/shm/shmbus.bench-"$pid"-* >/dev/null 2>&1 && fail "the bench left a bus in /dev/shm"
echo "PASS: $rows well-formed rows"
