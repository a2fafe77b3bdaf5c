#!/usr/bin/env python3
"""imu_pub.py [-b BUS] [-n COUNT] [-r HZ] - publish synthetic IMU samples (imu_sample.v1),
written in place in the slot with reserve() and a numpy view of it."""
import argparse
import math
import time

import numpy as np
import shmbus
from imu import IMU, IMU_TYPE


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-b", "--bus", default="imu")
    ap.add_argument("-n", "--count", type=int, default=0, help="0: for ever")
    ap.add_argument("-r", "--rate", type=float, default=1000.0, help="samples per second")
    a = ap.parse_args()
    period = 1.0 / a.rate
    with shmbus.Publisher(a.bus, capacity=IMU.itemsize, slots=64, type=IMU_TYPE,
                          mode=0o644) as pub:
        seq, next_t = 0, time.monotonic()
        while a.count == 0 or seq < a.count:
            seq += 1
            with pub.reserve(IMU.itemsize) as mv:
                s = np.frombuffer(mv, IMU)[0]
                s["seq"], s["t_ns"] = seq, time.time_ns()
                s["accel"] = (0.1 * math.sin(seq / 100), 0.0, 9.81)
                s["gyro"] = (0.0, 0.0, 0.01)
                s["temp_c"], s["status"] = 36.5, 0
                del s
            next_t += period
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)   # pacing the publisher, not synchronisation
    print(f"published {seq} samples on {a.bus}")


if __name__ == "__main__":
    main()
