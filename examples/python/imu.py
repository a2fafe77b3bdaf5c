"""The IMU sample of examples/sensor/imu.idl, shared by the Python examples.

The bus carries the IDL (a typed bus: docs/TYPES.md), so a reader needs nothing of this file:
Subscriber.dtype is the numpy structured dtype of the C struct, built from the schema.
IMU is the same dtype written by hand (the C layout: align=True), for programs that read
untyped buses; tests/examples/python_smoke.sh checks that the two agree."""
import os

import numpy as np

IMU_TYPE = "imu_sample.v1"        # the bus's type tag, as examples/sensor/imu.h sets it
IMU_TYPE_NAME = "sensors::Imu"    # the schema's type
# examples/sensor/imu.idl: the one source of truth, the C publisher's too.
IMU_IDL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sensor", "imu.idl")
IMU = np.dtype([
    ("seq", "<u8"),        # 1, 2, 3, ...
    ("t_ns", "<i8"),       # CLOCK_REALTIME when sampled
    ("accel", "<f4", 3),   # m/s^2
    ("gyro", "<f4", 3),    # rad/s
    ("temp_c", "<f4"),
    ("status", "<u4"),     # enum ImuStatus: 0 = IMU_OK
], align=True)
assert IMU.itemsize == 48, "the layout of imu.h"
