#!/usr/bin/env bash
# Unbounded or undefined input (issue 22 items 5-8, 14): bounded time options, records over
# 1 GiB, read errors, a failed first publish, signals while blocked in stdio, over-long lines.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"

# 5. Time options are bounded (1e6 s): no overflow, no instant exit, no ignored signals.
expect_rc 2 "$SHMSUB" x --new -W 1e10; err_has '--timeout wants seconds > 0 and <= 1e\+06'
expect_rc 2 "$SHMSUB" x --hz -i 1e10; err_has '--interval wants seconds > 0 and <= 1e\+06'
expect_rc 2 "$SHMPUB" x -r 1e-10 -n 1000 -m a; err_has '--rate wants a rate in Hz from 1e-06'
expect_rc 2 "$SHMPUB" x -r 1e10 -m a; err_has '--rate wants'
newbus W
"$SHMPUB" "$W" -m a
"$SHMSUB" "$W" --new -W 1e6 >/dev/null &
sub=$!
"$SHMPUB" "$W" -m b -r 1e-6 -n 1000 &   # the first at once, the next in 11.6 days
pub=$!
eventually 30 reader_asleep "$W"
eventually 30 latest_ge "$W" 2
kill -TERM "$sub" "$pub"
wait "$sub"; rc=$?; if [ "$rc" -eq 0 ]; then pass; else fail "shmsub -W 1e6 SIGTERM: $rc"; fi
wait "$pub"; rc=$?; if [ "$rc" -eq 0 ]; then pass; else fail "shmpub -r 1e-6 SIGTERM: $rc"; fi
if [ "$(bus_latest "$W")" -eq 2 ]; then pass; else fail "-r 1e-6 published $(bus_latest "$W")"; fi

# 6. Records over 1 GiB: a usage error for -b; -f/-s stop before reading them (exit 1).
expect_rc 2 "$SHMPUB" x -b 2G; err_has "--binary wants a record size of 1 byte .. 1GiB"
truncate -s 3G "$TMP/huge"
newbus H
expect_rc 1 "$SHMPUB" "$H" -f "$TMP/huge"
err_has "$TMP/huge holds more than 1 GiB, the largest record a bus can hold; nothing was published"
expect_rc 1 "$SHMPUB" "$H" -s <"$TMP/huge"; err_has "stdin holds more than 1 GiB"
if bus_exists "$H"; then fail "a refused record made a bus"; else pass; fi
# Reading stops at the capacity the record could have: 10 MB into a 4 KiB bus.
"$SHMPUB" "$H" -m small -c 4K
head -c 10000000 /dev/zero | "$SHMPUB" "$H" -s 2>"$TMP/err"; rc=$?
if [ "$rc" -eq 1 ]; then pass; else fail "-s over capacity: exit status $rc"; fi
err_has "stdin holds more than 4096 bytes, the capacity of bus '$H'; nothing was published"

# 7. Read errors say what happened (exit 1); a failed first publish leaves no bus behind.
newbus E
expect_rc 1 "$SHMPUB" "$E" -b 4 <"$TMP"; err_has 'error reading stdin: Is a directory'
expect_rc 1 "$SHMPUB" "$E" -l <"$TMP"; err_has 'error reading stdin: Is a directory'
expect_rc 1 "$SHMPUB" "$E" -s <"$TMP"; err_has 'cannot read stdin: Is a directory'
expect_rc 1 "$SHMPUB" "$E" -f "$TMP"; err_has "cannot read $TMP: Is a directory"
expect_rc 1 "$SHMPUB" "$E" -c 4 -m hello; err_has 'larger than the capacity'
if bus_exists "$E"; then fail "failed first publishes left bus $E"; else pass; fi
# An existing bus stays whatever fails.
expect_rc 0 "$SHMPUB" "$E" -c 4 -m ok
expect_rc 1 "$SHMPUB" "$E" -m toolong
if [ "$(bus_latest "$E")" -eq 1 ]; then pass; else fail "existing bus after a failure"; fi

