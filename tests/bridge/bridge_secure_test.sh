#!/usr/bin/env bash
# bridge_secure_test.sh - shmbridge with DDS Security between two network namespaces. The
# test makes its own CA, identities and signed governance and permissions documents with
# bridge/make-test-pki.sh (openssl; nothing is committed), then checks:
#   - two secured bridges exchange buses, both ways;
#   - no record crosses the wire in clear (a capture on A's interface finds none of the
#     records' text; bridge_attack_test runs the same capture unsecured as the control);
#   - a participant without credentials (bridge_forge, which forges samples with the bridge's
#     own type) that discovery reaches can neither read the secured topic nor inject into it,
#     while the secured importer receives every record published meanwhile;
#   - a bridge given incomplete security files refuses to start (exit 1), rather than run
#     unsecured;
#   - an unsecured bridge gets nothing from the secured ones.
set -u
BRIDGE=$(realpath "$1")
PROBE=$(realpath "$2")
FORGE=$(realpath "$3")
export TSAN_OPTIONS="${TSAN_OPTIONS:-} suppressions=$(realpath "$4")"
# shellcheck source=netns_lib.sh
. "$(realpath "$5")"
PKI=$(realpath "$6")
SNIFF=$(realpath "$7")
command -v openssl >/dev/null || cannot "'openssl' is not installed (Debian: openssl)"

"$PKI" "$T/pki" hosta hostb >"$T/pki.log" 2>&1 || fail "make-test-pki.sh failed: $(cat "$T/pki.log")"
echo "namespaces $NA $NB, DDS domain $DOM, test CA in $T/pki"

echo "incomplete security files: the bridge refuses to start"
mkdir "$T/broken" && cp "$T/pki/hosta/"*.pem "$T/broken/"
run A "$BRIDGE" -d $DOM -S "$T/broken" -e 'x' >"$T/broken.log" 2>&1
rc=$?
[ $rc = 1 ] || fail "a bridge without governance and permissions exited with $rc, not 1"
grep -q "governance.p7s" "$T/broken.log" || fail "the refusal does not name the missing file"

run A "$PROBE" pub "sec-$S" test/sec 1 1 0 || fail "publish on A"
run B "$PROBE" pub "back-$S" test/back 7 7 0 || fail "publish on B"
on A "$BRIDGE" -d $DOM -S "$T/pki/hosta" -e 'sec-*' -i 'back-*' -s "$T/statA" -t 0.2 \
  >>"$T/bridgeA.log" 2>&1 & BA=$!
on B "$BRIDGE" -d $DOM -S "$T/pki/hostb" -i 'sec-*' -e 'back-*' -s "$T/statB" -t 0.2 \
  >>"$T/bridgeB.log" 2>&1 & BB=$!

echo "two secured bridges exchange buses"
run B "$PROBE" latest "sec-$S" test/sec 1 60 || fail "A's secured bus did not reach B"
run A "$PROBE" latest "back-$S" test/back 7 60 || fail "B's secured bus did not reach A"

echo "a participant without credentials can neither read nor inject"
on A "$FORGE" $DOM siege "sec-$S" "$T/stop" >"$T/siege.out" 2>"$T/siege.log" & FG=$!
wait_for 60 "the forger discovering both bridges" grep -qs "^discovered" "$T/siege.out"
on B "$PROBE" follow "sec-$S" test/sec 100 120 >"$T/follow.out" 2>"$T/follow.log" & FOLLOW=$!
wait_for 60 "follower on B" grep -qsx 1 "$T/follow.out"
on A "$SNIFF" veth-a "seq=" "$T/stopsniff" >"$T/sniff.out" 2>"$T/sniff.log" & SN=$!
wait_for 60 "the capture on A's interface" grep -qs "^capturing" "$T/sniff.out"
run A "$PROBE" pub "sec-$S" test/sec 2 100 5000 || fail "publish on A"
wait "$FOLLOW" || fail "B's follower (order, type tag, seq=100) with the forger injecting"
touch "$T/stopsniff"
wait "$SN" || fail "the capture failed: $(cat "$T/sniff.log")"
read -r _ frames _ clear < <(tail -n 1 "$T/sniff.out")
echo "  capture on A: $frames frames, $clear with a record in clear"
[ "$frames" -gt 0 ] || fail "the capture saw no traffic"
[ "$clear" = 0 ] || fail "$clear frame(s) carried a record in clear"
touch "$T/stop"
wait "$FG" || fail "the forger failed"
cat "$T/siege.out"
read -r _ readers _ writers _ received _ written < <(tail -n 1 "$T/siege.out")
[ "$written" -gt 0 ] || fail "the forger did not write"
[ "$readers" = 0 ] || fail "$readers secured reader(s) matched the forger's writer"
[ "$writers" = 0 ] || fail "$writers secured writer(s) matched the forger's reader"
[ "$received" = 0 ] || fail "the forger read $received secured sample(s)"
grep -Eq "^import shmbus/sec_d$S -> sec-$S: received [0-9]+, .* rejected 0" "$T/statB" ||
  fail "B's importer saw forged samples: $(grep sec "$T/statB")"

echo "an unsecured bridge gets nothing"
on B "$BRIDGE" -d $DOM -i 'sec-*' -p plain. -s "$T/statU" -t 0.2 >>"$T/bridgeU.log" 2>&1 & BU=$!
wait_for 60 "the unsecured bridge running" test -e "$T/statU"
run A "$PROBE" pub "sec-$S" test/sec 101 101 0 || fail "publish on A"
run B "$PROBE" latest "sec-$S" test/sec 101 60 || fail "seq=101 did not reach B's secured bridge"
run B test ! -e "/dev/shm/shmbus.plain.sec-$S" || fail "the unsecured bridge imported a secured bus"

kill -TERM $BA $BB $BU
for p in $BA $BB $BU; do wait $p || fail "bridge $p exited with status $? after SIGTERM"; done
echo "PASS"
