#!/usr/bin/env bash
# interop_test.sh - shmbus's CDR of its C-struct records (types/), decoded by code nobody here
# wrote (and, in step 3, what shmsub -F json prints): Foxglove's @foxglove/omgidl-parser parses types/testdata/all.idl (every supported
# type, nested structs with trailing padding, multi-dimensional arrays, typedefs, modules,
# enums, char arrays), @foxglove/omgidl-serialization's MessageReader decodes each record's
# CDR, and every value must equal what shmbus_type_to_json() printed, exactly (check.mjs).
# The npm modules are installed by .ci/test's set-up into tests/types_node/node_modules
# (npm ci, from package-lock.json); nothing is downloaded here. Without them the test fails
# in CI (CI=true) and SKIPS LOUDLY elsewhere.
set -uo pipefail
RUNFILES=${TEST_SRCDIR:?run under bazel test}/${TEST_WORKSPACE:-shmbus}
HERE=$RUNFILES/tests/types_node
TYPECAT=$RUNFILES/types/typecat
IDL=$RUNFILES/types/testdata/all.idl
SRC=$(dirname "$(readlink -f "$HERE/package.json")")  # the source tree: node_modules is there
TMP=${TEST_TMPDIR:-$(mktemp -d)}

if [ ! -d "$SRC/node_modules/@foxglove/omgidl-parser" ] ||
   [ ! -d "$SRC/node_modules/@foxglove/omgidl-serialization" ] || ! command -v node >/dev/null; then
  msg="@foxglove/omgidl-parser/-serialization (or node) missing under $SRC: run .ci/test's set-up (npm ci --prefix tests/types_node)"
  if [ "${CI:-}" = true ]; then echo "FAIL: $msg" >&2; exit 1; fi
  printf '\n***** SKIPPED: %s *****\n\n' "$msg" >&2
  exit 0
fi
CHECK=$SRC/check.mjs
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

# 1. Every record: our CDR decoded by Foxglove equals our JSON.
"$TYPECAT" "$IDL" sensors::All <"$HERE/records.jsonl" >"$TMP/out" || fail "typecat: $(cat "$TMP/out")"
[ "$(wc -l <"$TMP/out")" -eq "$(wc -l <"$HERE/records.jsonl")" ] || fail "typecat printed $(wc -l <"$TMP/out") lines"
if node "$CHECK" "$IDL" sensors::All "$TMP/out"; then :; else fail "Foxglove's decoding differs from our JSON"; fi

# 2. Negative controls: the check notices one flipped CDR byte (i8, the first payload byte),
#    and a uint64 off by one in the last digit (equal as doubles: only an exact check sees it).
sed -n 2p "$TMP/out" | sed -E 's/^(00010000)(..)/\1ff/' >"$TMP/flipped"
cmp -s <(sed -n 2p "$TMP/out") "$TMP/flipped" && fail "the negative control changed nothing"
if node "$CHECK" "$IDL" sensors::All "$TMP/flipped" 2>"$TMP/err1"; then
  fail "a flipped CDR byte went unnoticed"
else grep -q "i8: ours -128, Foxglove's -1" "$TMP/err1" || fail "flipped byte: $(cat "$TMP/err1")"; fi
sed -n 2p "$TMP/out" | sed 's/"u64":18446744073709551615/"u64":18446744073709551614/' >"$TMP/offbyone"
if node "$CHECK" "$IDL" sensors::All "$TMP/offbyone" 2>"$TMP/err2"; then
  fail "a uint64 off by one went unnoticed"
else grep -q "u64: ours 18446744073709551614, Foxglove's 18446744073709551615" "$TMP/err2" ||
  fail "off by one: $(cat "$TMP/err2")"; fi
echo "negative controls: $(cat "$TMP/err1") / $(cat "$TMP/err2")"

# 3. Through the tools: the records published with shmpub -F json and printed by shmsub -F json
#    on a real bus; Foxglove's decoding of each record's CDR equals shmsub's line.
BUS="types-interop-$$-$RANDOM"
trap '"$RUNFILES/tools/shmbus" rm --force "$BUS" >/dev/null 2>&1' EXIT
n=$(wc -l <"$HERE/records.jsonl")
"$RUNFILES/tools/shmpub" "$BUS" --schema "$IDL" --type sensors::All -F json --slots 16 \
  <"$HERE/records.jsonl" || fail "shmpub -F json"
"$RUNFILES/tools/shmsub" "$BUS" --oldest -F json -C "$n" >"$TMP/shmsub" || fail "shmsub -F json"
cut -d' ' -f1 "$TMP/out" | paste -d' ' - "$TMP/shmsub" >"$TMP/tools"
[ "$(wc -l <"$TMP/shmsub")" -eq "$n" ] || fail "shmsub printed $(wc -l <"$TMP/shmsub") lines"
if node "$CHECK" "$IDL" sensors::All "$TMP/tools"; then :; else fail "Foxglove's decoding differs from shmsub -F json"; fi

[ "$FAILS" -eq 0 ] && echo "PASS" || echo "$FAILS failed"
[ "$FAILS" -eq 0 ]
