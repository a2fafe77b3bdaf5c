/* imu_pub - publish synthetic IMU snapshots on a typed bus at a fixed rate (the README demo).
 *
 *   imu_pub NAME [SECONDS [HZ]]        defaults: 10 s at 1000 Hz
 *
 * Each record is a struct sensors_Imu (examples/sensor/imu.idl, made into C by idlc), written
 * in place into the bus's slot with shmbus_pub_reserve()/shmbus_pub_commit() (no intermediate
 * copy). The bus carries imu.idl as its schema, so shmsub shows the fields (-F json, -F text,
 * --field accel[2]) and shmbus schema prints the IDL. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/shmbus.h"
#include "examples/sensor/imu.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

/* A slowly turning, slightly shaking sensor. */
static void sample(sensors_Imu *m, unsigned long long seq, double t) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  m->seq = seq;
  m->t_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
  m->accel[0] = (float)(0.30 * sin(2 * M_PI * 0.5 * t) + 0.01 * sin(97 * t));
  m->accel[1] = (float)(0.30 * cos(2 * M_PI * 0.5 * t) + 0.01 * cos(89 * t));
  m->accel[2] = (float)(9.81 + 0.02 * sin(53 * t));
  m->gyro[0] = (float)(0.05 * sin(2 * M_PI * 0.2 * t));
  m->gyro[1] = (float)(0.05 * cos(2 * M_PI * 0.2 * t));
  m->gyro[2] = (float)(M_PI * 0.5);
  m->temp_c = (float)(36.5 + 0.5 * sin(t / 10));
  m->status = sensors_IMU_OK;
}

int main(int argc, char **argv) {
  struct shmbus_pub_opts o;
  struct sigaction sa;
  struct timespec start, next;
  double seconds = argc > 2 ? atof(argv[2]) : 10, hz = argc > 3 ? atof(argv[3]) : 1000;
  unsigned long long n, total;
  shmbus_pub *p;
  int rc;

  if (argc < 2 || argc > 4 || seconds <= 0 || hz <= 0 || hz > 1e6) {
    fprintf(stderr, "usage: imu_pub NAME [SECONDS [HZ]]   (defaults: 10 s at 1000 Hz)\n");
    return 2;
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  struct shmbus_schema schema = {IMU_TYPE_NAME, "omgidl",           SHMBUS_MSG_CSTRUCT,
                                 IMU_IDL,       sizeof IMU_IDL - 1, 0};
  shmbus_pub_opts_init(&o);
  o.type = IMU_TYPE;
  o.schema = &schema;
  o.capacity = sizeof(sensors_Imu);
  o.slots = 64;
  rc = shmbus_pub_open(argv[1], &o, &p);
  if (rc < 0) {
    fprintf(stderr, "imu_pub: cannot publish on bus '%s': %s\n", argv[1], shmbus_strerror(rc));
    return 1;
  }
  total = (unsigned long long)(seconds * hz);
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (n = 0; n < total && !stop; n++) {
    long long at = (long long)(n * 1e9 / hz);
    void *slot;
    next.tv_sec = start.tv_sec + (time_t)((start.tv_nsec + at) / 1000000000LL);
    next.tv_nsec = (long)((start.tv_nsec + at) % 1000000000LL);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR && !stop) {
    }
    if (shmbus_pub_reserve(p, sizeof(sensors_Imu), &slot) < 0) break;
    sample(slot, n + 1, (double)at / 1e9);
    shmbus_pub_commit(p, sizeof(sensors_Imu));
  }
  shmbus_pub_close(p);
  return 0;
}
