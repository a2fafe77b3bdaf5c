#!/usr/bin/env bash
# bridge_attack_test.sh - issue 21's attacks on an unsecured bridge, replayed by a hostile DDS
# participant (bridge_forge, built from the bridge's own generated type) on host A against the
# importer on host B, plus the exporter's and the process's own hazards. Each step waits for
# the bridge to report what it did (log or status file), then checks the real state of the
# buses; no timing assertion. What must hold without DDS Security:
#   1. a forged sample never takes over a local bus the importer did not create;
#   2. the bus a sample asks for is bounded (--max-bus-bytes), and so is the number of topics
#      (--max-topics); nothing is left behind for a refused sample;
#   3. a forged version 2^64-1 with the real source's origin is refused, the real source keeps
#      flowing and the marker never saves the forged version;
#   4. a second origin on a topic is refused and reported while the first is present; the bus
#      is not replaced;
#   5. a bus that not every user can read is not exported, unless --export-private;
#   6. a marker planted by another user does not stop a bus from being exported; a stale
#      marker of the bridge's user (its bus is gone) does not block a new import;
#   7. a reader of the bridge's log that goes away (SIGPIPE) does not kill it;
#   8. a schema that does not match its hash, a schema name that is not printable, or one that
#      is not terminated within its bound never becomes an imported bus's schema (issue 13).
set -u
BRIDGE=$(realpath "$1")
PROBE=$(realpath "$2")
FORGE=$(realpath "$3")
export TSAN_OPTIONS="${TSAN_OPTIONS:-} suppressions=$(realpath "$4")"
# shellcheck source=netns_lib.sh
. "$(realpath "$5")"
SNIFF=$(realpath "$6")
SHMBUS=$(realpath "$7")

echo "namespaces $NA $NB, DDS domain $DOM"
run A "$PROBE" pub "sens-$S" test/imu 1 1 0 || fail "publish sens on A"
run A "$PROBE" pub "priv-$S" test/priv 1 1 0 256 0600 || fail "publish priv on A"
run A "$PROBE" pub "pp-$S" test/pp 1 1 0 256 0600 || fail "publish pp on A"
# B's own bus, its writer gone for now (a restart): the importer must never take it.
run B "$PROBE" pub "victim-$S" test/local 1 1 0 || fail "publish victim on B"
# A stale marker of B's bridge user, for a bus that no longer exists, claiming version 10^6.
run B sh -c "printf 'pid=%10d\norigin=%016x\nbus_id=%20d\nversion=%20d\n' 1 $((0x5eed)) 1 1000000 \
  > /dev/shm/shmbridge.stale-$S" || fail "plant a stale marker on B"

on A "$BRIDGE" -d $DOM -e 'sens-*' -e 'priv-*' -e 'pp-*' -P 'pp-*' -s "$T/statA" -t 0.2 \
  >>"$T/bridgeA.log" 2>&1 & BA=$!
on B "$BRIDGE" -d $DOM -i '*' --max-bus-bytes 1M --max-topics 8 -s "$T/statB" -t 0.2 \
  >>"$T/bridgeB.log" 2>&1 & BB=$!
run B "$PROBE" latest "sens-$S" test/imu 1 30 || fail "B did not import A's world-readable bus"

echo "5: a bus not every user can read is not exported, unless --export-private"
run B "$PROBE" latest "pp-$S" test/pp 1 30 || fail "the --export-private bus did not reach B"
wait_for 60 "A's status: priv-$S not exported" grep -qs "^export priv-$S: not exported (mode 0600" "$T/statA"
grep -qs "^export priv-$S -> " "$T/statA" && fail "A exports the 0600 bus priv-$S"
run B test ! -e "/dev/shm/shmbus.priv-$S" || fail "the 0600 bus priv-$S reached B"

echo "1: a forged sample for a local bus B never imported changes nothing"
run A "$FORGE" $DOM pub "victim-$S" type=evil slots=2 capacity=64 payload=pwned || fail "forger"
wait_for 60 "B refusing to write its local bus" logged bridgeB.log "bus victim-$S exists and was not made"
run B "$PROBE" latest "victim-$S" test/local 1 5 256 || fail "B's local bus victim-$S was changed"
run B "$PROBE" pub "victim-$S" test/local 2 2 0 || fail "B's local writer could not restart"
wait_for 60 "B's status: victim-$S not written" grep -qs "victim-$S: .*(not written" "$T/statB"