# 8. A signal while blocked in stdio: exit 0, nothing lost.
# shmsub blocked writing to a full pipe finishes what it read, then exits 0. Records of 64 KiB
# go to the pipe in one write each, so the second write blocks with nothing written: without
# SA_RESTART it failed with EINTR (exit 1, the rest lost).
newbus F
mkfifo "$TMP/full"
cat "$TMP/full" >"$TMP/got" &
reader=$!
"$SHMSUB" "$F" --all -F raw --wait-for-bus -W 60 >"$TMP/full" 2>"$TMP/fullerr" &
sub=$!
eventually 30 waits_for_bus "$sub"
kill -STOP "$reader"
head -c 196608 /dev/zero | "$SHMPUB" "$F" -b 65536
eventually 30 blocked_in "$sub" pipe_write
kill -TERM "$sub"
kill -CONT "$reader"
wait "$sub"; rc=$?
wait "$reader"
if [ "$rc" -eq 0 ]; then pass; else fail "shmsub SIGTERM in write: exit status $rc: $(cat "$TMP/fullerr")"; fi
if [ ! -s "$TMP/fullerr" ]; then pass; else fail "stderr: $(cat "$TMP/fullerr")"; fi
if cmp -s "$TMP/got" <(head -c 196608 /dev/zero); then pass; else
  fail "after SIGTERM: $(wc -c <"$TMP/got") bytes of 196608"; fi
# shmbus stat blocked writing to a full pipe: the same, status 0 (it was killed: 143).
newbus M
"$SHMPUB" "$M" -m x
mkfifo "$TMP/full2"
cat "$TMP/full2" >"$TMP/got" &
reader=$!
exec 8>"$TMP/full2"    # hold the pipe open while the reader is stopped
kill -STOP "$reader"
"$SHMBUS" stat $(for i in $(seq 400); do echo "$M"; done) >&8 2>"$TMP/stat2err" &
adm=$!
exec 8>&-
eventually 30 blocked_in "$adm" pipe_write
kill -TERM "$adm"
kill -CONT "$reader"
wait "$adm"; rc=$?
wait "$reader"
if [ "$rc" -eq 0 ]; then pass; else fail "shmbus stat SIGTERM in write: exit status $rc"; fi
if [ ! -s "$TMP/stat2err" ]; then pass; else fail "stderr: $(cat "$TMP/stat2err")"; fi
n=$(grep -c '^bus: ' "$TMP/got")
if [ "$n" -ge 1 ] && [ "$n" -lt 400 ] && [ "$(grep -c '^owner: ' "$TMP/got")" -eq "$n" ]; then pass; else
  fail "shmbus stat after SIGTERM: $n buses, $(grep -c '^owner: ' "$TMP/got") complete"; fi

# shmpub -s blocked reading stdin: exit 0, nothing published, no bus made.
newbus S
mkfifo "$TMP/in"
"$SHMPUB" "$S" -s <"$TMP/in" 2>"$TMP/err" &
pub=$!
exec 7>"$TMP/in"
echo partial >&7
eventually 30 blocked_in "$pub" pipe_read
kill -TERM "$pub"
wait "$pub"; rc=$?
exec 7>&-
if [ "$rc" -eq 0 ]; then pass; else fail "shmpub -s SIGTERM: exit status $rc: $(cat "$TMP/err")"; fi
err_empty
if bus_exists "$S"; then fail "an interrupted -s published"; else pass; fi

# 14. -l: an over-long line is skipped with a warning by default (the stream goes on);
# --oversize truncate cuts it to the capacity; --oversize fail ends shmpub (exit 1).
newbus O
{ echo a; head -c 70000 /dev/zero | tr '\0' y; echo; echo b; } >"$TMP/lines"
expect_rc 0 "$SHMPUB" "$O" <"$TMP/lines"
err_has "line 2 \(70000 bytes\) is longer than the capacity of bus '$O' \(65536 bytes\): skipped"
expect_rc 0 "$SHMSUB" "$O" --oldest -C 2; out_is "$(printf 'a\nb')"
expect_rc 0 "$SHMPUB" "$O" -l --oversize truncate <"$TMP/lines"; err_empty
expect_rc 0 "$SHMSUB" "$O" --oldest -C 5 -F json
if sed -n 4p "$TMP/out" | grep -q '"version":4,.*"length":65536,'; then pass; else fail "truncate: $(cut -c1-200 "$TMP/out")"; fi
expect_rc 1 "$SHMPUB" "$O" -l --oversize fail <"$TMP/lines"; err_has 'record of 70000 bytes is larger'
if [ "$(bus_latest "$O")" -eq 6 ]; then pass; else fail "fail: latest $(bus_latest "$O")"; fi
expect_rc 2 "$SHMPUB" "$O" -l --oversize drop; err_has '--oversize wants skip, truncate or fail'
finish
