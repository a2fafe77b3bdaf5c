# lib.sh - helpers for the tools' shell tests (sourced). Runs the built binaries from the
# test's runfiles; every bus a test creates gets a unique name and is removed on exit.
set -uo pipefail

RUNFILES=${TEST_SRCDIR:?run under bazel test}/${TEST_WORKSPACE:-shmbus}
SHMPUB=$RUNFILES/tools/shmpub
SHMSUB=$RUNFILES/tools/shmsub
SHMBUS=$RUNFILES/tools/shmbus
TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/tools.XXXXXX")
FAILS=0
CHECKS=0
BUSES=()
BGPIDS=()

cleanup() {
  local pid b
  for pid in "${BGPIDS[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  for b in "${BUSES[@]}"; do "$SHMBUS" rm --force "$b" >/dev/null 2>&1; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# newbus - a unique bus name (pid + random), remembered for removal: newbus VAR
RUN="tt-$$-$RANDOM$RANDOM"
NBUS=0
newbus() {
  local n
  NBUS=$((NBUS + 1))
  n=$(printf '%s-%03d-%s' "$RUN" "$NBUS" "$1")
  BUSES+=("$n")
  printf -v "$1" '%s' "$n"
}

bg() { "$@" & BGPIDS+=($!); }

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { CHECKS=$((CHECKS + 1)); }

# expect_rc CODE CMD... - run CMD (stdout -> $TMP/out, stderr -> $TMP/err), check its status.
expect_rc() {
  local want=$1 got
  shift
  "$@" >"$TMP/out" 2>"$TMP/err"
  got=$?
  if [ "$got" -ne "$want" ]; then
    fail "exit status $got, wanted $want: $*"
    sed 's/^/  stdout: /' "$TMP/out" | head -5 >&2
    sed 's/^/  stderr: /' "$TMP/err" | head -5 >&2
  else
    pass
  fi
}

# out_has / err_has REGEX - the last expect_rc's stdout / stderr matches REGEX.
out_has() { if grep -Eq -- "$1" "$TMP/out"; then pass; else fail "stdout lacks /$1/: $(head -c 300 "$TMP/out")"; fi; }
err_has() { if grep -Eq -- "$1" "$TMP/err"; then pass; else fail "stderr lacks /$1/: $(head -c 300 "$TMP/err")"; fi; }
out_is() { if [ "$(cat "$TMP/out")" = "$1" ]; then pass; else fail "stdout is '$(head -c 300 "$TMP/out")', wanted '$1'"; fi; }
err_empty() { if [ ! -s "$TMP/err" ]; then pass; else fail "stderr not empty: $(head -c 300 "$TMP/err")"; fi; }

# eventually SECONDS CMD... - retry CMD until it succeeds or the deadline passes.
eventually() {
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then fail "never true within deadline: $*"; return 1; fi
    sleep 0.02
  done
  pass
}

# reader_asleep BUS [PID] - the bus's reader registry lists a reader (process PID, if given)
# asleep in a wait: it is subscribed, with its cursor set, and a publish now reaches it.
reader_asleep() {
  if [ $# -ge 2 ]; then
    "$SHMBUS" stat "$1" --json | grep -Eq "\{\"pid\":$2,[^}]*\"asleep\":true"
  else
    "$SHMBUS" stat "$1" --json | grep -q '"asleep":true'
  fi
}
# shmsub (pid $1) waits for its bus to appear: it watches /dev/shm with inotify.
waits_for_bus() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q inotify; }
bus_exists() { "$SHMBUS" stat "$1" >/dev/null 2>&1; }
bus_latest() { "$SHMBUS" stat "$1" --json | sed 's/.*"latest":\([0-9]*\).*/\1/'; }

# blocked_in PID WCHAN - process PID sleeps in kernel function WCHAN (pipe_read, pipe_write;
# newer kernels say anon_pipe_write).
blocked_in() { grep -Eqx "(anon_)?$2" "/proc/$1/wchan" 2>/dev/null; }
# writer_running BUS - shmbus stat says a live writer holds BUS.
writer_running() { "$SHMBUS" stat "$1" --json | grep -q '"writer_state":"running"'; }
latest_ge() { [ "$(bus_latest "$1")" -ge "$2" ]; }

# patch_header BUS OFFSET PRINTF-FORMAT - overwrite bytes of BUS's header in place, as a
# hostile or buggy process could (offsets: the static_asserts in core/layout.h).
patch_header() {
  printf "$3" | dd of="/dev/shm/shmbus.$1" bs=1 seek="$2" conv=notrunc status=none
}

finish() {
  echo "$CHECKS checks passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
}
