# netns_lib.sh - two "hosts" for the shmbridge tests, sourced by the test scripts: two network
# namespaces joined by a veth pair, each with its own mount namespace (private /dev/shm) and
# IPC namespace, entered with nsenter. Defines: fail, cannot, wait_for, on, run, dump, and
# $S (a unique suffix), $DOM (a DDS domain id), $T (a temporary directory), $HA/$HB.
# Needs root, `ip netns` (iproute2) and nsenter/unshare (util-linux). Without them the test
# FAILS, unless SHMBUS_SKIP_NETNS=1, then it says SKIPPED.

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
for t in ip nsenter unshare mount setpriv; do
  command -v "$t" >/dev/null || cannot "'$t' is not installed (Debian: iproute2, util-linux, mount)"
done

S=$(printf '%04x%04x' $RANDOM $RANDOM)
NA=shmbusA-$S NB=shmbusB-$S
DOM=$((1 + RANDOM % 200))
NET="10.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
T=$(mktemp -d "${TEST_TMPDIR:-/tmp}/bridge.XXXXXX")
chmod 755 "$T"
HA= HB=

dump() {
  for f in "$T"/*.log "$T"/stat* "$T"/*.out; do
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
for n in "$NA" "$NB"; do ip -n "$n" link set lo up; done
ip -n "$NA" link set veth-a up
ip -n "$NB" link set veth-b up

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
wait_for() { # wait_for SECONDS DESCRIPTION CMD...: poll until CMD succeeds
  local end=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ $SECONDS -lt $end ] || fail "$what: not within the deadline"
    sleep 0.05
  done
}
logged() { grep -qF -- "$2" "$T/$1"; } # logged FILE TEXT
