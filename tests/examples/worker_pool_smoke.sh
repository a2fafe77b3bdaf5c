#!/usr/bin/env bash
# Example 4 smoke test: 16 threads through the RCU view, every read consistent.
set -euo pipefail
out=$("$1" -t 16 -s 1 -k 16 -b "smoke-pool-$$-$RANDOM")
echo "$out"
grep -q ", 0 inconsistent; 1000 records published" <<<"$out"