echo "6a: a stale marker of the bridge's user (its bus is gone) does not block a new import"
run A "$FORGE" $DOM pub "stale-$S" bus_id=1 version=5 type=test/st slots=2 capacity=64 \
  payload=seq=5 || fail "forger"
run B "$PROBE" latest "stale-$S" test/st 5 30 || fail "a stale marker blocked a new import"

echo "8: schemas: a hash that does not match, unprintable and unterminated names are refused"
IDL='module m { struct T { long x; }; };'
typed="schema_name=m::T schema_encoding=omgidl message_encoding=x-shmbus-cstruct"
schema_of() { # schema_of BUS: the "schema" object of B's shmbus stat --json, or "none"
  run B "$SHMBUS" stat --json "$1" 2>/dev/null | grep -o '"schema":{[^}]*}' || echo none
}
# shellcheck disable=SC2086
run A "$FORGE" $DOM pub "sch-$S" type=t/s slots=2 capacity=64 $typed schema="$IDL" \
  schema_hash=1234 payload=seq=1 || fail "forger"
wait_for 60 "B refusing a schema whose hash does not match" \
  logged bridgeB.log "import shmbus/sch_d$S: sample refused: its schema"
run B test ! -e "/dev/shm/shmbus.sch-$S" || fail "a bus was made for a schema with a wrong hash"
# shellcheck disable=SC2086
run A "$FORGE" $DOM pub "sch-$S" type=t/s slots=2 capacity=64 $typed schema="$IDL" \
  version=2 payload=seq=2 || fail "forger"
run B "$PROBE" latest "sch-$S" t/s 2 30 64 || fail "the same schema with its right hash was not imported"
schema_of "sch-$S" | grep -q '"type_name":"m::T",.*"length":35,' ||
  fail "B's bus sch-$S does not carry the forged schema: $(schema_of "sch-$S")"
# shellcheck disable=SC2086
run A "$FORGE" $DOM pub "np-$S" type=t/s slots=2 capacity=64 $typed schema_name="$(printf 'm::\tT')" \
  schema="$IDL" payload=seq=1 || fail "forger"
wait_for 60 "B refusing an unprintable schema name" \
  logged bridgeB.log "import shmbus/np_d$S: sample refused: its schema"
# An unterminated 256-byte name (the bound is 255 and a NUL): Cyclone DDS refuses a string
# longer than its bound when it deserialises, the importer again if one got through. Either way
# no bus; a correct sample after it, from the same kind of writer, is imported.
# shellcheck disable=SC2086
run A "$FORGE" $DOM pub "nf-$S" type=t/s slots=2 capacity=64 $typed name_fill=N schema_hash=1 \
  schema="$IDL" payload=seq=1 || fail "forger"
run B test ! -e "/dev/shm/shmbus.nf-$S" || fail "a bus was made for an unterminated schema name"
# shellcheck disable=SC2086
run A "$FORGE" $DOM pub "nf-$S" type=t/s slots=2 capacity=64 $typed schema="$IDL" version=2 \
  payload=seq=2 || fail "forger"
run B "$PROBE" latest "nf-$S" t/s 2 30 64 || fail "a correct sample after the unterminated one"
schema_of "nf-$S" | grep -q '"type_name":"m::T",' || fail "nf-$S: $(schema_of "nf-$S")"
if logged bridgeB.log "import shmbus/nf_d$S: sample refused: its schema"; then
  echo "  the unterminated name was refused by the importer"
else
  echo "  the unterminated name was dropped by Cyclone DDS (longer than its bound), unseen"
fi
run B test ! -e "/dev/shm/shmbus.np-$S" || fail "a bus was made for an unprintable schema name"

echo "2: the bus a sample asks for is bounded, and so is the number of topics"
run A "$FORGE" $DOM pub "big-$S" slots=2 capacity=1048576 || fail "forger"
wait_for 60 "B refusing a 2 MiB bus" logged bridgeB.log "more than --max-bus-bytes 1048576"
run B sh -c "test ! -e /dev/shm/shmbus.big-$S && test ! -e /dev/shm/shmbridge.big-$S" ||
  fail "a bus or a marker was left behind for the refused sample"
on A "$FORGE" $DOM flood "many-$S-" 12 "$T/stop" >/dev/null 2>"$T/flood.log" &
wait_for 60 "B refusing topics beyond --max-topics 8" \
  grep -qs "topic(s) not imported: --max-topics 8 reached" "$T/statB"
logged bridgeB.log "not imported: --max-topics 8 reached" || fail "the topic cap was not logged"
touch "$T/stop"

