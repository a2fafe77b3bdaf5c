#!/usr/bin/env bash
# shmbus ls, stat and rm.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"
newbus A
newbus Z
bg "$SHMPUB" "$A" -m sample --type imu/v2 --capacity 4K --slots 16 --mode 0644 -r 200
writer=$!
"$SHMPUB" "$Z" -m once
eventually 20 bus_exists "$A"
eventually 20 latest_ge "$A" 20
"$SHMSUB" "$A" --sleep >/dev/null &
sub=$!
eventually 20 reader_asleep "$A" "$sub"

# ls: a header and one row per bus, sorted by name.
expect_rc 0 "$SHMBUS" ls
out_has '^NAME +TYPE +WRITER +VERSION +CAPACITY +SLOTS +READERS +RATE +OWNER +MODE$'
out_has "^$A +imu/v2 +$writer +[0-9]+ +4 KiB +16 +1 +[0-9.]+ Hz +$(id -un) +0644$"
out_has "^$Z +- +closed +1 +64 KiB +8 +0 +- +$(id -un) +0600$"
if [ "$(grep -n "^$A " "$TMP/out" | cut -d: -f1)" -lt "$(grep -n "^$Z " "$TMP/out" | cut -d: -f1)" ]; then pass; else fail "ls not sorted"; fi
expect_rc 0 "$SHMBUS" ls --json
out_has '^\{"name":"'"$A"'","type":"imu/v2","readable":true,"writer_pid":'"$writer"',"writer_alive":true,"writer_state":"running","latest":[0-9]+,"capacity":4096,"slots":16,"readers":1,"rate_hz":[0-9.]+,"owner":"'"$(id -un)"'","mode":"0644"\}$'
out_has '^\{"name":"'"$Z"'",.*"writer_alive":false,"writer_state":"closed cleanly","latest":1,.*"rate_hz":null,'
expect_rc 0 "$SHMBUS" list; out_has "^$A "

# stat: text and JSON.
expect_rc 0 "$SHMBUS" stat "$A"
out_has "^bus: +$A$"; out_has "^path: +/dev/shm/shmbus.$A$"; out_has '^type: +imu/v2$'
out_has '^geometry: +16 slots x 4 KiB \(4096 bytes\)$'
out_has '^memory: +.* \(records 70656 bytes \+ wake page 65536\)$'
out_has '^latest version: +[0-9]+$'; out_has '^last publish: +20.*Z \(.* ago\)$'
out_has "^writer: +pid $writer, running$"; out_has "^writer lock: +held by pid $writer$"
out_has "^owner: +$(id -un), group $(id -gn), mode 0644$"
expect_rc 0 "$SHMBUS" stat "$A" --json
out_has '"type":"imu/v2","slots":16,"capacity":4096,"total_size":70656,'
out_has '"writer_pid":'"$writer"',"writer_state":"running","lock_holder":'"$writer"',"readers_asleep":(true|false),"replaced":false,"layout_version":2,"readers":\[\{"pid":'"$sub"','
# The registry: the subscriber, in sleep mode, asleep between the 200 Hz publishes.
out_has '\{"pid":'"$sub"',"mode":"sleep",'
expect_rc 0 "$SHMBUS" stat "$A"
out_has '^readers: +1$'; out_has "^ +$sub sleep "
stat_asleep() { "$SHMBUS" stat "$A" | grep -Eq '^readers asleep: +yes'; }
json_asleep() { "$SHMBUS" stat "$A" --json | grep -q '"readers_asleep":true'; }
eventually 20 stat_asleep
eventually 20 json_asleep
expect_rc 0 "$SHMBUS" stat "$Z"
out_has '^writer: +pid [0-9]+, closed cleanly$'; out_has '^writer lock: +free$'; out_has '^readers asleep: +no'
out_has '^readers: +0$'

# rm: refuses a live writer's bus, removes several, --force.
expect_rc 6 "$SHMBUS" rm "$Z" "$A"; err_has "cannot remove bus '$A': its writer \(pid $writer\)"
if bus_exists "$Z"; then fail "rm of Z despite failing A"; else pass; fi   # Z went, A stayed
if bus_exists "$A"; then pass; else fail "rm removed a live writer's bus"; fi
expect_rc 0 "$SHMBUS" rm -f "$A"
if bus_exists "$A"; then fail "rm -f left the bus"; else pass; fi
for o in "" -lock; do
  if [ -e "/dev/shm/shmbus$o.$A" ] || [ -e "/dev/shm/shmbus${o:-}.$A" ]; then fail "left /dev/shm/shmbus$o.$A"; else pass; fi
done
expect_rc 0 "$SHMBUS" ls; if grep -q "^$A " "$TMP/out"; then fail "ls shows a removed bus"; else pass; fi
kill "$sub" 2>/dev/null; wait "$sub" 2>/dev/null
finish
