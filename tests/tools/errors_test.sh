#!/usr/bin/env bash
# Every error path of the three tools: its exit status and a message that says what to do.
source "${TEST_SRCDIR}/${TEST_WORKSPACE:-shmbus}/tests/tools/lib.sh"
long=$(printf 'x%.0s' $(seq 201))

# 2: usage errors, each with a pointer to --help.
for t in "$SHMPUB" "$SHMSUB"; do
  expect_rc 2 "$t"; err_has 'missing the bus NAME'; err_has "Try '.* --help'"
  expect_rc 2 "$t" x --no-such-option; err_has "unknown option '--no-such-option'"
  expect_rc 2 "$t" x -Z; err_has "unknown option '-Z'"
  expect_rc 2 "$t" x -W; err_has "option '-W' needs an argument|unknown option '-W'"
  expect_rc 2 "$t" 'a/b'; err_has "invalid bus name 'a/b': a name is 1-200 characters"
  expect_rc 2 "$t" .hidden; err_has "invalid bus name '.hidden'"
  expect_rc 2 "$t" "$long"; err_has 'bus name too long \(201 characters; at most 200\)'
  expect_rc 2 "$t" a b; err_has "unexpected argument 'b'"
done
expect_rc 2 "$SHMPUB" x -m a -f b; err_has 'only one of -m, -f, -s, -l, --binary'
expect_rc 2 "$SHMPUB" x -m a -r 0; err_has '--rate wants'
expect_rc 2 "$SHMPUB" x -m a -r abc; err_has '--rate wants'
expect_rc 2 "$SHMPUB" x -m a -n 0; err_has '--count wants'
expect_rc 2 "$SHMPUB" x -m a --capacity 0; err_has '--capacity wants'
expect_rc 2 "$SHMPUB" x -m a --capacity 2G; err_has '--capacity wants'
expect_rc 2 "$SHMPUB" x -m a --capacity 12Q; err_has '--capacity wants'
expect_rc 2 "$SHMPUB" x -m a --slots 1; err_has '--slots wants 2..65536'
expect_rc 2 "$SHMPUB" x -m a --slots 65537; err_has '--slots wants'
expect_rc 2 "$SHMPUB" x -m a --type "$(printf 't%.0s' $(seq 32))"; err_has '--type wants'
expect_rc 2 "$SHMPUB" x -m a --type "$(printf 'a\tb')"; err_has '--type wants'
expect_rc 2 "$SHMPUB" x -m a --mode 0666; err_has '--mode must be 0600'
expect_rc 2 "$SHMPUB" x -m a --mode 0400; err_has '--mode must be'
expect_rc 2 "$SHMPUB" x -m a --mode 9; err_has '--mode must be'
expect_rc 2 "$SHMPUB" x -m a --group no-such-group-xyz; err_has "no such group"
expect_rc 2 "$SHMPUB" x --binary 0; err_has '--binary wants'
expect_rc 2 "$SHMPUB" x --capacity; err_has "option '--capacity' needs an argument"
expect_rc 2 "$SHMPUB" x -m; err_has "option '-m' needs an argument"
if command -v script >/dev/null; then  # stdin a terminal and nothing to publish
  script -qec "$SHMPUB x" /dev/null >"$TMP/out" 2>&1
  if [ $? -eq 2 ] && grep -q 'nothing to publish' "$TMP/out"; then pass; else fail "tty stdin: $(cat "$TMP/out")"; fi
fi
expect_rc 2 "$SHMSUB" x -F yaml; err_has '--format wants text, hex, json or raw'
expect_rc 2 "$SHMSUB" x -W 0; err_has '--timeout wants'
expect_rc 2 "$SHMSUB" x -W -1; err_has '--timeout wants'
expect_rc 2 "$SHMSUB" x -C 0; err_has '--count wants'
expect_rc 2 "$SHMSUB" x -C x; err_has '--count wants'
expect_rc 2 "$SHMSUB" x -1 -C 3; err_has '--once is -C 1'
expect_rc 2 "$SHMSUB" x --all -i 1; err_has 'choose one'
expect_rc 2 "$SHMSUB" x -i 0; err_has '--interval wants'
expect_rc 2 "$SHMSUB" x --spin --sleep; err_has 'only one of --spin, --sleep, --hybrid'
expect_rc 2 "$SHMSUB" x --hz -F json; err_has '--format applies to records'
expect_rc 2 "$SHMSUB" x --hz --window 1; err_has '--window wants'
expect_rc 2 "$SHMBUS"; err_has 'missing a COMMAND'
expect_rc 2 "$SHMBUS" frobnicate; err_has "unknown command 'frobnicate'"
expect_rc 2 "$SHMBUS" stat; err_has 'which bus'
expect_rc 2 "$SHMBUS" stat x --bogus; err_has "unknown option '--bogus'"
expect_rc 2 "$SHMBUS" stat 'a/b'; err_has 'invalid bus name'
expect_rc 2 "$SHMBUS" ls extra; err_has "unexpected argument 'extra'"
expect_rc 2 "$SHMBUS" rm; err_has 'which bus'
expect_rc 2 "$SHMBUS" rm --bogus x; err_has "unknown option '--bogus'"
expect_rc 2 "$SHMBUS" rm 'a/b'; err_has 'invalid bus name'

