/* imu_pub - publish synthetic IMU samples on a bus at a fixed rate.
 *   imu_pub [-b BUS] [-r HZ] [-n COUNT]     (defaults: imu, 1000 Hz, forever)
 * Creates the bus if needed (world-readable, typed: it carries imu.idl as its schema, so
 * `shmsub imu -F json` shows the fields), publishes with
 * shmbus_pub_reserve()/commit() straight into the slot, paced with absolute sleeps so the
 * rate does not drift. Ends on SIGINT/SIGTERM or after COUNT samples. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "examples/sensor/imu.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

int main(int argc, char **argv) {
  const char *bus = "imu";
  double hz = 1000;
  long count = -1;
  int opt;
  while ((opt = getopt(argc, argv, "b:r:n:h")) != -1) {
    switch (opt) {
      case 'b': bus = optarg; break;
      case 'r': hz = atof(optarg); break;
      case 'n': count = atol(optarg); break;
      default:
        fprintf(stderr, "usage: %s [-b BUS] [-r HZ] [-n COUNT]\n", argv[0]);
        return opt == 'h' ? 0 : 2;
    }
  }
  if (hz <= 0 || hz > 1e6) {
    fprintf(stderr, "imu_pub: rate must be between 0 and 1000000 Hz\n");
    return 2;
  }
  struct shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  /* The schema: imu.idl's text (IMU_IDL), type sensors::Imu, records that are the C struct
   * idlc made from it (docs/TYPES.md: x-shmbus-cstruct). */
  struct shmbus_schema schema = {IMU_TYPE_NAME, "omgidl",           SHMBUS_MSG_CSTRUCT,
                                 IMU_IDL,       sizeof IMU_IDL - 1, 0};
  o.type = IMU_TYPE;
  o.schema = &schema;
  o.capacity = sizeof(sensors_Imu);
  o.slots = 64;
  o.mode = 0644;
  shmbus_pub *p;
  int rc = shmbus_pub_open(bus, &o, &p);
  if (rc < 0) {
    fprintf(stderr, "imu_pub: cannot publish on bus '%s': %s\n", bus, shmbus_strerror(rc));
    return 1;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  long period_ns = (long)(1e9 / hz);
  for (uint64_t seq = 1; !stop && (count < 0 || (long)seq <= count); seq++) {
    void *slot;
    if (shmbus_pub_reserve(p, sizeof(sensors_Imu), &slot) < 0) break;
    sensors_Imu *s = slot;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double t = (double)seq / hz;
    s->seq = seq;
    s->t_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    s->accel[0] = 0.1f * (float)sin(t);
    s->accel[1] = 0.1f * (float)cos(t);
    s->accel[2] = 9.81f;
    s->gyro[0] = s->gyro[1] = 0.0f;
    s->gyro[2] = 0.01f * (float)sin(0.5 * t);
    s->temp_c = 36.5f;
    s->status = sensors_IMU_OK;
    shmbus_pub_commit(p, sizeof(sensors_Imu));
    next.tv_nsec += period_ns;
    while (next.tv_nsec >= 1000000000) {
      next.tv_nsec -= 1000000000;
      next.tv_sec++;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR && !stop) {
    }
  }
  fprintf(stderr, "imu_pub: published %llu samples on '%s'\n",
          (unsigned long long)shmbus_pub_version(p), bus);
  shmbus_pub_close(p);
  return 0;
}
