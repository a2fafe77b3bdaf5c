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

finish
