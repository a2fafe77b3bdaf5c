#!/usr/bin/env bash
# Spin checks tests/model/wake.pml exhaustively: layout 2's eventcount with the wake cascade and
# the writer's direct/tree modes (also with a reader killed mid-cascade) and the pollable descriptor's drain must have no
# invalid end state and no assertion violation; layout 1's protocol, a cascade whose writer
# wakes one, a mode flip done as a plain store, and the old drain order must each be caught. Prints "N passed, M failed".
set -uo pipefail
model="${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/model/wake.pml"
command -v spin >/dev/null || { echo "spin is not installed (Debian package spin)"; echo "0 passed, 1 failed"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
passed=0 failed=0

# check EXPECT NAME SPIN-FLAGS...: EXPECT is "ok" (0 errors) or "bug" (an error found).
check() {
  local expect=$1 name=$2 out errors
  shift 2
  if ! spin "$@" -a "$model" >spin.log 2>&1 || ! cc -O2 -DSAFETY -DMEMLIM=4096 -o pan pan.c 2>cc.log; then
    echo "FAIL $name: could not build the verifier"; cat spin.log cc.log; failed=$((failed + 1)); return
  fi
  out=$(./pan -m100000 2>&1)
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' <<<"$out" | head -1)
  if grep -q "search depth too small\|max search depth too small" <<<"$out"; then
    echo "FAIL $name: search depth too small"; failed=$((failed + 1)); return
  fi
  if [ "$expect" = ok ] && [ "${errors:-1}" = 0 ]; then
    echo "ok   $name: no counterexample ($(grep -o '[0-9]* states, stored' <<<"$out"))"; passed=$((passed + 1))
  elif [ "$expect" = bug ] && [ "${errors:-0}" != 0 ]; then
    echo "ok   $name: counterexample found, as it must be ($(grep -m1 -o 'invalid end state\|assertion violated[^)]*)' <<<"$out"))"
    passed=$((passed + 1))
  else
    echo "FAIL $name: expected $expect, got errors=${errors:-?}"; echo "$out" | tail -20; failed=$((failed + 1))
  fi
}

check ok  "layout 2: writer, 3 sleepers, 2 publishes, from a fresh word (direct, then tree mode)" -DT0=0
check ok  "layout 2: tree mode, a reader killed after its wake, before passing it on" -DKILL -DT0=2 -DNOPROBE
check ok  "layout 2: 2 sleepers, 3 publishes, any T, probes, mode flips" -DNR=2 -DP=3
check ok  "pollable descriptor: drain against a notifier's signal" -DPOLLFD
check bug "negative control: layout 1 loses a wakeup" -DV1
check bug "negative control: a cascade whose writer wakes one, its reader killed" -DKILL -DFW=1 -DFD=1
check bug "negative control: a mode flip stored, not fetch_or'ed, clears a sleeper's W" -DFLIP_STORE
check bug "negative control: the old drain order leaves the descriptor silent" -DPOLLFD_V1
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
