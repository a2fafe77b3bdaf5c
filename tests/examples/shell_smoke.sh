#!/usr/bin/env bash
# Example 5 smoke test: the shell pipeline with the tools.
set -euo pipefail
script=$1
export SHMBUS_BIN=$(cd "$(dirname "$2")" && pwd)
bus="smoke-shell-$$-$RANDOM"
out=$("$script" "$bus")
echo "$out"
grep -q "sum of every record: 5050" <<<"$out"
grep -q "^latest: 100$" <<<"$out"
grep -q "latest version: 100" <<<"$out"
[ ! -e "/dev/shm/shmbus.$bus" ]
