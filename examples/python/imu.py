"""The IMU sample of examples/sensor/imu.h as a numpy structured dtype (the C layout:
align=True), shared by the Python examples. C and Python processes read each other's records."""
import numpy as np

IMU_TYPE = "imu_sample.v1"
IMU = np.dtype([
    ("seq", "<u8"),        # 1, 2, 3, ...
    ("t_ns", "<i8"),       # CLOCK_REALTIME when sampled
    ("accel", "<f4", 3),   # m/s^2
    ("gyro", "<f4", 3),    # rad/s
    ("temp_c", "<f4"),
    ("status", "<u4"),     # 0 = ok
], align=True)
assert IMU.itemsize == 48, "the layout is part of the type tag"
