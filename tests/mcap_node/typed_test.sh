#!/usr/bin/env bash
# typed_test.sh - typed buses recorded and played (issue 15), checked by code nobody here
# wrote: Foxglove's @mcap/core reads what `shmbus record` made of a C-struct bus, finds an
# omgidl schema and cdr messages, and @foxglove/omgidl-serialization decodes every message to
# exactly what `shmsub -F json` printed live (typed.mjs, with tests/types_node/compare.mjs).
# Then record -> play -> shmsub prints the same lines; and a file written by @mcap/core with
# Foxglove's CDR encoder (little- and big-endian messages) plays onto a C-struct bus whose
# shmsub lines equal those of a bus the same JSON was published on.
# The npm modules are installed by .ci/test's set-up into tests/mcap_node/node_modules
# (npm ci, from package-lock.json); nothing is downloaded here. Without them the test fails
# in CI (CI=true) and SKIPS LOUDLY elsewhere.
source "${TEST_SRCDIR:?run under bazel test}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"
HERE=$RUNFILES/tests/mcap_node
IDL=$RUNFILES/types/testdata/all.idl
RECORDS=$RUNFILES/tests/types_node/records.jsonl
SRC=$(dirname "$(readlink -f "$HERE/package.json")")  # the source tree: node_modules is there

for m in @mcap/core @mcap/support @foxglove/omgidl-parser @foxglove/omgidl-serialization; do
  if [ ! -d "$SRC/node_modules/$m" ] || ! command -v node >/dev/null; then
    msg="$m (or node) missing under $SRC: run .ci/test's set-up (npm ci --prefix tests/mcap_node)"
    if [ "${CI:-}" = true ]; then echo "FAIL: $msg" >&2; exit 1; fi
    printf '\n***** SKIPPED: %s *****\n\n' "$msg" >&2
    exit 0
  fi
done
TYPED=$SRC/typed.mjs
N=$(wc -l <"$RECORDS")

# start_recorder FILE BUS... - `shmbus record -C $N` in the background, ready: it has listed
# the buses (those that appear later are read from their oldest record).
start_recorder() {
  local file=$1
  shift
  bg "$SHMBUS" record -C "$N" -o "$file" "$@" 2>"$file.err"
  RECPID=${BGPIDS[-1]}
  for _ in $(seq 1200); do grep -q recording "$file.err" && break; sleep 0.05; done
  grep -q recording "$file.err" || fail "the recorder never started: $(cat "$file.err")"
}

# 1. A C-struct bus (types/testdata/all.idl: every supported type at its bounds) recorded.
newbus T
start_recorder "$TMP/typed.mcap" "$T"
expect_rc 0 "$SHMPUB" "$T" --schema "$IDL" --type sensors::All -F json --slots 16 <"$RECORDS"
wait "$RECPID" || fail "shmbus record exited with $?: $(cat "$TMP/typed.mcap.err")"
expect_rc 0 "$SHMSUB" "$T" --oldest -F json -C "$N" -W 120
cp "$TMP/out" "$TMP/live.jsonl"
[ "$(wc -l <"$TMP/live.jsonl")" -eq "$N" ] && pass || fail "shmsub printed $(wc -l <"$TMP/live.jsonl") lines"
expect_rc 0 "$SHMBUS" info "$TMP/typed.mcap"
out_has "$T +$N msgs .* encoding cdr  schema sensors::All \(omgidl\)"

# 2. Foxglove reads it: omgidl + cdr, every value exactly shmsub's.
if node "$TYPED" read "$TMP/typed.mcap" "$T" sensors::All "$TMP/live.jsonl" >"$TMP/node.out" 2>&1
then pass; else fail "Foxglove's decoding of the recording differs from shmsub -F json"; fi
cat "$TMP/node.out"

# 3. Negative controls: one changed CDR byte (i8 of the second record, -128 -> 127), and a
#    uint64 off by one in shmsub's line (equal as doubles: only an exact check sees it).
if node "$TYPED" read "$TMP/typed.mcap" "$T" sensors::All "$TMP/live.jsonl" --flip 1 >/dev/null 2>"$TMP/neg1"
then fail "a changed CDR byte went unnoticed"
else grep -q "message 1.i8: ours -128, Foxglove's 127" "$TMP/neg1" && pass || fail "changed byte: $(cat "$TMP/neg1")"; fi
sed '2s/"u64":18446744073709551615/"u64":18446744073709551614/' "$TMP/live.jsonl" >"$TMP/offbyone"
cmp -s "$TMP/live.jsonl" "$TMP/offbyone" && fail "the off-by-one control changed nothing"
if node "$TYPED" read "$TMP/typed.mcap" "$T" sensors::All "$TMP/offbyone" >/dev/null 2>"$TMP/neg2"
then fail "a uint64 off by one went unnoticed"
else grep -q "message 1.u64: ours 18446744073709551614, Foxglove's 18446744073709551615" "$TMP/neg2" && pass ||
  fail "off by one: $(cat "$TMP/neg2")"; fi
echo "negative controls: $(cat "$TMP/neg1") / $(cat "$TMP/neg2")"

