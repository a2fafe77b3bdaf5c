#!/usr/bin/env bash
# examples/demo/run.sh - the shmbus demo, from a fresh Debian 12 machine:
#   1. installs the Debian packages the build needs when any is missing (as root or via sudo),
#   2. builds the tools and the demo publisher with Bazel (offline),
#   3. runs a publisher of synthetic IMU snapshots at 1 kHz and three subscribers (spinning,
#      hybrid, sleeping) that print two samples a second with their one-way latency, then the
#      bus's statistics; it ends by itself after about 8 seconds and removes its bus.
set -euo pipefail
cd "$(dirname "$0")/../.."

PKGS=(bazel-bootstrap bazel-rules-java default-jdk-headless build-essential)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "demo: installing missing Debian packages: ${missing[*]}" >&2
  SUDO=()
  [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  if ! "${SUDO[@]}" apt-get update -qq || ! "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null; then
    echo "demo: could not install ${missing[*]}; install them and run again" >&2
    exit 1
  fi
fi

echo "demo: building (bazel build --config=opt //tools/... //examples/demo:imu_pub)" >&2
bazel build --config=opt --ui_event_filters=-info,-stdout --noshow_progress \
  //tools:shmsub //tools:shmbus //examples/demo:imu_pub
bin=$(bazel info --config=opt bazel-bin 2>/dev/null)
shmsub=$bin/tools/shmsub shmbus=$bin/tools/shmbus imu_pub=$bin/examples/demo/imu_pub

bus=demo-imu-$$
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$shmbus" rm --force "$bus" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat <<MSG

Publisher: imu_pub, 1000 IMU snapshots per second on bus '$bus' for 8 s: typed records (the C
struct idlc makes from examples/sensor/imu.idl; the bus carries that IDL, so shmsub shows fields).
Subscribers: three 'shmsub --new -v -i 0.5' (one fresh sample every half second, with its latency),
waiting by spinning, by spinning then sleeping (the default), and by sleeping on a futex.

MSG
"$imu_pub" "$bus" 8 1000 &
pids+=($!)
for _ in $(seq 100); do "$shmbus" stat "$bus" >/dev/null 2>&1 && break; sleep 0.05; done
subs=()
for mode in spin hybrid sleep; do
  "$shmsub" "$bus" --new -W 5 --"$mode" -v -i 0.5 -C 10 | sed -u "s/^/[$mode] /" &
  subs+=($!)
done
wait "${subs[@]}"
echo
echo "\$ shmbus ls    (the demo's bus)"
"$shmbus" ls | sed -n "1p; /^$bus /p"
echo
echo "\$ shmbus stat $bus | grep schema    (a typed bus: it carries examples/sensor/imu.idl)"
"$shmbus" stat "$bus" | grep '^schema'
echo
echo "\$ shmsub $bus -F json -1    (the latest record, decoded into its fields)"
"$shmsub" "$bus" -F json -1
echo
echo "\$ shmsub $bus --field 'accel[2]' -C 3    (one field of the next three records)"
"$shmsub" "$bus" --field 'accel[2]' -C 3 -W 5
echo
echo "\$ shmsub $bus --hz --delay -C 1000    (statistics over one second of records)"
"$shmsub" "$bus" --hz --delay -C 1000 -W 5
echo
echo "demo: done. Try the tools yourself: see docs/TOOLS.md, or 'man -l docs/man/shmsub.1'."
