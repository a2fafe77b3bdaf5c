/* imu.h - the record the sensor example publishes: one IMU sample. Fixed-width fields, no
 * pointers; readers check the bus's type tag before trusting the layout. */
#ifndef SHMBUS_EXAMPLE_IMU_H
#define SHMBUS_EXAMPLE_IMU_H

#include <stdint.h>

#define IMU_TYPE "imu_sample.v1"

struct imu_sample {
  uint64_t seq;      /* 1, 2, 3, ... */
  int64_t t_ns;      /* CLOCK_REALTIME when sampled */
  float accel[3];    /* m/s^2 */
  float gyro[3];     /* rad/s */
  float temp_c;
  uint32_t status;   /* 0 = ok */
};

_Static_assert(sizeof(struct imu_sample) == 48, "the layout is part of the type tag");

#endif
