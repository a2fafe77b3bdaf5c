#!/usr/bin/env bash
# record_test.sh - shmbus record / play / info: a bus that appears later is recorded from its
# first record; lost records are counted and written; a replaced bus is followed onto a new
# channel; SIGINT leaves a complete file; SIGKILL at random moments (20 times) leaves a file
# that reads back up to its last chunk; play publishes a recording onto renamed buses.
source "${TEST_SRCDIR:?run under bazel test}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"

# recorder_ready FILE - the recorder writing its stderr to FILE has made its first bus scan.
recorder_ready() { grep -q "recording" "$1"; }
# reader_read_up_to BUS V - a reader of BUS (the recorder's notifier) waits with cursor V + 1.
reader_read_up_to() { "$SHMBUS" stat "$1" --json | grep -Eq "\"cursor\":$(($2 + 1)),[^}]*" &&
                      reader_asleep "$1"; }

# 1. A bus created after the recorder started is recorded from its first record; -C stops.
newbus A
bg "$SHMBUS" record -C 50 -o "$TMP/a.mcap" "${RUN}-*-A" 2>"$TMP/a.err"
eventually 30 recorder_ready "$TMP/a.err"
seq 1 50 | "$SHMPUB" "$A" --slots 64 -t demo
wait "${BGPIDS[-1]}" || fail "record -C 50 exited $?: $(cat "$TMP/a.err")"
expect_rc 0 "$SHMBUS" info "$TMP/a.mcap"
out_has "summary:     yes"
out_has "messages:    50$"
out_has "\\(0\\) $A +50 msgs .*encoding x-shmbus-raw  schema \\(none\\)"
grep -q "$A: 50 records, 0 lost" "$TMP/a.err" && pass || fail "record's summary: $(cat "$TMP/a.err")"

# 2. Played back onto another bus (same geometry and type), recorded again: same payloads.
newbus B
bg "$SHMBUS" record -C 50 -o "$TMP/b.mcap" "$B" 2>"$TMP/b.err"
eventually 30 recorder_ready "$TMP/b.err"
expect_rc 0 "$SHMBUS" play "$TMP/a.mcap" --rate 0 --remap "$A:=$B"
wait "${BGPIDS[-1]}" || fail "second record exited $?: $(cat "$TMP/b.err")"
expect_rc 0 "$SHMBUS" stat "$B" --json
out_has '"type":"demo","slots":64,'
expect_rc 0 "$SHMSUB" "$B" --oldest --all -C 50
if [ "$(cat "$TMP/out")" = "$(seq 1 50)" ]; then pass; else fail "played bus holds $(head -c 100 "$TMP/out")"; fi
expect_rc 0 "$SHMBUS" info "$TMP/b.mcap"
out_has "messages:    50$"

# 3. Lost records: the recorder stopped (SIGSTOP) while 100 records go through an 8-slot ring:
#    what it read and what it lost add up to 100.
newbus L
echo first | "$SHMPUB" "$L"
bg "$SHMBUS" record -o "$TMP/l.mcap" "$L" 2>"$TMP/l.err"
REC=${BGPIDS[-1]}
eventually 30 recorder_ready "$TMP/l.err"
kill -STOP "$REC"
seq 1 100 | "$SHMPUB" "$L"
kill -CONT "$REC"
eventually 30 reader_read_up_to "$L" 101
kill -INT "$REC"
wait "$REC" || fail "record (lost) exited $?: $(cat "$TMP/l.err")"
read -r got lost < <(sed -n "s/.*$L: \([0-9]*\) records, \([0-9]*\) lost/\1 \2/p" "$TMP/l.err")
if [ "${got:-0}" -ge 2 ] && [ "${lost:-0}" -ge 80 ] && [ $((got + lost)) -eq 100 ]; then pass; else
  fail "lost summary: $(cat "$TMP/l.err")"; fi
expect_rc 0 "$SHMBUS" info "$TMP/l.mcap"
out_has "/shmbus/lost +1 msgs .*encoding json"

# 4. A replaced bus (new type and capacity) is followed onto a second channel of its topic.
newbus R
echo one | "$SHMPUB" "$R" -t t1
bg "$SHMBUS" record -C 3 -o "$TMP/r.mcap" "$R" 2>"$TMP/r.err"
REC=${BGPIDS[-1]}
eventually 30 recorder_ready "$TMP/r.err"
echo two | "$SHMPUB" "$R" -t t1
eventually 30 reader_read_up_to "$R" 2
"$SHMBUS" rm "$R"
printf 'three\nfour\n' | "$SHMPUB" "$R" -t t2 -c 1k
wait "$REC" || fail "record (replaced) exited $?: $(cat "$TMP/r.err")"
expect_rc 0 "$SHMBUS" info "$TMP/r.mcap"
out_has "\\(0\\) $R +1 msgs"
out_has "\\(1\\) $R +2 msgs"

