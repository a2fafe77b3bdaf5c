/* bridge_probe.c - publish and check records on a bus, for the shmbridge tests.
 *
 *   bridge_probe pub NAME TYPE FROM TO INTERVAL_US [CAPACITY [MODE]]
 *                                 publish "seq=FROM" .. "seq=TO" (bus capacity 256, mode 0644:
 *                                 world-readable, so exportable), then close
 *   bridge_probe latest NAME TYPE SEQ TIMEOUT_S [CAPACITY]
 *                                 wait until the latest record is "seq=SEQ" (and the bus has
 *                                 that capacity)
 *   bridge_probe follow NAME TYPE LAST TIMEOUT_S     print every seq in order until seq=LAST
 *
 * Every reader mode checks the bus's type tag, and follow checks that the seqs strictly
 * increase (no duplicate, nothing out of order), through writer deaths and bus replacements.
 * Exit status: 0 when the condition held, 1 when it did not by the deadline (with a reason).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/shmbus.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int fail(const char *what, const char *name, int rc) {
  fprintf(stderr, "bridge_probe: %s %s: %s\n", what, name, shmbus_strerror(rc));
  return 1;
}

static int pub(const char *name, const char *type, long from, long to, long interval_us,
               uint64_t capacity, mode_t mode) {
  struct shmbus_pub_opts o;
  shmbus_pub *p;
  char rec[64];
  int rc;
  shmbus_pub_opts_init(&o);
  o.type = type;
  o.capacity = capacity;
  o.mode = mode;
  if ((rc = shmbus_pub_open(name, &o, &p)) < 0) return fail("open", name, rc);
  for (long i = from; i <= to; i++) {
    int n = snprintf(rec, sizeof rec, "seq=%ld", i);
    if ((rc = shmbus_pub_publish(p, rec, (size_t)n)) < 0) return fail("publish", name, rc);
    if (interval_us > 0 && i < to) usleep((useconds_t)interval_us);
  }
  shmbus_pub_close(p);
  return 0;
}

/* Open @name once it exists and check its type tag; NULL after @deadline. */
static shmbus_sub *open_typed(const char *name, const char *type, double deadline) {
  struct shmbus_bus_info info;
  shmbus_sub *s;
  int rc;
  while ((rc = shmbus_sub_open(name, 0, &s)) == -ENOENT && now_s() < deadline) usleep(10000);
  if (rc < 0) {
    fail("open", name, rc);
    return NULL;
  }
  shmbus_sub_info(s, &info);
  if (strcmp(info.type, type) != 0) {
    fprintf(stderr, "bridge_probe: bus %s has type tag \"%s\", expected \"%s\"\n", name, info.type,
            type);
    exit(1);
  }
  return s;
}

static long seq_of(const char *rec, ssize_t n) {
  char buf[64];
  long v;
  if (n <= 0 || n >= (ssize_t)sizeof buf) return -1;
  memcpy(buf, rec, (size_t)n);
  buf[n] = '\0';
  return sscanf(buf, "seq=%ld", &v) == 1 ? v : -1;
}

static int latest(const char *name, const char *type, long want, double timeout,
                  uint64_t capacity) {
  double deadline = now_s() + timeout;
  shmbus_sub *s = open_typed(name, type, deadline);
  char rec[256];
  long seen = -1;
  if (s == NULL) return 1;
  while (now_s() < deadline) {
    ssize_t n = shmbus_sub_read_latest(s, rec, sizeof rec, NULL);
    if (n == -ESTALE) {
      shmbus_sub_close(s);
      if ((s = open_typed(name, type, deadline)) == NULL) return 1;
      continue;
    }
    if ((seen = n >= 0 ? seq_of(rec, n) : seen) == want) {
      uint64_t cap = shmbus_sub_capacity(s);
      shmbus_sub_close(s);
      if (capacity == 0 || cap == capacity) return 0;
      fprintf(stderr, "bridge_probe: bus %s has capacity %llu, expected %llu\n", name,
              (unsigned long long)cap, (unsigned long long)capacity);
      return 1;
    }
    usleep(10000);
  }
  fprintf(stderr, "bridge_probe: latest of %s is seq=%ld, expected seq=%ld within %.0f s\n", name,
          seen, want, timeout);
  shmbus_sub_close(s);
  return 1;
}

static int follow(const char *name, const char *type, long last, double timeout) {
  double deadline = now_s() + timeout;
  shmbus_sub *s = open_typed(name, type, deadline);
  struct shmbus_record_info ri;
  char rec[256];
  long prev = -1;
  if (s == NULL) return 1;
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (now_s() < deadline) {
    int rc = shmbus_sub_wait(s, 100 * 1000 * 1000, SHMBUS_WAIT_SLEEP | SHMBUS_WAIT_THROUGH_DEATH);
    ssize_t n;
    if (rc == -ESTALE) { /* the importer replaced the bus: reopen, order still checked */
      shmbus_sub_close(s);
      if ((s = open_typed(name, type, deadline)) == NULL) return 1;
      continue;
    }
    while ((n = shmbus_sub_next(s, rec, sizeof rec, &ri)) >= 0) {
      long v = seq_of(rec, n);
      if (v <= prev) {
        fprintf(stderr, "bridge_probe: %s delivered seq=%ld after seq=%ld: out of order\n", name, v,
                prev);
        shmbus_sub_close(s);
        return 1;
      }
      printf("%ld\n", v);
      prev = v;
      if (v == last) {
        shmbus_sub_close(s);
        return 0;
      }
    }
  }
  fprintf(stderr, "bridge_probe: %s: seq=%ld never arrived within %.0f s (last seen %ld)\n", name,
          last, timeout, prev);
  shmbus_sub_close(s);
  return 1;
}

int main(int argc, char **argv) {
  if (argc >= 7 && argc <= 9 && strcmp(argv[1], "pub") == 0)
    return pub(argv[2], argv[3], atol(argv[4]), atol(argv[5]), atol(argv[6]),
               argc >= 8 ? strtoull(argv[7], NULL, 10) : 256,
               argc == 9 ? (mode_t)strtoul(argv[8], NULL, 8) : 0644);
  if ((argc == 6 || argc == 7) && strcmp(argv[1], "latest") == 0)
    return latest(argv[2], argv[3], atol(argv[4]), atof(argv[5]),
                  argc == 7 ? strtoull(argv[6], NULL, 10) : 0);
  if (argc == 6 && strcmp(argv[1], "follow") == 0)
    return follow(argv[2], argv[3], atol(argv[4]), atof(argv[5]));
  fprintf(stderr, "usage: bridge_probe pub NAME TYPE FROM TO INTERVAL_US [CAPACITY [MODE]]\n"
                  "       bridge_probe latest NAME TYPE SEQ TIMEOUT_S [CAPACITY]\n"
                  "       bridge_probe follow NAME TYPE LAST TIMEOUT_S\n");
  return 2;
}
