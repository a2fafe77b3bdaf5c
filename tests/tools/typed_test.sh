#!/usr/bin/env bash
# Typed buses through the tools (docs/TYPES.md): shmpub --schema/--type/-F json makes records from
# JSON lines, shmsub -F json/text/--field shows their fields, shmbus stat/schema show the schema.
# Every type and bound of types/testdata/all.idl round-trips; every bad line is reported with
# its field and line and publishes nothing; untyped, JSON and opaque buses behave as documented.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"
IDL=$RUNFILES/types/testdata/all.idl
RECORDS=$RUNFILES/tests/types_node/records.jsonl
TYPECAT=$RUNFILES/types/typecat
latest() { "$SHMBUS" stat --json "$1" | sed -E 's/.*"latest":([0-9]+).*/\1/'; }

# 1. Every supported type at its bounds (min, max, NaN, infinities, -0.0, 64-bit extremes):
#    shmpub -F json -> shmsub -F json prints what shmbus_type_to_json() prints for the same
#    record (typecat, the library's own driver), and printing is a fixed point: the output fed
#    back in comes out byte for byte.
newbus All
expect_rc 0 "$SHMPUB" "$All" --schema "$IDL" --type sensors::All -F json --slots 16 <"$RECORDS"
n=$(wc -l <"$RECORDS")
expect_rc 0 "$SHMSUB" "$All" --oldest -F json -C "$n"
cp "$TMP/out" "$TMP/all1"
"$TYPECAT" "$IDL" sensors::All <"$RECORDS" | cut -d' ' -f2- >"$TMP/want"
if cmp -s "$TMP/all1" "$TMP/want"; then pass; else fail "shmsub -F json differs from the library: $(diff "$TMP/all1" "$TMP/want" | head -5)"; fi
[ "$(sed -n 2p "$TMP/all1")" = "$(sed -n 2p "$RECORDS")" ] && pass || fail "the bounds record did not round-trip exactly: $(sed -n 2p "$TMP/all1")"
grep -q '"u64":18446744073709551615' "$TMP/all1" && grep -q '"i64":-9223372036854775808' "$TMP/all1" &&
  grep -q '"f64":-0.0' "$TMP/all1" && grep -q '"y":"NaN","z":"-Infinity"' "$TMP/all1" && pass ||
  fail "bounds missing from the output"
newbus All2
expect_rc 0 "$SHMPUB" "$All2" --schema "$IDL" --type sensors::All -F json --slots 16 <"$TMP/all1"
expect_rc 0 "$SHMSUB" "$All2" --oldest -F json -C "$n"
if cmp -s "$TMP/out" "$TMP/all1"; then pass; else fail "not a fixed point: $(diff "$TMP/out" "$TMP/all1" | head -4)"; fi

# 2. The schema travels with the bus: stat names it, schema prints the file byte for byte.
expect_rc 0 "$SHMBUS" stat "$All"
out_has '^schema: +sensors::All \(omgidl, [0-9]+ bytes; messages x-shmbus-cstruct; hash [0-9a-f]{16}\)'
expect_rc 0 "$SHMBUS" stat --json "$All"
out_has '"schema":\{"type_name":"sensors::All","schema_encoding":"omgidl","message_encoding":"x-shmbus-cstruct","length":[0-9]+,"hash":"[0-9a-f]{16}"\}'
expect_rc 0 "$SHMBUS" schema "$All"
if cmp -s "$TMP/out" "$IDL"; then pass; else fail "shmbus schema differs from the IDL file"; fi

# 3. One field, and field=value text.
expect_rc 0 "$SHMSUB" "$All2" --oldest --field 'grid[1][2][1]' -C 2
[ "$(sed -n 2p "$TMP/out")" = "1.7976931348623157e+308" ] && pass || fail "--field grid[1][2][1]: $(cat "$TMP/out")"
expect_rc 0 "$SHMSUB" "$All2" --oldest --field acc -C 2
[ "$(sed -n 2p "$TMP/out")" = '{"x":0.1,"y":"NaN","z":"-Infinity"}' ] && pass || fail "--field acc: $(cat "$TMP/out")"
expect_rc 0 "$SHMSUB" "$All2" --oldest -F text -C 2
out_has '^i8=-128 u8=255 .* acc\.x=0\.1 acc\.y="?NaN'
expect_rc 2 "$SHMSUB" "$All2" --field nope -1; err_has "bus '$All2' \(type sensors::All\): --field: nope"
expect_rc 2 "$SHMSUB" "$All2" --field acc -F hex; err_has "does not combine with -F hex"

# 4. Bad lines: each is reported with its line and field, publishes nothing, and the good
#    lines around it are published; the exit status says something was left out.
newbus Imu
cat >"$TMP/imu.idl" <<'IDL'
module sensors {
  enum Mode { IDLE, RUN };
  struct Imu { uint64 t; double acc[3]; float temp; Mode mode; char frame[4]; int8 k; };
};
IDL
cat >"$TMP/lines" <<'JSON'
{"t":1,"acc":[0,0,9.81],"temp":21.5,"mode":"RUN","frame":"imu"}
{"t":2,"accel":[0,0,1]}
{"t":"three"}
{"t":-1}
{"t":18446744073709551616}
{"k":128}
{"k":-129}
{"acc":[1,2]}
{"acc":[1,2,3,4]}
{"frame":"toolong"}
{"mode":"FLY"}
{"temp":1e39}
{"t":4, oops}
[1,2,3]