# 5. SIGINT: a complete file with a summary. The bus exists before the recorder opens it (so
#    the recorder registers as its reader) and its writer stays alive (input from a FIFO held
#    open here): the registry then shows the recorder waiting with its cursor past record 5.
newbus I
mkfifo "$TMP/fifo"
exec 7<>"$TMP/fifo" # read-write: neither open blocks
bg bash -c 'exec "$0" "$1" <"$2" 7>&-' "$SHMPUB" "$I" "$TMP/fifo" # (a bare & reads /dev/null)
eventually 30 bus_exists "$I"
bg "$SHMBUS" record -o "$TMP/i.mcap" "$I" 2>"$TMP/i.err"
REC=${BGPIDS[-1]}
eventually 30 recorder_ready "$TMP/i.err"
seq 1 5 >&7
eventually 30 reader_read_up_to "$I" 5
kill -INT "$REC"
wait "$REC" || fail "record (SIGINT) exited $?"
exec 7>&-
expect_rc 0 "$SHMBUS" info "$TMP/i.mcap"
out_has "summary:     yes"
out_has "messages:    5$"

# 6. SIGKILL at random moments while a writer publishes: every file reads back (info exits 0,
#    a truncated one with a note), never as corrupt. The random delay only picks the moment.
newbus K
bg bash -c "yes 'a record of some length, long enough to fill chunks' | '$SHMPUB' '$K' --slots 4096"
eventually 30 bus_exists "$K"
for i in $(seq 20); do
  "$SHMBUS" record -q --chunk-size 4k -o "$TMP/k$i.mcap" "$K" 2>/dev/null &
  REC=$!
  eventually 30 test -e "$TMP/k$i.mcap"
  sleep "0.0$((RANDOM % 10))"
  kill -KILL "$REC"
  wait "$REC" 2>/dev/null
  expect_rc 0 "$SHMBUS" info "$TMP/k$i.mcap"
done

# 7. --split-size: several files, together every record once.
newbus S
bg "$SHMBUS" record -C 300 --split-size 2k -o "$TMP/s.mcap" "$S" 2>"$TMP/s.err"
eventually 30 recorder_ready "$TMP/s.err"
seq 1 300 | "$SHMPUB" "$S" --slots 512
wait "${BGPIDS[-1]}" || fail "record --split-size exited $?: $(cat "$TMP/s.err")"
total=0 files=0
for f in "$TMP"/s_*.mcap; do
  n=$("$SHMBUS" info "$f" | sed -n 's/^messages: *//p')
  total=$((total + ${n:-0})) files=$((files + 1))
done
if [ "$files" -ge 3 ] && [ "$total" -eq 300 ]; then pass; else fail "split: $files files, $total messages"; fi

# --drain-interval: the recorder drains on a timer and sleeps on nothing of the bus's, so its
# registry entry is never asleep: readiness is its cursor (published by a zero-timeout wait
# after each drain) and the file.
# reader_cursor BUS PID V - the registry shows reader PID with cursor V (it read up to V - 1).
reader_cursor() { "$SHMBUS" stat "$1" --json | grep -Eq "\{\"pid\":$2,[^}]*\"cursor\":$3,"; }

# 8. Three buses, 200 records each in a burst into 256 slots: all of them, in order, 0 lost,
#    and no depth warning (at most 200 x 5 ms / 1 s = 1 record per interval at the rate).
newbus D1
newbus D2
newbus D3
for b in "$D1" "$D2" "$D3"; do "$SHMPUB" "$b" --slots 256 </dev/null; done
bg "$SHMBUS" record --drain-interval 5 -C 600 -o "$TMP/d.mcap" "${RUN}-*-D?" 2>"$TMP/d.err"
REC=${BGPIDS[-1]}
for b in "$D1" "$D2" "$D3"; do eventually 30 reader_cursor "$b" "$REC" 1; done
for b in "$D1" "$D2" "$D3"; do seq 1 200 | sed "s/^/$b /" | "$SHMPUB" "$b" --slots 256; done
wait "$REC" || fail "record --drain-interval exited $?: $(cat "$TMP/d.err")"
expect_rc 0 "$SHMBUS" info "$TMP/d.mcap"
out_has "messages:    600$"
for b in "$D1" "$D2" "$D3"; do
  out_has "$b +200 msgs"
  grep -q "$b: 200 records, 0 lost" "$TMP/d.err" && pass || fail "drain summary: $(cat "$TMP/d.err")"
