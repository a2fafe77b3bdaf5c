#!/usr/bin/env bash
# run.sh - latency bench of shmbridge: two "hosts" (network namespaces with private /dev/shm)
# joined by a veth pair, as in tests/bridge/bridge_test.sh. Measures, one after the other:
#   1. local shmbus on one host (publisher -> subscriber, same /dev/shm)
#   2. shmbus A -> shmbridge -> DDS over veth -> shmbridge -> shmbus B (one way)
#   3. ddsperf ping/pong over the same veth (round trip; one way ~ half of it)
#   4. ddsperf ping/pong over loopback inside one namespace (Cyclone DDS on one host)
# Usage (root): bazel run --config=opt //bench/bridge:run [-- COUNT RATE_HZ SIZE]
# Defaults: 2000 records at 1000 Hz of 64 bytes. Traffic stays inside the namespaces.
# Knobs (environment): BRIDGE_OPTS, SUB_MODE, DEBUG_LOGS, WRAP_A, SCHEMA_BYTES (README.md).
set -u
BRIDGE=$(realpath "$1") LAT=$(realpath "$2")
COUNT=${3:-2000} RATE=${4:-1000} SIZE=${5:-64}
SECS=$((COUNT / RATE + 3))
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (ip netns)" >&2; exit 1; }
command -v ddsperf >/dev/null || { echo "run.sh: install cyclonedds-tools (ddsperf)" >&2; exit 1; }

S=$(printf '%04x%04x' $RANDOM $RANDOM)
NA=benchA-$S NB=benchB-$S DOM=$((1 + RANDOM % 200)) NET="10.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
T=$(mktemp -d) PIDS=
cleanup() {
  for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.5
  [ -n "${DEBUG_LOGS:-}" ] && cat "$T"/bridge*.log
  for n in "$NA" "$NB"; do kill -KILL $(ip netns pids "$n" 2>/dev/null) 2>/dev/null; done
  wait 2>/dev/null
  ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null; rm -rf "$T"
}
trap cleanup EXIT
ip netns add "$NA" && ip netns add "$NB" || exit 1
ip -n "$NA" link add veth-a type veth peer name veth-b netns "$NB"
ip -n "$NA" addr add "$NET.1/24" dev veth-a
ip -n "$NB" addr add "$NET.2/24" dev veth-b
for n in "$NA" "$NB"; do ip -n "$n" link set lo multicast on; ip -n "$n" link set lo up; done
ip -n "$NA" link set veth-a up; ip -n "$NB" link set veth-b up
host() {
  ip netns exec "$1" unshare -m --propagation private \
    sh -c 'mount -t tmpfs -o mode=1777 shm /dev/shm && exec sleep 3600' >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    [ "$(cat /proc/$pid/comm 2>/dev/null)" = sleep ] && { echo $pid; return; }
    sleep 0.05
  done
}
HA=$(host "$NA") HB=$(host "$NB"); PIDS="$HA $HB"
on() { # on A|B|L CMD...  (L: host A, Cyclone DDS on its loopback)
  local h=$HA ifc=veth-a
  [ "$1" = B ] && h=$HB ifc=veth-b
  [ "$1" = L ] && ifc=lo
  shift
  CYCLONEDDS_URI="<CycloneDDS><Domain><General><Interfaces><NetworkInterface name=\"$ifc\"/></Interfaces></General></Domain></CycloneDDS>" \
    exec nsenter -t "$h" -m -n -- "$@"
}
wait_ready() { for _ in $(seq 200); do grep -q ready "$1" && return; sleep 0.05; done; }

echo "# $COUNT records of $SIZE bytes at $RATE Hz (schema ${SCHEMA_BYTES:-0} bytes); one-way latency in us; $(uname -r), $(nproc) cores"
echo "## 1. local shmbus (hybrid wait)"
on A "$LAT" sub local-lat "$COUNT" $((SECS + 10)) >"$T/local" & p=$!
sleep 0.2
(on A "$LAT" pub local-lat "$COUNT" "$RATE" "$SIZE")
wait $p; grep received "$T/local"

echo "## 2. shmbus A -> shmbridge -> veth -> shmbridge -> shmbus B (hybrid wait)"
# -P: the bench buses are 0600 (owner-only), which shmbridge exports only when told to.
on A ${WRAP_A:-} "$BRIDGE" -d $DOM -e "lat-*" -P "lat-*" ${BRIDGE_OPTS:-} >"$T/bridgeA.log" 2>&1 & PIDS="$PIDS $!"
on B "$BRIDGE" -d $DOM -i "lat-*" ${BRIDGE_OPTS:-} >"$T/bridgeB.log" 2>&1 & PIDS="$PIDS $!"
# SCHEMA_BYTES=N: the bus carries an N-byte schema, which travels with every sample.
(on A "$LAT" pub lat-bridge 1 1000 "$SIZE" ${SCHEMA_BYTES:-0}) # creates the bus on B
on B "$LAT" sub lat-bridge "$COUNT" $((SECS + 20)) ${SUB_MODE:-hybrid} >"$T/bridge" & p=$!
wait_ready "$T/bridge"
(on A "$LAT" pub lat-bridge "$COUNT" "$RATE" "$SIZE" ${SCHEMA_BYTES:-0})
wait $p; grep received "$T/bridge"

echo "## 3. ddsperf ping/pong over the veth (round trip)"
on B ddsperf -i $DOM -D $((SECS + 3)) pong >"$T/pong" 2>&1 & PIDS="$PIDS $!"
(on A ddsperf -i $DOM -D "$SECS" ping "${RATE}Hz" size "$SIZE") >"$T/ping" 2>&1
grep -E "^\[[0-9]+\].*mean" "$T/ping" | tail -n 2

echo "## 4. ddsperf ping/pong over loopback, one host (round trip)"
on L ddsperf -i $((DOM + 1)) -D $((SECS + 3)) pong >"$T/lpong" 2>&1 & PIDS="$PIDS $!"
(on L ddsperf -i $((DOM + 1)) -D "$SECS" ping "${RATE}Hz" size "$SIZE") >"$T/lping" 2>&1
grep -E "^\[[0-9]+\].*mean" "$T/lping" | tail -n 2
