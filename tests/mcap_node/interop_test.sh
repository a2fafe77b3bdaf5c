#!/usr/bin/env bash
# interop_test.sh - shmbus's MCAP files read by code nobody here wrote (Foxglove's @mcap/core
# and @mcap/support, npm), and a file that code wrote read and played by shmbus.
# The npm modules are installed by .ci/test's set-up into tests/mcap_node/node_modules
# (npm ci, from package-lock.json); nothing is downloaded here. Without them the test fails
# in CI (CI=true) and SKIPS LOUDLY elsewhere.
source "${TEST_SRCDIR:?run under bazel test}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"
HERE=$RUNFILES/tests/mcap_node
SAMPLE=$HERE/mcap_sample
SRC=$(dirname "$(readlink -f "$HERE/package.json")")  # the source tree: node_modules is there

if [ ! -d "$SRC/node_modules/@mcap/core" ] || [ ! -d "$SRC/node_modules/@mcap/support" ] ||
   ! command -v node >/dev/null; then
  msg="@mcap/core/@mcap/support (or node) missing under $SRC: run .ci/test's set-up (npm ci --prefix tests/mcap_node)"
  if [ "${CI:-}" = true ]; then echo "FAIL: $msg" >&2; exit 1; fi
  printf '\n***** SKIPPED: %s *****\n\n' "$msg" >&2
  exit 0
fi
CHECK=$SRC/check.mjs

# 1. Files our writer made, read by @mcap/core: streamed and indexed, every compression.
mkdir -p "$TMP/ours"
expect_rc 0 "$SAMPLE" write "$TMP/ours"
if node "$CHECK" read "$TMP/ours" >"$TMP/node.out" 2>&1; then pass; else fail "@mcap/core read our files"; fi
cat "$TMP/node.out"

# 2. A file @mcap/core's writer made, read by our reader: the same messages.
node "$CHECK" write "$TMP/npm.mcap" >"$TMP/npm.want" 2>"$TMP/npm.err" || fail "@mcap/core writer: $(cat "$TMP/npm.err")"
"$SAMPLE" read "$TMP/npm.mcap" >"$TMP/npm.got" || fail "our reader failed on @mcap/core's file"
if cmp -s "$TMP/npm.want" "$TMP/npm.got" && [ -s "$TMP/npm.got" ]; then pass; else
  fail "our reader's messages differ from what @mcap/core wrote"; diff "$TMP/npm.want" "$TMP/npm.got" | head -5 >&2
fi
expect_rc 0 "$SHMBUS" info "$TMP/npm.mcap"
grep -q "messages:    120" "$TMP/out" && pass || fail "shmbus info: $(cat "$TMP/out")"

# 3. That file played through shmbus play onto two buses, recorded back by shmbus record.
newbus J
newbus R
bg "$SHMBUS" record -C 120 -o "$TMP/rt.mcap" "$J" "$R" 2>"$TMP/rec.err"
RECPID=${BGPIDS[-1]}
for _ in $(seq 600); do grep -q recording "$TMP/rec.err" && break; sleep 0.05; done
expect_rc 0 "$SHMBUS" play "$TMP/npm.mcap" --rate 0 --slots 256 --remap "/npm/json:=$J" --remap "raw:=$R"
wait "$RECPID" || fail "shmbus record exited with $?: $(cat "$TMP/rec.err")"
"$SAMPLE" read "$TMP/rt.mcap" >"$TMP/rt.got" || fail "our reader on the re-recorded file"
for pair in "/npm/json:$J" "raw:$R"; do
  topic=${pair%%:*} bus=${pair#*:}
  want=$(awk -v t="$topic" '$1 == t {print $5}' "$TMP/npm.want")
  got=$(awk -v t="$bus" '$1 == t {print $5}' "$TMP/rt.got")
  if [ "$want" = "$got" ] && [ -n "$got" ]; then pass; else fail "topic $topic played onto $bus and recorded back differs"; fi
done

echo "$CHECKS passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
