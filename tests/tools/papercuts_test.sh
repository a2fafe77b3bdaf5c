#!/usr/bin/env bash
# What a new user trips over (issue 22 items 9-13 and 15-19): hostile type tags, writer
# messages, --oldest, --group, the type tag, big buses, the small inconsistencies, topic habits.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"

# 9. A type tag with escapes and invalid UTF-8 (any local user can write one into a bus it
# owns): JSON stays valid, text shows \xNN instead of raw terminal escapes.
newbus T
"$SHMPUB" "$T" -m x --type abc --mode 0644
patch_header "$T" 64 '\033[31m\377'
for cmd in "ls --json" "stat --json $T"; do
  expect_rc 0 "$SHMBUS" $cmd
  if jq -e . "$TMP/out" >/dev/null 2>&1 && iconv -f UTF-8 -t UTF-8 "$TMP/out" >/dev/null 2>&1
  then pass; else fail "$cmd: invalid JSON (or not UTF-8): $(grep -a "$T" "$TMP/out")"; fi
done
out_has '"type":"\\u001b\[31m\\ufffd"'
for cmd in ls "stat $T"; do
  expect_rc 0 "$SHMBUS" $cmd
  if grep -q $'\033' "$TMP/out"; then fail "$cmd prints a raw escape"; else pass; fi
  out_has '\\x1b\[31m\\xff'
done
expect_rc 0 "$SHMSUB" "$T" -v -1
if grep -q $'\033' "$TMP/err"; then fail "shmsub -v prints a raw escape"; else pass; fi
expect_rc 0 "$SHMPUB" "$T" -m y --slots 4; err_has "replaced bus '$T' \\(8 slots of 64 KiB, type '\\\\x1b\\[31m\\\\xff'\\)"
if grep -q $'\033' "$TMP/err"; then fail "shmpub prints a raw escape"; else pass; fi

# 10. A bus without a writer yet (pid 0) is no death.
newbus Z
"$SHMPUB" "$Z" -m x
patch_header "$Z" 192 '\0\0\0\0\0\0\0\0'   # writer_pid 0, writer_state NONE
expect_rc 4 "$SHMSUB" "$Z" -v --new -W 0.5; err_has "bus '$Z' has no writer yet; waiting for one"
if grep -q 'died' "$TMP/err"; then fail "no writer reported as died: $(cat "$TMP/err")"; else pass; fi

# 11. A refused writer replaced nothing, and does not say it did.
newbus Busy
bg "$SHMPUB" "$Busy" -m one -r 10
writer=$!
eventually 30 writer_running "$Busy"
expect_rc 6 "$SHMPUB" "$Busy" -m two --slots 16; err_has "its writer \(pid $writer\) is still running"
if grep -qi 'replac' "$TMP/err"; then fail "refused writer says: $(cat "$TMP/err")"; else pass; fi
expect_rc 0 "$SHMBUS" stat "$Busy" --json; out_has '"slots":8,'

# 12. shmbus rm --force under a live writer: the writer says so and stops (exit 1).
newbus Gone
"$SHMPUB" "$Gone" -m tick -r 100 2>"$TMP/goneerr" &
pub=$!
eventually 30 latest_ge "$Gone" 2
expect_rc 0 "$SHMBUS" rm --force "$Gone"
wait "$pub"; rc=$?
if [ "$rc" -eq 1 ]; then pass; else fail "writer of a removed bus: exit status $rc"; fi
if grep -q "bus '$Gone' was removed (shmbus rm --force) or replaced by another writer" "$TMP/goneerr"; then pass; else fail "no notice: $(cat "$TMP/goneerr")"; fi
if bus_exists "$Gone"; then fail "the writer recreated the bus"; else pass; fi

# 13. --oldest implies --all; --new with --oldest is refused.
expect_rc 2 "$SHMSUB" x --new --oldest; err_has 'give only one of --new and --oldest'
expect_rc 2 "$SHMSUB" x --oldest --hz; err_has '--oldest .* does not combine with --hz'
newbus Old
seq 3 | "$SHMPUB" "$Old" -l
expect_rc 0 "$SHMSUB" "$Old" --oldest -C 3 -W 5; out_is "$(printf '1\n2\n3')"

# 15. --group G for a user not in G: said before anything is made (needs root and setpriv).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
  bin=$(mktemp -d /tmp/shmbus-tools-test.XXXXXX)
  chmod 755 "$bin"
  cp "$SHMPUB" "$bin/"
  newbus G
  expect_rc 5 setpriv --reuid=nobody --regid=nogroup --clear-groups "$bin/shmpub" "$G" -m x --group root
  err_has "cannot give bus '$G' to group root: you are not a member of it"
  if grep -q 'another user\|unknown' "$TMP/err"; then fail "$(cat "$TMP/err")"; else pass; fi
  if bus_exists "$G"; then fail "--group failure left a bus"; else pass; fi
  rm -rf "$bin"
else
  echo "SKIP: the --group check needs root, setpriv and user nobody"
fi