done
if grep -q "slots hold less" "$TMP/d.err"; then fail "a depth warning: $(cat "$TMP/d.err")"; else pass; fi
# In order, every one: played back onto fresh buses and read with shmsub.
newbus E1
expect_rc 0 "$SHMBUS" play "$TMP/d.mcap" --rate 0 --topics "$D2" --remap "$D2:=$E1"
expect_rc 0 "$SHMSUB" "$E1" --oldest --all -C 200
if [ "$(cat "$TMP/out")" = "$(seq 1 200 | sed "s/^/$D2 /")" ]; then pass; else
  fail "D2 as played: $(head -c 200 "$TMP/out")"; fi

# 9. A ring too small for the interval: the recorder is stopped (a tick that comes late) while
#    100 records go through 8 slots. What it read and what it lost add up to 100; its summary,
#    its registry entry (the library's count) and the warning agree; the file has the loss.
newbus M
echo first | "$SHMPUB" "$M"
bg "$SHMBUS" record --drain-interval 20 -o "$TMP/m.mcap" "$M" 2>"$TMP/m.err"
REC=${BGPIDS[-1]}
eventually 30 recorder_ready "$TMP/m.err"
eventually 30 reader_cursor "$M" "$REC" 2
"$SHMBUS" stat "$M" --json | grep -Eq "\{\"pid\":$REC,[^}]*\"pollfd\":false" && pass ||
  fail "the recorder has a pollable descriptor: $("$SHMBUS" stat "$M" --json)"
kill -STOP "$REC"
seq 1 100 | "$SHMPUB" "$M"
kill -CONT "$REC"
eventually 30 reader_cursor "$M" "$REC" 102
reg_lost=$("$SHMBUS" stat "$M" --json | sed -n "s/.*{\"pid\":$REC,[^}]*\"lost\":\([0-9]*\).*/\1/p")
kill -INT "$REC"
wait "$REC" || fail "record --drain-interval (lost) exited $?: $(cat "$TMP/m.err")"
read -r got lost < <(sed -n "s/.*$M: \([0-9]*\) records, \([0-9]*\) lost/\1 \2/p" "$TMP/m.err")
if [ "${got:-0}" -ge 2 ] && [ "${lost:-0}" -ge 80 ] && [ $((got + lost)) -eq 100 ] &&
   [ "${reg_lost:-x}" = "$lost" ]; then pass; else
  fail "drain lost: summary $got/$lost, registry ${reg_lost:-none}: $(cat "$TMP/m.err")"; fi
grep -q "bus $M: its 8 slots hold less than --drain-interval 20 ms" "$TMP/m.err" && pass ||
  fail "no depth warning: $(cat "$TMP/m.err")"
expect_rc 0 "$SHMBUS" info "$TMP/m.mcap"
out_has "summary:     yes"
out_has "\(0\) $M +$got msgs"
out_has "/shmbus/lost +1 msgs .*encoding json"

# 10. SIGINT (and SIGTERM) with a 1 s interval: the recorder stops (the signal ends its sleep)
#     with a complete file holding every record read before the signal.
newbus J
mkfifo "$TMP/fifo2"
exec 8<>"$TMP/fifo2"
bg bash -c 'exec "$0" "$1" <"$2" 8>&-' "$SHMPUB" "$J" "$TMP/fifo2"
eventually 30 bus_exists "$J"
for sig in INT TERM; do
  bg "$SHMBUS" record --drain-interval 1000 -o "$TMP/j$sig.mcap" "$J" 2>"$TMP/j$sig.err"
  REC=${BGPIDS[-1]}
  eventually 30 recorder_ready "$TMP/j$sig.err"
  base=$(bus_latest "$J")
  eventually 30 reader_cursor "$J" "$REC" $((base + 1))
  seq 1 5 >&8
  eventually 30 reader_cursor "$J" "$REC" $((base + 6))
  kill -"$sig" "$REC"
  wait "$REC" || fail "record --drain-interval (SIG$sig) exited $?: $(cat "$TMP/j$sig.err")"
  expect_rc 0 "$SHMBUS" info "$TMP/j$sig.mcap"
  out_has "summary:     yes"
  out_has "messages:    5$"
done
exec 8>&-

# 11. A bad interval is a usage error (exit 2) that names the range.
expect_rc 2 "$SHMBUS" record --drain-interval 0 -o "$TMP/x.mcap"
err_has "--drain-interval wants milliseconds from 1 to 1000, not '0'"
expect_rc 2 "$SHMBUS" record --drain-interval 5s -o "$TMP/x.mcap"
expect_rc 0 "$SHMBUS" record --help
out_has "--drain-interval MS"

finish
