/* imu_sub - follow an IMU bus; print the rate and the one-way latency once a second.
 *   imu_sub [-b BUS] [-n COUNT] [-t SECONDS]     (defaults: imu, forever, no limit)
 * Checks the bus's schema (type sensors::Imu, C-struct records), waits (spin then sleep) for each new sample, and measures
 * latency as receive time - the sample's publish timestamp (both CLOCK_REALTIME). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "examples/sensor/imu.h"

static int64_t now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  const char *bus = "imu";
  long count = -1;
  double seconds = -1;
  int opt;
  while ((opt = getopt(argc, argv, "b:n:t:h")) != -1) {
    switch (opt) {
      case 'b': bus = optarg; break;
      case 'n': count = atol(optarg); break;
      case 't': seconds = atof(optarg); break;
      default:
        fprintf(stderr, "usage: %s [-b BUS] [-n COUNT] [-t SECONDS]\n", argv[0]);
        return opt == 'h' ? 0 : 2;
    }
  }
  shmbus_sub *s;
  int rc;
  int64_t give_up = seconds < 0 ? INT64_MAX : now_ns(CLOCK_MONOTONIC) + (int64_t)(seconds * 1e9);
  while ((rc = shmbus_sub_open(bus, 0, &s)) == -ENOENT && now_ns(CLOCK_MONOTONIC) < give_up)
    usleep(10000); /* the publisher may not have started yet */
  if (rc < 0) {
    fprintf(stderr, "imu_sub: cannot open bus '%s': %s\n", bus, shmbus_strerror(rc));
    return 1;
  }
  /* The same type name and the same IDL (by hash): the same struct. */
  struct shmbus_schema have,
      want = {IMU_TYPE_NAME, "omgidl", SHMBUS_MSG_CSTRUCT, IMU_IDL, sizeof IMU_IDL - 1, 0};
  if (shmbus_sub_schema(s, &have) != 0 || have.hash != shmbus_schema_hash(&want)) {
    fprintf(stderr, "imu_sub: bus '%s' does not carry this program's imu.idl (%s)\n", bus,
            shmbus_sub_schema(s, &have) == 0 ? have.type_name : "untyped");
    return 1;
  }
  static int64_t lat[100000];
  size_t nlat = 0;
  long got = 0;
  uint64_t lost = 0;
  int64_t window = now_ns(CLOCK_MONOTONIC);
  while (count < 0 || got < count) {
    int64_t left = give_up == INT64_MAX ? -1 : give_up - now_ns(CLOCK_MONOTONIC);
    if (left == 0 || (left < 0 && give_up != INT64_MAX)) break;
    rc = shmbus_sub_wait(s, left < 0 || left > 1000000000 ? 1000000000 : left,
                         SHMBUS_WAIT_HYBRID | SHMBUS_WAIT_THROUGH_DEATH);
    if (rc == 0) {
      sensors_Imu smp;
      struct shmbus_record_info in;
      while (shmbus_sub_next(s, &smp, sizeof smp, &in) == (ssize_t)sizeof smp) {
        if (nlat < sizeof lat / sizeof lat[0])
          lat[nlat++] = now_ns(CLOCK_REALTIME) - (int64_t)in.timestamp_ns;
        lost += in.lost;
        got++;
      }
    } else if (rc == -ESTALE) {
      fprintf(stderr, "imu_sub: bus replaced; reopening\n");
      shmbus_sub_close(s);
      if ((rc = shmbus_sub_open(bus, 0, &s)) < 0) break;
    } else if (rc != -ETIMEDOUT) {
      fprintf(stderr, "imu_sub: %s\n", shmbus_strerror(rc));
      break;
    }
    int64_t t = now_ns(CLOCK_MONOTONIC);
    int last = (count >= 0 && got >= count) || t >= give_up;
    if (t - window >= 1000000000 || last) {
      if (nlat) {
        qsort(lat, nlat, sizeof lat[0], cmp64);
        printf("%s: %.0f samples/s, latency p50 %.1f us p99 %.1f us max %.1f us, lost %llu\n", bus,
               nlat * 1e9 / (double)(t - window), lat[nlat / 2] / 1e3, lat[nlat * 99 / 100] / 1e3,
               lat[nlat - 1] / 1e3, (unsigned long long)lost);
      } else {
        printf("%s: no samples\n", bus);
      }
      fflush(stdout);
      nlat = 0;
      window = t;
    }
  }
  shmbus_sub_close(s);
  return got > 0 ? 0 : 3;
}
