#!/usr/bin/env bash
# serve_test.sh SCRIPT.mjs - runs one of the serve tests (Node.js) against the built tools.
# The npm modules are installed by .ci/test's set-up into tests/serve_node/node_modules
# (npm ci, from package-lock.json); nothing is downloaded here. Without them (or without node,
# or chromium for the page test) the test fails in CI (CI=true) and SKIPS LOUDLY elsewhere.
source "${TEST_SRCDIR:?run under bazel test}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"
HERE=$RUNFILES/tests/serve_node
SRC=$(dirname "$(readlink -f "$HERE/package.json")") # the source tree: node_modules is there
SCRIPT=$1
shift

skip() {
  if [ "${CI:-}" = true ]; then echo "FAIL: $1" >&2; exit 1; fi
  printf '\n***** SKIPPED: %s *****\n\n' "$1" >&2
  exit 0
}
for m in @foxglove/ws-protocol @foxglove/omgidl-serialization ws; do
  [ -d "$SRC/node_modules/$m" ] || skip "$m missing under $SRC: run .ci/test's set-up (npm ci --prefix tests/serve_node)"
done
command -v node >/dev/null || skip "node is not installed"
if [ "$(basename "$SCRIPT")" = page.mjs ]; then
  command -v chromium >/dev/null || skip "chromium (Debian's package) is not installed"
fi

# Unique bus names (removed on exit by lib.sh); every name of this run starts with $RUN.
newbus A
newbus R
newbus B
newbus P
newbus T
newbus U
newbus V
newbus W
newbus X
TYPED_PUB=$HERE/typed_pub
# The testing build of shmbus (its serve honours SHMBUS_SERVE_BROKEN), for tests that have it.
SHMBUS_TESTING=$RUNFILES/tools/shmbus_testing
[ -x "$SHMBUS_TESTING" ] || SHMBUS_TESTING=
export SHMBUS SHMPUB SHMSUB RUN TYPED_PUB SHMBUS_TESTING TMP_DIR=$TMP
# The source tree's file (the runfile links to it), so that node finds node_modules beside it.
node "$SRC/$(basename "$SCRIPT")" "$A" "$R" "$B" "$P" "$T" "$U" "$V" "$W" "$X" "$@"
rc=$?
[ "$rc" -eq 0 ] || fail "node $(basename "$SCRIPT") exited $rc"
finish
