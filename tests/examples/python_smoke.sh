#!/usr/bin/env bash
# The Python examples (examples/python/) run and exit 0 within seconds, with Debian's python3
# and the Bazel-built extension: the numpy IMU subscriber reading the Python publisher and the
# C one (examples/sensor/imu_pub) off a typed bus (the dtype from the bus's IDL schema, the
# first sample decoded with its enum by name), and the asyncio watcher of three buses fed by
# shmpub.
# $1 sanitizer (none, asan, tsan), $2 imu_pub (C), $3 shmpub, $4 shmbus.
set -euo pipefail
sanitizer=$1 cpub=$2 shmpub=$3 shmbus=$4
R=${TEST_SRCDIR:?run through bazel test}/${TEST_WORKSPACE:-shmbus}
PY=/usr/bin/python3
tmp=${TEST_TMPDIR:-$(mktemp -d)}
case $sanitizer in
  tsan) echo "python_smoke: skipped under TSan (CPython is not instrumented)"; exit 0 ;;
  asan) export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
        export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:verify_asan_link_order=0 ;;
esac
mkdir -p "$tmp/pkg/shmbus"
cp -L "$R"/python/shmbus/* "$R/python/_shmbus.so" "$tmp/pkg/shmbus/"
export PYTHONPATH=$tmp/pkg PYTHONDONTWRITEBYTECODE=1
ex=$R/examples/python
bus="smoke-py-$$-$RANDOM"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
      for b in "$bus" "$bus.c" "$bus.1" "$bus.2" "$bus.3"; do "$shmbus" rm --force "$b" >/dev/null 2>&1 || true; done' EXIT

# Python writer, Python reader. The reader ends at 200 samples or when the writer closes.
"$PY" "$ex/imu_pub.py" -b "$bus" -n 400 -r 1000 & pids+=($!)
out=$("$PY" "$ex/imu_sub.py" -b "$bus" -n 200 -t 30)
echo "$out"
grep -Eq '^[0-9]+ samples \([0-9]+ lost\), [0-9]+ samples/s, mean accel \[.* 9\.810\] m/s\^2$' <<<"$out"
grep -Eq "^$bus: sensors::Imu, first sample \{\"seq\": [0-9]+, .*\"accel\": \[[-0-9.e]+, 0(\.0)?, 9\.81[0-9]*\], .*\"status\": \"IMU_OK\"\}\$" <<<"$out"
wait "${pids[0]}"

# The dtype built from imu.idl is the one examples/python/imu.py writes by hand (the C layout).
"$PY" -c "import sys, shmbus; sys.path.insert(0, '$ex'); from imu import IMU, IMU_IDL
t = shmbus.Type(open(IMU_IDL).read(), 'sensors::Imu'); d = shmbus.dtype_from_describe(t.describe())
assert d == IMU and d.itemsize == IMU.itemsize == 48, (d, IMU)"

# The C writer of examples/sensor, the Python reader: one layout, two languages.
# The reader starts first and waits for the bus (it still ends if it comes late).
"$PY" "$ex/imu_sub.py" -b "$bus.c" -n 200 -t 30 > "$tmp/sub.out" & pids+=($!)
"$cpub" -b "$bus.c" -n 1500
wait "${pids[1]}"
cat "$tmp/sub.out"
grep -q ' samples/s, mean accel ' "$tmp/sub.out"
grep -Eq "^$bus.c: sensors::Imu, first sample \{\"seq\": [0-9]+, .*\"temp_c\": 36\.5, \"status\": \"IMU_OK\"\}\$" "$tmp/sub.out"

# asyncio: one program watching three buses; each gets one record and its writer exits.
"$PY" "$ex/watch.py" "$bus.1" "$bus.2" "$bus.3" > "$tmp/watch.out" & pids+=($!)
for i in 1 2 3; do "$shmpub" "$bus.$i" -m "hello $i"; done
wait "${pids[2]}"
cat "$tmp/watch.out"
for i in 1 2 3; do grep -q "^$bus.$i v1: hello $i\$" "$tmp/watch.out"; done
echo "python_smoke: ok"