echo "3: a forged version 2^64-1 with the real source's origin is refused"
origin=$(run B sed -n 's/^origin=//p' "/dev/shm/shmbridge.sens-$S")
busid=$(run B sed -n 's/^bus_id= *//p' "/dev/shm/shmbridge.sens-$S")
[ -n "$origin" ] && [ -n "$busid" ] || fail "no marker for sens-$S on B"
run A "$FORGE" $DOM pub "sens-$S" origin="$origin" bus_id="$busid" version=18446744073709551615 \
  type=test/imu slots=8 capacity=256 payload=seq=999 || fail "forger"
wait_for 60 "B refusing the implausible version" logged bridgeB.log "implausible version 18446744073709551615"
# The capture bridge_secure_test relies on, as its control: unsecured, records are in clear.
on A "$SNIFF" veth-a "seq=" "$T/stopsniff" >"$T/sniff.out" 2>"$T/sniff.log" & SN=$!
wait_for 60 "the capture on A's interface" grep -qs "^capturing" "$T/sniff.out"
run A "$PROBE" pub "sens-$S" test/imu 2 5 2000 || fail "publish on A"
run B "$PROBE" latest "sens-$S" test/imu 5 30 || fail "one forged sample blocked the real source"
touch "$T/stopsniff"
wait "$SN" || fail "the capture failed: $(cat "$T/sniff.log")"
read -r _ frames _ clear < <(tail -n 1 "$T/sniff.out")
[ "$clear" -gt 0 ] || fail "control: the capture saw no record in clear in $frames unsecured frames"
ver=$(run B sed -n 's/^version= *//p' "/dev/shm/shmbridge.sens-$S")
[ -n "$ver" ] && awk -v v="$ver" 'BEGIN { exit !(length(v) < 3 && v <= 5) }' || fail "B's marker saved version $ver"

echo "4: a second origin on a topic is reported, not interleaved"
ino=$(run B stat -c %i "/dev/shm/shmbus.sens-$S")
run A "$FORGE" $DOM pub "sens-$S" origin=bad bus_id=1 version=1 type=evil slots=2 capacity=64 \
  payload=pwned || fail "forger"
wait_for 60 "B refusing a second origin" logged bridgeB.log "sample from a second origin, host 0000000000000bad"
run A "$PROBE" pub "sens-$S" test/imu 6 8 2000 || fail "publish on A"
run B "$PROBE" latest "sens-$S" test/imu 8 30 || fail "the real source stopped after a second origin"
[ "$(run B stat -c %i "/dev/shm/shmbus.sens-$S")" = "$ino" ] || fail "B's bus was replaced"

echo "6b: a marker planted by another user does not stop an export"
on A "$PROBE" pub "mk-$S" test/mk 1 100000 100000 & MK=$!
wait_for 60 "bus mk-$S on A" run A test -e "/dev/shm/shmbus.mk-$S"
run A setpriv --reuid=65534 --regid=65534 --clear-groups \
  sh -c "printf 'pid=%10d\n' $MK > /dev/shm/shmbridge.mk-$S" || fail "cannot plant a marker"
on A "$BRIDGE" -d $DOM -e 'mk-*' -s "$T/statA2" -t 0.2 >>"$T/bridgeA2.log" 2>&1 & BA2=$!
wait_for 60 "A exporting mk-$S despite nobody's marker" grep -qs "^export mk-$S -> " "$T/statA2"

echo "7: SIGPIPE does not kill the bridge"
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
on B "$BRIDGE" -d $DOM -v -e "victim-$S" -s "$T/statP" -t 0.1 2>"$T/fifo" 3<&- & BP=$!
wait_for 60 "the -v bridge exporting" grep -qs "^export victim-$S -> " "$T/statP"
exec 3<&- # its only reader goes: the next status line on stderr gets EPIPE
for i in 1 2 3; do # three more rounds of "status to stderr, then the status file"
  ino=$(stat -c %i "$T/statP")
  wait_for 60 "the status file rewritten" sh -c "[ \"\$(stat -c %i '$T/statP')\" != $ino ]"
done
kill -0 $BP 2>/dev/null || { wait $BP; fail "the bridge died with status $? when its log reader went"; }

echo "clean shutdown"
kill $MK 2>/dev/null
kill -TERM $BA $BB $BA2 $BP
for p in $BA $BB $BA2 $BP; do
  wait $p || fail "bridge $p exited with status $? after SIGTERM"
done
echo "status of B:"; cat "$T/statB"
echo "PASS"
