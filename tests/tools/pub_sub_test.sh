#!/usr/bin/env bash
# shmpub's record sources and creation options; shmsub's formats and record selection.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"

# -m, then shmsub -1 prints the latest value (late joiner) in every format.
newbus B
expect_rc 0 "$SHMPUB" "$B" -m hello; err_empty
expect_rc 0 "$SHMSUB" "$B" -1; out_is hello
expect_rc 0 "$SHMSUB" "$B" --once -F hex; out_is 68656c6c6f
expect_rc 0 "$SHMSUB" "$B" -1 -F raw; out_is hello
expect_rc 0 "$SHMSUB" "$B" -1 -F json
out_has '^\{"bus":"'"$B"'","version":1,"timestamp_ns":[0-9]+,"latency_ns":-?[0-9]+,"length":5,"skipped":0,"encoding":"utf-8","payload":"hello"\}$'
expect_rc 0 "$SHMSUB" "$B" -1 -v
out_has '^v=1 t=20[0-9-]+T[0-9:.]+Z latency=[0-9.]+(ns|us|ms|s) len=5: hello$'
expect_rc 0 "$SHMSUB" "$B" -1 -v -F hex; out_has '^v=1 .* len=5: 68656c6c6f$'

# JSON escapes text; non-UTF-8 goes as base64 (with a NUL and 0xff).
printf 'a"b\\c\n\td' | "$SHMPUB" "$B" -s
expect_rc 0 "$SHMSUB" "$B" -1 -F json; out_has '"payload":"a\\"b\\\\c\\n\\td"'
printf '\000\377\001' | "$SHMPUB" "$B" -s
expect_rc 0 "$SHMSUB" "$B" -1 -F json; out_has '"length":3,.*"encoding":"base64","payload":"AP8B"'
expect_rc 0 "$SHMSUB" "$B" -1 -F raw
if [ "$(od -An -tx1 "$TMP/out" | tr -d ' \n')" = 00ff01 ]; then pass; else fail "raw bytes"; fi
printf '\xe2\x82\xac' | "$SHMPUB" "$B" -s   # the euro sign: valid UTF-8
expect_rc 0 "$SHMSUB" "$B" -1 -F json; out_has '"encoding":"utf-8","payload":"€"'

# -f FILE and -f - ; an empty record.
printf 'line1\nline2\n' >"$TMP/file.txt"
expect_rc 0 "$SHMPUB" "$B" -f "$TMP/file.txt"
expect_rc 0 "$SHMSUB" "$B" -1 -F raw; out_is "$(printf 'line1\nline2')"
if cmp -s "$TMP/out" "$TMP/file.txt"; then pass; else fail "-f record differs from file"; fi
echo from-stdin | "$SHMPUB" "$B" -f -
expect_rc 0 "$SHMSUB" "$B" -1; out_is from-stdin
expect_rc 0 "$SHMPUB" "$B" -m ''
expect_rc 0 "$SHMSUB" "$B" -1 -F json; out_has '"length":0,'

# -l: one record per line (and the default for a pipe); -n stops after COUNT.
newbus L
printf 'a\n\nc' | "$SHMPUB" "$L" -l --slots 16
expect_rc 0 "$SHMSUB" "$L" --all --oldest -C 3; out_is "$(printf 'a\n\nc')"
printf 'd\ne\n' | "$SHMPUB" "$L"          # no source given, stdin is a pipe: lines
expect_rc 0 "$SHMSUB" "$L" -1; out_is e
seq 10 | "$SHMPUB" "$L" -n 4 -v 2>"$TMP/pubv"
expect_rc 0 "$SHMSUB" "$L" -1; out_is 4
if [ "$(grep -c 'published version' "$TMP/pubv")" -eq 4 ]; then pass; else fail "-v lines"; fi
if grep -q "adopting bus '$L' at version 5" "$TMP/pubv"; then pass; else fail "-v adopt"; fi

# -m with -n: COUNT publishes; -r paces them (versions advance by exactly COUNT).
v0=$(bus_latest "$L")
expect_rc 0 "$SHMPUB" "$L" -m x -n 3
expect_rc 0 "$SHMPUB" "$L" -m y -n 5 -r 200
if [ "$(bus_latest "$L")" -eq $((v0 + 8)) ]; then pass; else fail "-n/-r publish count"; fi

