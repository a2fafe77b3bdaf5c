#!/usr/bin/env bash
# Runs bench/record_bench (issue 15: `shmbus record` of 10 x 1 kHz buses and a 30 Hz x 1 MiB
# camera, then `shmbus play` with a subscriber timing arrivals) for 2 s and checks that its
# output is sane: exit status 0, a SUMMARY line whose counts add up (every published record
# is in the file or counted lost; nothing played that was not recorded), a real MCAP file,
# the per-bus table, the CSV rows of play's timing, no leftover bus. Timing and loss are
# reported by the benchmark, never asserted here (CI runs it next to CPU hogs).
set -uo pipefail
bin=bench/record_bench
tmp=${TEST_TMPDIR:-$(mktemp -d)}
out=$tmp/out
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$bin" ] || fail "cannot find $bin (run through bazel test)"
"$bin" --duration 2 --shmbus tools/shmbus --out "$out" >"$tmp/stdout" 2>"$tmp/err" &
pid=$!
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || { cat "$tmp/err" >&2; cat "$out"/*.err >&2; fail "record_bench exited $rc"; }

line=$(grep '^SUMMARY ' "$tmp/stdout") || fail "no SUMMARY line"
get() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$line"; }
for k in buses published recorded lost lost_reported cpu_share file_bytes mb_per_s played \
         play_offset_p50_us play_offset_p99_us play_interval_p50_us play_interval_p99_us; do
  [ -n "$(get "$k")" ] || fail "SUMMARY lacks $k: $line"
done
[ "$(get buses)" -eq 11 ] || fail "11 buses expected: $line"
pub=$(get published) rec=$(get recorded) lost=$(get lost) played=$(get played)
# 2 s of 10 x 1000 Hz + 30 Hz, give or take the schedule's first and last period
[ "$pub" -ge 19000 ] && [ "$pub" -le 20200 ] || fail "published $pub, not ~20060: $line"
[ "$rec" -gt 0 ] && [ $((rec + lost)) -eq "$pub" ] || fail "recorded + lost != published: $line"
[ "$played" -gt 0 ] && [ "$played" -le "$rec" ] || fail "played $played of $rec recorded: $line"
awk -v s="$(get cpu_share)" 'BEGIN { exit !(s > 0 && s < 4) }' || fail "cpu_share: $line"
[ "$(head -c 8 "$out/rec.mcap" | od -An -tx1 | tr -d ' \n')" = "894d434150300d0a" ] ||
  fail "rec.mcap does not start with the MCAP magic"
[ "$(stat -c %s "$out/rec.mcap")" -eq "$(get file_bytes)" ] || fail "file_bytes"
[ "$(grep -c '^| recbench-' "$out/results.md")" -eq 11 ] || fail "per-bus table"
for m in offset-arrival interval-arrival offset-publish interval-publish; do
  grep -q "^shmbus-play,$m,64,11,[1-9]" "$out/results.csv" || fail "no CSV row $m"
done
ls /dev/shm | grep -q "recbench-$pid-" && { ls /dev/shm >&2; fail "buses left in /dev/shm"; }
echo "record_bench_test: ok: $line"
