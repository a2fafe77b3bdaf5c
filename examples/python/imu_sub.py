#!/usr/bin/env python3
"""imu_sub.py [-b BUS] [-n COUNT] [-t SECONDS] - read IMU samples (from imu_pub.py or the C
examples/sensor/imu_pub) off a typed bus into a numpy structured array of the bus's own dtype
(built from its IDL schema), in batches; print the first sample decoded (enums by name) and
then the rate and the mean acceleration. Ends after COUNT samples, SECONDS without one, or
when the writer goes."""
import argparse
import json
import time

import numpy as np
import shmbus
from imu import IMU_TYPE_NAME


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-b", "--bus", default="imu")
    ap.add_argument("-n", "--count", type=int, default=1000)
    ap.add_argument("-t", "--timeout", type=float, default=None)
    a = ap.parse_args()
    n = lost = 0
    with shmbus.Subscriber(a.bus, wait_for_bus=True, timeout=a.timeout) as sub:
        if sub.schema is None or sub.schema.type_name != IMU_TYPE_NAME or sub.dtype is None:
            raise SystemExit(f"{a.bus}: schema {sub.schema!r}, expected {IMU_TYPE_NAME} records")
        got = np.zeros(a.count, sub.dtype)    # the C struct's layout, from the schema
        start = time.monotonic()
        while n < a.count:
            try:
                if not sub.wait(a.timeout, mode="hybrid"):
                    break                     # SECONDS without a sample
            except shmbus.WriterDied:
                break
            if n == 0:
                rec = sub.next()              # one record: rec.value (numpy), rec.as_dict()
                if rec is None:
                    continue
                got[0] = rec.value
                n = 1
                print(f"{a.bus}: {sub.schema.type_name}, first sample "
                      f"{json.dumps(rec.as_dict())}", flush=True)
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