# --binary SIZE: fixed records; a short tail is an error and is not published.
newbus N
head -c 32 /dev/zero | tr '\0' 'z' | "$SHMPUB" "$N" --binary 8 --slots 8
if [ "$(bus_latest "$N")" -eq 4 ]; then pass; else fail "--binary count"; fi
expect_rc 0 "$SHMSUB" "$N" --all --oldest -C 4; out_is "$(printf 'zzzzzzzz\nzzzzzzzz\nzzzzzzzz\nzzzzzzzz')"
printf '0123456789' >"$TMP/ten"
expect_rc 1 "$SHMPUB" "$N" --binary 4 <"$TMP/ten"; err_has 'stdin ended with 2 bytes'
if [ "$(bus_latest "$N")" -eq 6 ]; then pass; else fail "--binary tail published"; fi

# Creation options, seen by shmbus stat; --group implies 0640.
newbus C
expect_rc 0 "$SHMPUB" "$C" -m x --capacity 4K --slots 3 --type demo/t1 --mode 0644
expect_rc 0 "$SHMBUS" stat "$C" --json
out_has '"type":"demo/t1","slots":3,"capacity":4096,'; out_has '"mode":"0644"'
grp=$(id -gn)
expect_rc 0 "$SHMPUB" "$C" -m y --group "$grp"
expect_rc 0 "$SHMBUS" stat "$C" --json; out_has '"group":"'"$grp"'","mode":"0640"'
expect_rc 0 "$SHMSUB" "$C" -1; out_is y   # adopted: same bus, version 2
expect_rc 0 "$SHMBUS" stat "$C" --json; out_has '"latest":2,'
# A different geometry replaces the bus, and says so.
expect_rc 0 "$SHMPUB" "$C" -m z --slots 4; err_has "replaced bus '$C' \\(3 slots of 4 KiB, type 'demo/t1'\\) with a new geometry or type \\(4 slots of 4 KiB"
expect_rc 0 "$SHMBUS" stat "$C" --json; out_has '"slots":4,'
# A big single record makes a new bus big enough.
newbus Big
head -c 100000 /dev/zero >"$TMP/big"
expect_rc 0 "$SHMPUB" "$Big" -f "$TMP/big"
expect_rc 0 "$SHMBUS" stat "$Big" --json; out_has '"capacity":100000,'

# --unlink removes the bus on exit; by default it stays.
newbus U
expect_rc 0 "$SHMPUB" "$U" -m x
if bus_exists "$U"; then pass; else fail "bus should stay"; fi
expect_rc 0 "$SHMPUB" "$U" -m x --unlink
if bus_exists "$U"; then fail "--unlink left the bus"; else pass; fi

# shmsub default: the latest at once, then new ones; --new skips the current latest.
newbus S
"$SHMPUB" "$S" -m first
"$SHMSUB" "$S" -C 3 -W 20 >"$TMP/default" &
sub=$!
eventually 20 reader_asleep "$S" "$sub"   # it printed 'first' and sleeps: now publish
bg "$SHMPUB" "$S" -m again -r 50
wait "$sub"
if [ "$(cat "$TMP/default")" = "$(printf 'first\nagain\nagain')" ]; then pass; else fail "default: $(cat "$TMP/default")"; fi
expect_rc 0 "$SHMSUB" "$S" --new -1 -W 20; out_is again
# Wait modes each receive new records.
for m in --spin --sleep --hybrid; do
  expect_rc 0 "$SHMSUB" "$S" --new -C 2 -W 20 "$m"; out_is "$(printf 'again\nagain')"
done
# -i SEC: at most one record per SEC (3 records at 0.2 s apart take >= 0.4 s).
t0=$(date +%s%N)
expect_rc 0 "$SHMSUB" "$S" -C 3 -i 0.2 -W 20
if [ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 400 ]; then pass; else fail "-i did not pause"; fi
# Statistics: one line per kind.
expect_rc 0 "$SHMSUB" "$S" --hz --bw --delay -C 20 -W 20 --window 10
out_has '^rate: [0-9.]+ Hz  min: .* max: .* std dev: .* window: 10'
out_has '^bandwidth: [0-9.]+ (B|KiB)/s  record size mean: 5 B  min: 5 B  max: 5 B'
out_has '^delay: mean: .* p50: .* p99: .* max: .* window: 10'
expect_rc 0 "$SHMSUB" "$S" --hz -C 3 -W 20 -i 0.05; out_has '^rate: '

# --help and --version of every tool.
for t in "$SHMPUB" "$SHMSUB" "$SHMBUS"; do
  expect_rc 0 "$t" --help; out_has '^Usage: '; out_has 'Examples:'; out_has 'Exit status:'
  expect_rc 0 "$t" --version; out_has '\(shmbus\) [0-9]+\.[0-9]+\.[0-9]+$'
done
expect_rc 0 "$SHMBUS" help; out_has '^Usage: shmbus COMMAND'
expect_rc 0 "$SHMBUS" rm --help; out_has '^Usage: shmbus COMMAND'
expect_rc 0 "$SHMBUS" version; out_has '^shmbus \(shmbus\) '
finish
