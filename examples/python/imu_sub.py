#!/usr/bin/env python3
"""imu_sub.py [-b BUS] [-n COUNT] [-t SECONDS] - read IMU samples (from imu_pub.py or the C
examples/sensor/imu_pub) into a numpy structured array in batches; print the rate and the mean
acceleration. Ends after COUNT samples, SECONDS without one, or when the writer goes."""
import argparse
import time

import numpy as np
import shmbus
from imu import IMU, IMU_TYPE


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-b", "--bus", default="imu")
    ap.add_argument("-n", "--count", type=int, default=1000)
    ap.add_argument("-t", "--timeout", type=float, default=None)
    a = ap.parse_args()
    got = np.zeros(a.count, IMU)
    n = lost = 0
    with shmbus.Subscriber(a.bus, wait_for_bus=True, timeout=a.timeout) as sub:
        if sub.info().type != IMU_TYPE:
            raise SystemExit(f"{a.bus}: type {sub.info().type!r}, expected {IMU_TYPE!r}")
        start = time.monotonic()
        while n < a.count:
            try:
                if not sub.wait(a.timeout, mode="hybrid"):
                    break                     # SECONDS without a sample
            except shmbus.WriterDied:
                break
            n += sub.next_many_into(got[n:])  # every sample waiting, in one call
        elapsed = time.monotonic() - start
    s = got[:n]
    if n:
        lost = int(s["seq"][-1] - s["seq"][0] + 1 - n)
    rate = n / elapsed if elapsed > 0 else 0.0
    mean = s["accel"].mean(axis=0) if n else np.zeros(3)
    print(f"{n} samples ({lost} lost), {rate:.0f} samples/s, mean accel "
          f"[{mean[0]:.3f} {mean[1]:.3f} {mean[2]:.3f}] m/s^2")


if __name__ == "__main__":
    main()
