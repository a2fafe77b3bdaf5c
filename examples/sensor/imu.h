/* imu.h - the sensor example's record, made from imu.idl: the C struct comes from Cyclone DDS's
 * idlc (generated imu_idl.h: struct sensors_Imu), the schema text from the same file
 * (generated imu_schema.h: IMU_IDL), so the struct the programs use and the schema the bus
 * carries cannot disagree. */
#ifndef SHMBUS_EXAMPLE_IMU_H
#define SHMBUS_EXAMPLE_IMU_H

#include <stdint.h>

#include "examples/sensor/imu_idl/imu.h"
#include "examples/sensor/imu_schema.h"

#define IMU_TYPE "imu_sample.v1"     /* the bus's type tag, for older readers */
#define IMU_TYPE_NAME "sensors::Imu" /* the schema's type name */

/* The layout docs/TYPES.md promises for this IDL (natural alignment): a test of the promise. */
_Static_assert(sizeof(sensors_Imu) == 48, "8 + 8 + 12 + 12 + 4 + 4 bytes, no padding");

#endif
