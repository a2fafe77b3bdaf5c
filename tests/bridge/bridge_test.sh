#!/usr/bin/env bash
# bridge_test.sh - shmbridge between two "hosts": two network namespaces joined by a veth pair,
# each with its own mount namespace and private /dev/shm (so each has its own buses, as two
# machines do). Checks, with generous deadlines and no timing assertion:
#   - a record published on A's bus arrives on B's bus of the same name, in order, with A's type
#     tag, and every record is either delivered or counted lost by B's bridge;
#   - a late joiner on B gets the latest value at once (transient-local);
#   - killing (SIGKILL) and restarting either bridge resumes the flow, without duplicates;
#   - both directions on both hosts without loops: B's bus goes to A, A's imported bus is never
#     exported back; a host never imports its own exports, unless --allow-same-host (then under
#     a prefix, also best-effort against a reliable writer);
#   - a replaced source bus (new type, capacity, versions) replaces the imported one;
#   - a typed source bus arrives with its schema (same `shmbus schema` text and stat hash, same
#     JSON from `shmsub -F json`); a new schema of the same size replaces the imported bus; an
#     untyped bus stays untyped;
#   - SIGTERM stops both bridges cleanly (exit status 0), and stops a bridge whose network
#     interface has disappeared (Cyclone DDS cannot stop its receive threads then).
# Needs root, `ip netns` (iproute2) and nsenter/unshare (util-linux). Without them it FAILS,
# unless SHMBUS_SKIP_NETNS=1 (bazel test --test_env=SHMBUS_SKIP_NETNS=1), then it says SKIPPED.
set -u
BRIDGE=$(realpath "$1")
PROBE=$(realpath "$2")
# Under --config=tsan: races inside the uninstrumented Cyclone DDS library are not ours.
export TSAN_OPTIONS="${TSAN_OPTIONS:-} suppressions=$(realpath "$3")"
SHMPUB=$(realpath "$4") SHMSUB=$(realpath "$5") SHMBUS=$(realpath "$6")

fail() { echo "FAIL: $*" >&2; dump; exit 1; }
cannot() {
  if [ "${SHMBUS_SKIP_NETNS:-}" = 1 ]; then
    echo "SKIPPED (SHMBUS_SKIP_NETNS=1): bridge test not run: $*"; exit 0
  fi
  echo "FAIL: cannot run the bridge test: $*." >&2
  echo "Run it as root on a kernel with network namespaces, or set SHMBUS_SKIP_NETNS=1 to skip it." >&2
  exit 1
}

[ "$(id -u)" = 0 ] || cannot "not root (network namespaces need CAP_SYS_ADMIN)"
for t in ip nsenter unshare mount; do
  command -v "$t" >/dev/null || cannot "'$t' is not installed (Debian: iproute2, util-linux, mount)"
done

S=$(printf '%04x%04x' $RANDOM $RANDOM)
NA=shmbusA-$S NB=shmbusB-$S
DOM=$((1 + RANDOM % 200))
NET="10.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
T=$(mktemp -d "${TEST_TMPDIR:-/tmp}/bridge.XXXXXX")
BUS=sens-$S BACK=back-$S
HA= HB= BA= BB= BA2= BA3= FOLLOW=