# 3: no such bus, with the next step to take.
newbus Missing
expect_rc 3 "$SHMSUB" "$Missing"
err_has "cannot subscribe to bus '$Missing': no such bus. List the buses with 'shmbus ls', or add --wait-for-bus"
expect_rc 3 "$SHMBUS" stat "$Missing"; err_has "no such bus. List the buses with 'shmbus ls'"
expect_rc 3 "$SHMBUS" rm "$Missing"; err_has 'no such bus'

# 4: timeouts.
expect_rc 4 "$SHMSUB" "$Missing" --wait-for-bus -W 0.2; err_has "bus '$Missing' did not appear within 0.2 seconds; giving up \\(-W\\)"
newbus T
"$SHMPUB" "$T" -m x
expect_rc 4 "$SHMSUB" "$T" --new -W 0.2; err_has 'giving up \(-W\)'
expect_rc 0 "$SHMSUB" "$T" -W 0.2 -1; out_is x   # the latest value counts as a record

# 1: a record larger than the bus's capacity; nothing is published.
newbus Small
expect_rc 0 "$SHMPUB" "$Small" --capacity 16 -m 0123456789abcdef
expect_rc 1 "$SHMPUB" "$Small" -m 0123456789abcdefg
err_has "record of 17 bytes is larger than the capacity of bus '$Small' \(16 bytes\); nothing was published. Publish with --capacity 17"
expect_rc 0 "$SHMSUB" "$Small" -1; out_is 0123456789abcdef
expect_rc 1 "$SHMPUB" "$Small" -f /no/such/file; err_has "cannot read '/no/such/file': No such file"

# 1: not a bus (a foreign object under a bus's name); shmbus rm --force removes it.
newbus Junk
echo "not a bus" >"/dev/shm/shmbus.$Junk"
expect_rc 1 "$SHMSUB" "$Junk"; err_has "is not a shmbus bus, or it is corrupt. Remove it with 'shmbus rm --force $Junk'"
expect_rc 1 "$SHMPUB" "$Junk" -m x; err_has 'not a shmbus bus'
expect_rc 0 "$SHMBUS" ls; out_has "^$Junk .*\\?.*not a shmbus bus"
expect_rc 0 "$SHMBUS" rm --force "$Junk"
if [ -e "/dev/shm/shmbus.$Junk" ]; then fail "junk left"; else pass; fi

# 1: a bus of a newer layout version: the message names both versions.
newbus Newer
expect_rc 0 "$SHMPUB" "$Newer" -m x
printf '\003' | dd of="/dev/shm/shmbus.$Newer" bs=1 seek=8 conv=notrunc status=none
expect_rc 1 "$SHMSUB" "$Newer" -1
err_has "incompatible shmbus version \(layout version 3; this shmbus [0-9.]+ reads layout versions 1 to 2\)"
expect_rc 0 "$SHMBUS" rm --force "$Newer"

# 6: busy. A second writer, and rm, refuse while a live writer holds the bus; --force works.
newbus W
bg "$SHMPUB" "$W" -m x -r 20
writer=$!
eventually 20 bus_exists "$W"
eventually 20 "$SHMSUB" "$W" -1 -W 1
expect_rc 6 "$SHMPUB" "$W" -m y
err_has "cannot publish on bus '$W': its writer \(pid $writer\) is still running, and a bus has one writer at a time. Stop that process first"
expect_rc 6 "$SHMBUS" rm "$W"; err_has "cannot remove bus '$W': its writer \(pid $writer\) is still running. Stop the writer first, or use --force"
expect_rc 0 "$SHMBUS" rm --force "$W"
if bus_exists "$W"; then fail "rm --force left the bus"; else pass; fi
kill "$writer"; wait "$writer" 2>/dev/null

# 5: permission denied: a root-owned bus seen by nobody (needs root and setpriv).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
  bin=$(mktemp -d /tmp/shmbus-tools-test.XXXXXX)
  chmod 755 "$bin"
  cp "$SHMPUB" "$SHMSUB" "$SHMBUS" "$bin/"
  asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
  newbus R
  "$SHMPUB" "$R" -m secret                 # mode 0600 (default)
  expect_rc 5 asnobody "$bin/shmsub" "$R" -1
  err_has "cannot subscribe to bus '$R': permission denied for nobody; /dev/shm/shmbus.$R is owned by root \(uid 0\), group root, mode 0600. Its writer can grant read access with 'shmpub --mode 0644'"
  expect_rc 5 asnobody "$bin/shmpub" "$R" -m x
  err_has "cannot publish on bus '$R': it belongs to another user \(/dev/shm/shmbus.$R is owned by root .*; you are nobody\). Only its owner can publish on it"
  expect_rc 5 asnobody "$bin/shmbus" stat "$R"; err_has 'permission denied for nobody'
  expect_rc 5 asnobody "$bin/shmbus" rm "$R"
  err_has "cannot remove bus '$R': permission denied for nobody; .* Only its owner \(or root\) can remove it"
  expect_rc 0 asnobody "$bin/shmbus" ls; out_has "^$R .*\\?.* root +0600"
  # Granting read access: nobody reads, and still cannot write.
  "$SHMPUB" "$R" -m public --mode 0644
  expect_rc 0 asnobody "$bin/shmsub" "$R" -1; out_is public
  expect_rc 5 asnobody "$bin/shmpub" "$R" -m x
  rm -rf "$bin"
else
  echo "SKIP: permission checks need root, setpriv and user nobody"
fi
finish