# 4. Record -> play -> shmsub: the same lines, on a C-struct bus with the same schema.
newbus P
expect_rc 0 "$SHMBUS" play "$TMP/typed.mcap" --rate 0 --remap "$T:=$P"
expect_rc 0 "$SHMSUB" "$P" --oldest -F json -C "$N" -W 120
if cmp -s "$TMP/out" "$TMP/live.jsonl"; then pass; else
  fail "the played bus's shmsub lines differ from the recorded bus's"; diff "$TMP/live.jsonl" "$TMP/out" | head -5 >&2
fi
expect_rc 0 "$SHMBUS" stat "$P"
out_has "schema: +sensors::All \(omgidl, [0-9]+ bytes; messages x-shmbus-cstruct"
out_has "geometry: +16 slots"
# ... recorded again, byte for byte the same messages (CDR) as the first recording.
newbus P2
start_recorder "$TMP/again.mcap" "$P2"
expect_rc 0 "$SHMBUS" play "$TMP/typed.mcap" --rate 0 --remap "$T:=$P2"
wait "$RECPID" || fail "the second shmbus record exited with $?: $(cat "$TMP/again.mcap.err")"
if node "$TYPED" read "$TMP/again.mcap" "$P2" sensors::All "$TMP/live.jsonl" >/dev/null 2>"$TMP/again.err"
then pass; else fail "record -> play -> record: $(cat "$TMP/again.err")"; fi

# 5. A file Foxglove's code wrote (CDR LE and BE, no shmbus metadata) plays onto a C-struct
#    bus; its lines equal those of a bus the same JSON was published on.
newbus E
N=$(wc -l <"$HERE/pose.jsonl")
expect_rc 0 "$SHMPUB" "$E" --schema "$HERE/pose.idl" --type robot::Pose -F json --slots 8 <"$HERE/pose.jsonl"
expect_rc 0 "$SHMSUB" "$E" --oldest -F json -C "$N" -W 120
cp "$TMP/out" "$TMP/pose.want"
if node "$TYPED" write "$TMP/foreign.mcap" "$HERE/pose.idl" robot::Pose "$TMP/pose.want" >"$TMP/w.out" 2>&1
then pass; else fail "Foxglove's writer: $(cat "$TMP/w.out")"; fi
newbus F
expect_rc 0 "$SHMBUS" play "$TMP/foreign.mcap" --rate 0 --remap "/foreign/pose:=$F"
expect_rc 0 "$SHMSUB" "$F" --oldest -F json -C "$N" -W 120
if cmp -s "$TMP/out" "$TMP/pose.want"; then pass; else
  fail "Foxglove's CDR played by shmbus differs"; diff "$TMP/pose.want" "$TMP/out" | head -5 >&2
fi
expect_rc 0 "$SHMBUS" stat "$F"
out_has "schema: +robot::Pose \(omgidl, [0-9]+ bytes; messages x-shmbus-cstruct"
# ... and a message one byte short (a big-endian one) is refused with a note, the others play.
node "$TYPED" write "$TMP/short.mcap" "$HERE/pose.idl" robot::Pose "$TMP/pose.want" --truncate 1 >/dev/null 2>&1 ||
  fail "Foxglove's writer (--truncate)"
newbus S
expect_rc 0 "$SHMBUS" play "$TMP/short.mcap" --rate 0 --remap "/foreign/pose:=$S"
err_has "topic '/foreign/pose': a message is not a robot::Pose \(.*truncated\); such messages are skipped"
expect_rc 0 "$SHMSUB" "$S" --oldest -F json -C 2 -W 120
if [ "$(sed -n '1p;3p' "$TMP/pose.want")" = "$(cat "$TMP/out")" ]; then pass; else
  fail "with message 1 truncated, the bus holds: $(cat "$TMP/out")"; fi

# 6. A bus replaced by one whose schema differs only in its text (a comment: same type name,
#    type tag, size and slots) is followed onto a second channel, with the new schema.
newbus R
cp "$IDL" "$TMP/all2.idl"
echo "// the same type, another text: another schema hash" >>"$TMP/all2.idl"
echo '{"i8":1}' | "$SHMPUB" "$R" --schema "$IDL" --type sensors::All -F json --slots 16
bg "$SHMBUS" record -C 2 -o "$TMP/r.mcap" "$R" 2>"$TMP/r.err"
REC=${BGPIDS[-1]}
eventually 30 grep -q recording "$TMP/r.err"
echo '{"i8":2}' | "$SHMPUB" "$R" --schema "$IDL" --type sensors::All -F json --slots 16
# the recorder (its notifier) waits with its cursor past record 2
eventually 60 bash -c '"$0" stat "$1" --json | grep -q "\"cursor\":3,"' "$SHMBUS" "$R"
echo '{"i8":3}' | "$SHMPUB" "$R" --schema "$TMP/all2.idl" --type sensors::All -F json --slots 16
wait "$REC" || fail "record (replaced) exited $?: $(cat "$TMP/r.err")"
expect_rc 0 "$SHMBUS" info "$TMP/r.mcap"
out_has "\\(0\\) $R +1 msgs .*encoding cdr  schema sensors::All \\(omgidl\\)"
out_has "\\(1\\) $R +1 msgs .*encoding cdr  schema sensors::All \\(omgidl\\)"
newbus R2
expect_rc 0 "$SHMBUS" play "$TMP/r.mcap" --rate 0 --topics "$R" --remap "$R:=$R2"
expect_rc 0 "$SHMBUS" schema "$R2"
grep -q "another schema hash" "$TMP/out" && pass || fail "the replacement's schema was not played last"

finish