dump() {
  for f in "$T"/*.log "$T"/stat*; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
  done >&2
}
cleanup() {
  # Everything that runs "on" a host is in its network namespace: kill it all.
  for n in "$NA" "$NB"; do kill -KILL $(ip netns pids "$n" 2>/dev/null) 2>/dev/null; done
  wait 2>/dev/null
  ip netns del "$NA" 2>/dev/null
  ip netns del "$NB" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$NA" || cannot "'ip netns add' failed"
ip netns add "$NB" || cannot "'ip netns add' failed"
ip -n "$NA" link add veth-a type veth peer name veth-b netns "$NB" || cannot "no veth pair"
ip -n "$NA" addr add "$NET.1/24" dev veth-a
ip -n "$NB" addr add "$NET.2/24" dev veth-b
for n in "$NA" "$NB"; do
  ip -n "$n" link set lo up
done
ip -n "$NA" link set veth-a up
ip -n "$NB" link set veth-b up

# A host: a process holding its network namespace, a mount namespace with a private /dev/shm
# and an IPC namespace of its own (buses' wake pages are System V segments); every command of
# that host enters all three with nsenter, and they vanish with the holder.
host() { # host NETNS -> prints the holder's pid
  ip netns exec "$1" unshare -m -i --propagation private \
    sh -c 'mount -t tmpfs -o mode=1777 shm /dev/shm && exec sleep 3600' >/dev/null 2>&1 &
  local pid=$! i
  for i in $(seq 100); do
    [ "$(cat /proc/$pid/comm 2>/dev/null)" = sleep ] && { echo $pid; return 0; }
    sleep 0.05
  done
  return 1
}
HA=$(host "$NA") || cannot "cannot make a mount namespace with a private /dev/shm (unshare -m)"
HB=$(host "$NB") || cannot "cannot make a mount namespace with a private /dev/shm (unshare -m)"
on() { # on A|B CMD...: run CMD on that host; in the background, $! is CMD's own pid
  local h=$HA ifc=veth-a
  [ "$1" = B ] && h=$HB ifc=veth-b
  shift
  CYCLONEDDS_URI="<CycloneDDS><Domain><General><Interfaces><NetworkInterface name=\"$ifc\"/></Interfaces></General></Domain></CycloneDDS>" \
    exec nsenter -t "$h" -m -n -i -- "$@"
}
run() { (on "$@"); }
start_a() { on A "$BRIDGE" -d $DOM -e 'sens-*' -i '*' -s "$T/statA" -t 0.2 >>"$T/bridgeA.log" 2>&1 & BA=$!; }
start_b() { on B "$BRIDGE" -d $DOM -i 'sens-*' -e '*' -s "$T/statB" -t 0.2 >>"$T/bridgeB.log" 2>&1 & BB=$!; }
seen() { grep -qx "$1" "$T/follow.out"; }
wait_for() { # wait_for SECONDS DESCRIPTION CMD...: poll until CMD succeeds
  local end=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ $SECONDS -lt $end ] || fail "$what: not within the deadline"
    sleep 0.05
  done
}
stat_sum() { # received + lost on B's import line of $BUS
  awk -v b="$BUS" '$1 == "import" && $4 == b":" { gsub(",", ""); print $6 + $8 }' "$T/statB" 2>/dev/null
}

echo "namespaces $NA $NB, veth $NET.0/24, DDS domain $DOM"
# Host A has one record before any bridge runs; B a bus of its own for the other direction.
run A "$PROBE" pub "$BUS" test/imu 1 1 0 || fail "publish on A"
run B "$PROBE" pub "$BACK" test/back 7 7 0 || fail "publish on B"
start_a
start_b

echo "late joiner: B gets A's latest record once both bridges run"
run B "$PROBE" latest "$BUS" test/imu 1 30 || fail "late joiner on B did not get seq=1"
on B "$PROBE" follow "$BUS" test/imu 240 50 >"$T/follow.out" 2>"$T/follow.log" & FOLLOW=$!
wait_for 10 "follower on B got seq=1" seen 1

echo "flow: 199 records on A, 2 ms apart"
run A "$PROBE" pub "$BUS" test/imu 2 200 2000 || fail "publish on A"
wait_for 20 "seq=200 on B" seen 200
sum_is_200() { [ "$(stat_sum)" = 200 ]; }
wait_for 10 "B's bridge accounts for all 200 records (received + lost)" sum_is_200
got=$(awk '$1 <= 200' "$T/follow.out" | wc -l)
lost=$(awk -v b="$BUS" '$1 == "import" && $4 == b":" { gsub(",", ""); print $8 }' "$T/statB")
echo "  B received $got of 200, bridge counted $lost lost"
[ $((got + lost)) -eq 200 ] || fail "received $got + lost $lost != 200"
run B grep -Eq "^received= *$got\$" "/dev/shm/shmbridge.$BUS" || fail "B's marker does not show received=$got"

echo "restart of B's bridge (SIGKILL) resumes"
kill -KILL $BB; wait $BB 2>/dev/null
run A "$PROBE" pub "$BUS" test/imu 201 210 2000 || fail "publish on A"
start_b
wait_for 20 "seq=210 on B after B's bridge restarted" seen 210
run A "$PROBE" pub "$BUS" test/imu 211 220 2000 || fail "publish on A"
wait_for 20 "seq=220 on B" seen 220

echo "restart of A's bridge (SIGKILL) resumes"
kill -KILL $BA; wait $BA 2>/dev/null
run A "$PROBE" pub "$BUS" test/imu 221 230 2000 || fail "publish on A"
start_a
wait_for 20 "seq=230 on B after A's bridge restarted" seen 230
run A "$PROBE" pub "$BUS" test/imu 231 240 2000 || fail "publish on A"
wait "$FOLLOW" || fail "follower on B (order, type tag or seq=240), see follow.log"
FOLLOW=

echo "other direction and no loops"
run A "$PROBE" latest "$BACK" test/back 7 30 || fail "B's bus did not reach A"
wait_for 5 "B's status file" test -s "$T/statB"
grep -q "^export $BACK " "$T/statB" || fail "B does not export its own bus $BACK"
grep -q "^export $BUS " "$T/statB" && fail "B re-exported the imported bus $BUS (loop)"
grep -q "^import shmbus/sens" "$T/statA" && fail "A imported its own bus back (loop)"
run A sh -c "test ! -e /dev/shm/shmbridge.$BUS" || fail "A's bus $BUS got an import marker"

echo "same host: only with --allow-same-host, under a prefix"
on A "$BRIDGE" -d $DOM -i 'sens-*' -p copy. --allow-same-host -b -s "$T/statA2" -t 0.2 \
  >>"$T/bridgeA2.log" 2>&1 & BA2=$!
on A "$BRIDGE" -d $DOM -i 'sens-*' -p nope. -s "$T/statA3" -t 0.2 >>"$T/bridgeA3.log" 2>&1 & BA3=$!
own_seen() { # "import T -> B: received N, lost N, dup N, dds-lost N, own N, ..." with own > 0
  awk '$1 == "import" { gsub(",", ""); if ($13 == "own" && $14 > 0) ok = 1 } END { exit !ok }' \
    "$T/statA3" 2>/dev/null
}
# Readiness without sleeping: the best-effort copy gets no transient-local replay, so offer
# one record at a time until it received one (its reader has matched), then the real ones.
copy_ready() { # publish one more seq below 241; true once A2's status shows a received record
  NEXT=$((NEXT + 1))
  run A "$PROBE" pub "$BUS" test/imu $((NEXT % 1000 + 100000)) $((NEXT % 1000 + 100000)) 0 || return 1
  awk '$1 == "import" && $4 == "copy.'"$BUS"':" { gsub(",", ""); if ($6 > 0) ok = 1 } END { exit !ok }' \
    "$T/statA2" 2>/dev/null
}
NEXT=0
wait_for 60 "the --allow-same-host best-effort copy matching A's writer" copy_ready
run A "$PROBE" pub "$BUS" test/imu 241 245 2000 || fail "publish on A"
run A "$PROBE" latest "copy.$BUS" test/imu 245 30 || fail "--allow-same-host -p copy. did not import"
wait_for 20 "the same-host importer without --allow-same-host dropping A's own records" own_seen
run A sh -c "test ! -e /dev/shm/shmbus.nope.$BUS" || fail "imported this host's own export"

echo "source bus replaced (new type tag and capacity, versions from 1): B follows"
run A "$PROBE" pub "$BUS" test/imu2 1 5 2000 4096 || fail "replace the bus on A"
run B "$PROBE" latest "$BUS" test/imu2 5 30 4096 || fail "B's bus did not follow the replacement"

echo "typed bus: B's copy carries A's schema, follows a new one, and untyped stays untyped"
TYP=sens-typ-$S
echo 'module demo { struct Pose { double x; long n; char name[8]; }; };' >"$T/v1.idl"
# The same C layout (24 bytes) under another schema: only the hash tells them apart.
echo 'module demo { struct Pose { double x; long count; char name[8]; }; };' >"$T/v2.idl"
schema_of() { # schema_of A|B BUS: the "schema" object of shmbus stat --json, or "none"
  run "$1" "$SHMBUS" stat --json "$2" 2>/dev/null | grep -o '"schema":{[^}]*}' || echo none
}
same_schema() { # same_schema BUS: B's copy has A's schema, and it is not none
  local a
  a=$(schema_of A "$1")
  [ "$a" != none ] && [ "$(schema_of B "$1")" = "$a" ]
}
json_is() { # json_is HOST BUS TEXT: shmsub -F json prints TEXT for the latest record
  [ "$(run "$1" "$SHMSUB" "$2" -1 -F json -W 30 2>/dev/null)" = "$3" ]
}
run A "$SHMPUB" "$TYP" --schema "$T/v1.idl" --type demo::Pose -F json --mode 0644 \
  -m '{"x":1.5,"n":7,"name":"one"}' || fail "typed publish on A"
wait_for 30 "B's bus $TYP with A's schema" same_schema "$TYP"
h1=$(schema_of B "$TYP")
echo "  B: $h1"
run A "$SHMBUS" schema "$TYP" >"$T/schemaA" && run B "$SHMBUS" schema "$TYP" >"$T/schemaB" ||
  fail "shmbus schema $TYP"
cmp "$T/v1.idl" "$T/schemaB" && cmp "$T/schemaA" "$T/schemaB" || fail "B's schema text differs"
json_is A "$TYP" '{"x":1.5,"n":7,"name":"one"}' || fail "shmsub -F json on A"
json_is B "$TYP" '{"x":1.5,"n":7,"name":"one"}' || fail "shmsub -F json on B: $(run B "$SHMSUB" "$TYP" -1 -F json -W 5 2>&1)"
run A "$SHMPUB" "$TYP" --schema "$T/v2.idl" --type demo::Pose -F json --mode 0644 \
  -m '{"x":2.5,"count":8,"name":"two"}' || fail "typed publish of the new schema on A"
v2_arrived() { same_schema "$TYP" && [ "$(schema_of B "$TYP")" != "$h1" ]; }
wait_for 30 "B's bus $TYP replaced with A's new schema" v2_arrived
echo "  B: $(schema_of B "$TYP")"
json_is B "$TYP" '{"x":2.5,"count":8,"name":"two"}' || fail "shmsub -F json on B after the change"
[ "$(schema_of B "$BUS")" = none ] || fail "the untyped bus $BUS has a schema on B: $(schema_of B "$BUS")"
run B "$SHMBUS" schema "$BUS" >/dev/null 2>&1 && fail "shmbus schema $BUS succeeds on B"

echo "clean shutdown on SIGTERM"
kill -TERM $BA $BB $BA2 $BA3
for p in $BA $BB $BA2 $BA3; do
  end=$((SECONDS + 10))
  while kill -0 $p 2>/dev/null; do
    [ $SECONDS -lt $end ] || fail "bridge $p did not stop within 10 s of SIGTERM"
    sleep 0.05
  done
  wait $p || fail "bridge $p exited with status $? after SIGTERM"
done
BA= BB= BA2= BA3=

echo "stops within the watchdog's 5 s even when its network interface is gone"
start_a
sleep 1
ip -n "$NA" link del veth-a || fail "cannot remove the veth pair"
kill -TERM $BA
end=$((SECONDS + 15))
while kill -0 $BA 2>/dev/null; do
  [ $SECONDS -lt $end ] || fail "bridge did not stop within 15 s of SIGTERM without its interface"
  sleep 0.1
done
wait $BA; echo "  exit status $?"
BA=
echo "status of A:"; cat "$T/statA"; echo "status of B:"; cat "$T/statB"
echo "PASS"