# 16. The type tag: shmsub -v shows it; no type is '-' in text (ls, stat, shmsub) and "" in JSON.
newbus Ty
"$SHMPUB" "$Ty" -m x --type imu/v2
expect_rc 0 "$SHMSUB" "$Ty" -v -1; err_has "^shmsub: bus '$Ty': type 'imu/v2', 8 slots of 64 KiB, latest version 1$"
newbus Un
"$SHMPUB" "$Un" -m x
expect_rc 0 "$SHMSUB" "$Un" -v -1; err_has "type '-'"
expect_rc 0 "$SHMBUS" stat "$Un"; out_has '^type: +-$'
expect_rc 0 "$SHMBUS" ls; out_has "^$Un +- +closed "
expect_rc 0 "$SHMBUS" stat "$Un" --json; out_has '"type":"",'

# 17. The size of a new bus: with -v always; a warning above 256 MiB.
newbus V
expect_rc 0 "$SHMPUB" "$V" -m x -v
err_has "created bus '$V': 8 slots of 64 KiB \(520.5 KiB of shared memory\), type '-', mode 0600"
newbus Huge
expect_rc 0 "$SHMPUB" "$Huge" -m x --slots 4096 --unlink
err_has "warning: bus '$Huge' needs 256.3 MiB of shared memory \(4096 slots of 64 KiB\)"
expect_rc 0 "$SHMPUB" "$V" -m x --slots 16; err_has "^shmpub: replaced bus '$V'"
if grep -q warning "$TMP/err"; then fail "warned below 256 MiB: $(cat "$TMP/err")"; else pass; fi
# The README tour removes every bus it makes.
tour=$(sed -n '/30-second tour/,/^## /p' "$RUNFILES/README.md")
for b in $(grep -o 'shmpub [a-z]*' <<<"$tour" | cut -d' ' -f2 | sort -u); do
  if grep -Eq "shmbus rm .*\\b$b\\b" <<<"$tour"; then pass; else fail "the README tour leaves bus '$b'"; fi
done

# 18. The smaller ones.
# stat takes several names (a missing one is reported, the rest printed; its exit status).
expect_rc 0 "$SHMBUS" stat "$Ty" "$Un"; out_has "^bus: +$Ty$"; out_has "^bus: +$Un$"
expect_rc 0 "$SHMBUS" stat --json "$Ty" "$Un"
if [ "$(jq -r .name "$TMP/out" | tr '\n' ' ')" = "$Ty $Un " ]; then pass; else fail "stat --json NAME NAME"; fi
newbus Missing
expect_rc 3 "$SHMBUS" stat "$Ty" "$Missing"; out_has "^bus: +$Ty$"; err_has "cannot inspect bus '$Missing'"
# '--' ends the options: -foo is a bus name, not an unknown option.
expect_rc 3 "$SHMBUS" stat -- -foo; err_has "cannot inspect bus '-foo': no such bus"
# ls --json is JSON Lines, and says so.
expect_rc 0 "$SHMBUS" --help; out_has 'JSON Lines'
# RATE has one decimal; a closed writer is 'closed' in ls as in stat.
newbus Rate
bg "$SHMPUB" "$Rate" -m x -r 200
eventually 30 latest_ge "$Rate" 20
expect_rc 0 "$SHMBUS" ls; out_has "^$Rate +- +[0-9]+ +[0-9]+ +64 KiB +8 +[0-9]+ +[0-9]+\.[0-9] Hz "
out_has "^$Old +- +closed "
# A 200-character name widens only its own row.
long=$(printf 'n%.0s' $(seq 200))
BUSES+=("$long")
"$SHMPUB" "$long" -m x
expect_rc 0 "$SHMBUS" ls
if [ "$(grep "^$Old " "$TMP/out" | wc -c)" -lt 130 ]; then pass; else fail "long name widens rows: $(grep "^$Old " "$TMP/out")"; fi
"$SHMBUS" rm "$long"
# --wait-for-bus -v: "to exist" the first time ("again" only after a removal).
newbus Later
expect_rc 4 "$SHMSUB" "$Later" --wait-for-bus -v -W 0.3
err_has "waiting for bus '$Later' to exist$"; err_has "bus '$Later' did not appear within 0.3 seconds"
# "1 second", not "1 seconds".
expect_rc 4 "$SHMSUB" "$Un" --new -W 1; err_has "for 1 second; giving up"
# The bad letter of a cluster, not the previous argument; --opt=VALUE for a flag.
expect_rc 2 "$SHMSUB" --all -Zv x; err_has "unknown option '-Z'"
expect_rc 2 "$SHMPUB" --unlink -Zv x -m a; err_has "unknown option '-Z'"
expect_rc 2 "$SHMSUB" x --all=1; err_has "option '--all' takes no argument"
expect_rc 2 "$SHMSUB" x --timeout; err_has "option '--timeout' needs an argument"

# 19. Topic habits: '/' names get the name to type instead; -t/--topic name the bus.
expect_rc 2 "$SHMSUB" robot1/imu; err_has "invalid bus name 'robot1/imu'.*\(try 'robot1.imu': a topic path like robot1/imu is written robot1.imu\)"
expect_rc 2 "$SHMPUB" /robot1/imu -m x; err_has "try 'robot1.imu'"
newbus Top
expect_rc 0 "$SHMPUB" --topic "$Top" -m hi
expect_rc 0 "$SHMSUB" -t "$Top" -1; out_is hi
expect_rc 0 "$SHMSUB" --topic "$Top" -1; out_is hi
expect_rc 2 "$SHMSUB" -t "$Top" other; err_has "two bus names"
expect_rc 2 "$SHMPUB" -t "$Top" -m x; err_has "in shmpub, -t is --type; give the bus as the first argument or --topic NAME"
finish