{"t":5}
JSON
expect_rc 1 "$SHMPUB" "$Imu" --schema "$TMP/imu.idl" --type sensors::Imu -F json <"$TMP/lines"
err_has '^shmpub: line 2: accel: unknown field'
err_has '^shmpub: line 3: t: '
err_has '^shmpub: line 4: t: -1 is out of range'
err_has '^shmpub: line 5: t: '
err_has '^shmpub: line 6: k: 128 is out of range'
err_has '^shmpub: line 7: k: -129 is out of range'
err_has '^shmpub: line 8: acc'
err_has '^shmpub: line 9: acc'
err_has '^shmpub: line 10: frame'
err_has '^shmpub: line 11: mode'
err_has '^shmpub: line 12: temp'
err_has '^shmpub: line 13: '
err_has '^shmpub: line 14: '
err_has '13 of 15 lines were not published'
[ "$(latest "$Imu")" = 2 ] && pass || fail "bad lines published something: latest $(latest "$Imu")"
expect_rc 0 "$SHMSUB" "$Imu" --oldest -F json -C 2
[ "$(sed -n 1p "$TMP/out")" = '{"t":1,"acc":[0,0,9.81],"temp":21.5,"mode":"RUN","frame":"imu","k":0}' ] && pass || fail "line 1: $(sed -n 1p "$TMP/out")"
[ "$(sed -n 2p "$TMP/out")" = '{"t":5,"acc":[0,0,0],"temp":0,"mode":"IDLE","frame":"","k":0}' ] && pass || fail "missing fields are not zero: $(sed -n 2p "$TMP/out")"

# 5. Adopt and replace: the same schema adopts the bus (versions go on), a different one
#    replaces it; -F json on an existing typed bus needs no --schema.
expect_rc 0 "$SHMPUB" "$Imu" --schema "$TMP/imu.idl" --type sensors::Imu -F json -m '{"t":6}'
[ "$(latest "$Imu")" = 3 ] && pass || fail "the same schema did not adopt the bus"
expect_rc 0 "$SHMPUB" "$Imu" -F json -m '{"t":7}'
[ "$(latest "$Imu")" = 4 ] && pass || fail "-F json without --schema did not adopt the typed bus"
sed 's/int8 k;/int16 k;/' "$TMP/imu.idl" >"$TMP/imu2.idl"
expect_rc 0 "$SHMPUB" "$Imu" --schema "$TMP/imu2.idl" --type sensors::Imu -F json -m '{"k":300}'
[ "$(latest "$Imu")" = 1 ] && pass || fail "a different schema did not replace the bus"
expect_rc 0 "$SHMSUB" "$Imu" --field k -1; out_is 300

# 6. Refused schemas and types: nothing is created.
newbus Bad
printf 'struct S { sequence<long> v; };\n' >"$TMP/seq.idl"
expect_rc 2 "$SHMPUB" "$Bad" --schema "$TMP/seq.idl" --type S -F json -m '{}'
err_has 'v.*sequence'
printf 'struct S { long a; ' >"$TMP/broken.idl"
expect_rc 2 "$SHMPUB" "$Bad" --schema "$TMP/broken.idl" --type S -m x
expect_rc 2 "$SHMPUB" "$Bad" --schema "$TMP/imu.idl" --type sensors::Nope -m x; err_has 'sensors::Nope'
expect_rc 2 "$SHMPUB" "$Bad" --schema "$TMP/imu.idl" -m x; err_has 'needs --type NAME'
expect_rc 2 "$SHMPUB" "$Bad" --schema "$TMP/imu.mystery" --type X -m x; err_has 'say --schema-encoding'
expect_rc 2 "$SHMPUB" "$Bad" --type "$(printf 't%.0s' $(seq 32))" -m x; err_has 'goes with --schema'
expect_rc 1 "$SHMPUB" "$Bad" --schema /no/such.idl --type X -m x; err_has "cannot read schema '/no/such.idl'"
if [ -e "/dev/shm/shmbus.$Bad" ]; then fail "a refused schema created the bus"; else pass; fi
newbus Plain
expect_rc 0 "$SHMPUB" "$Plain" -m hello
expect_rc 2 "$SHMPUB" "$Plain" -F json -m '{}'; err_has "carries no schema"
expect_rc 2 "$SHMSUB" "$Plain" --field x -1; err_has "carries no schema, so --field"
expect_rc 1 "$SHMBUS" schema "$Plain"; err_has "carries no schema"
expect_rc 0 "$SHMBUS" stat "$Plain"; out_has '^schema: +none'

# 7. JSON records (message encoding json): stored compact, shown as JSON, fields picked.
newbus Json
expect_rc 0 "$SHMPUB" "$Json" --message-encoding json --type app.Config -F json -m '{ "a": 1, "b": [1, 2] }'
expect_rc 0 "$SHMSUB" "$Json" -F json -1; out_is '{"a":1,"b":[1,2]}'
expect_rc 0 "$SHMSUB" "$Json" --field b -1; out_is '[1,2]'
expect_rc 1 "$SHMPUB" "$Json" -F json -m '{"a": '; err_has 'not JSON'

# 8. Opaque schemas are carried as they are; records stay bytes.
newbus Proto
printf 'syntax = "proto3";\nmessage Msg { int32 a = 1; }\n' >"$TMP/msg.proto"
expect_rc 0 "$SHMPUB" "$Proto" --schema "$TMP/msg.proto" --type Msg -m abc
expect_rc 0 "$SHMBUS" stat "$Proto"; out_has '^schema: +Msg \(protobuf, 48 bytes; messages protobuf'
expect_rc 0 "$SHMSUB" "$Proto" -1; out_is abc
expect_rc 2 "$SHMPUB" "$Proto" -F json -m '{}'; err_has 'protobuf records'
finish
