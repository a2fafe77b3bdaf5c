#!/usr/bin/env python3
"""imu_pub.py [-b BUS] [-n COUNT] [-r HZ] - publish synthetic IMU samples on a typed bus (the
schema: examples/sensor/imu.idl, type sensors::Imu, as the C examples/sensor/imu_pub), written
in place in the slot with reserve() and a numpy view of it in the bus's dtype."""
import argparse
import math
import time

import numpy as np
import shmbus
from imu import IMU_IDL, IMU_TYPE, IMU_TYPE_NAME


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-b", "--bus", default="imu")
    ap.add_argument("-n", "--count", type=int, default=0, help="0: for ever")
    ap.add_argument("-r", "--rate", type=float, default=1000.0, help="samples per second")
    a = ap.parse_args()
    period = 1.0 / a.rate
    with shmbus.Publisher(a.bus, schema=IMU_IDL, type=IMU_TYPE_NAME, tag=IMU_TYPE, slots=64,
                          mode=0o644) as pub:
        dt = pub.dtype        # built from the IDL: the C struct's layout
        seq, next_t = 0, time.monotonic()
        while a.count == 0 or seq < a.count:
            seq += 1
            with pub.reserve(dt.itemsize) as mv:
                s = np.frombuffer(mv, dt)[0]
                s["seq"], s["t_ns"] = seq, time.time_ns()
                s["accel"] = (0.1 * math.sin(seq / 100), 0.0, 9.81)
                s["gyro"] = (0.0, 0.0, 0.01)
                s["temp_c"], s["status"] = 36.5, 0      # IMU_OK
                del s
            next_t += period
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)   # pacing the publisher, not synchronisation
    print(f"published {seq} samples on {a.bus}")


if __name__ == "__main__":
    main()
