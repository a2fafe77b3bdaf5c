/* bridge_latency.c - one-way latency of records through a bus (local, or bridged to another
 * network namespace of the same kernel, which shares CLOCK_MONOTONIC with this one).
 *
 *   bridge_latency pub NAME COUNT RATE_HZ SIZE [SCHEMA_BYTES]
 *                                                  publish COUNT records stamped with
 *                                                  CLOCK_MONOTONIC, RATE_HZ a second; with
 *                                                  SCHEMA_BYTES > 0 the bus carries a schema
 *                                                  text of that many bytes (what the bridge
 *                                                  then sends with every record)
 *   bridge_latency sub NAME COUNT TIMEOUT_S [spin|sleep|hybrid]
 *                                                  follow NAME, print latency percentiles
 *
 * sub prints one line: "received N/COUNT p50 X p90 X p99 X max X (us)". The first record a
 * late subscriber sees (the latest before it started) is not counted.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/shmbus.h"

static uint64_t mono_ns(void) { return (uint64_t)shmbus__now(CLOCK_MONOTONIC); }

struct stamp {
  uint64_t seq, sent_ns;
};

static int pub(const char *name, long count, double rate, size_t size, size_t schema_bytes) {
  struct shmbus_pub_opts o;
  struct shmbus_schema sc = {"bench::Stamp", "", "x-bench-stamp", NULL, schema_bytes, 0};
  char *text = NULL;
  shmbus_pub *p;
  unsigned char *buf = calloc(1, size < sizeof(struct stamp) ? sizeof(struct stamp) : size);
  uint64_t period = (uint64_t)(1e9 / rate), next = mono_ns();
  int rc;
  if (size < sizeof(struct stamp)) size = sizeof(struct stamp);
  shmbus_pub_opts_init(&o);
  o.type = "bench/latency";
  o.capacity = size;
  if (schema_bytes > 0) { /* a comment of that many bytes: any text travels the same way */
    text = malloc(schema_bytes);
    if (text == NULL) return 1;
    memset(text, '/', schema_bytes);
    sc.text = text;
    o.schema = &sc;
  }
  if (buf == NULL || (rc = shmbus_pub_open(name, &o, &p)) < 0) {
    fprintf(stderr, "bridge_latency: cannot open %s\n", name);
    return 1;
  }
  for (long i = 1; i <= count; i++) {
    struct timespec ts;
    struct stamp st = {(uint64_t)i, 0};
    next += period;
    ts.tv_sec = (time_t)(next / 1000000000ull);
    ts.tv_nsec = (long)(next % 1000000000ull);
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    st.sent_ns = mono_ns();
    memcpy(buf, &st, sizeof st);
    shmbus_pub_publish(p, buf, size);
  }
  shmbus_pub_close(p);
  free(buf);
  free(text);
  return 0;
}

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int sub(const char *name, long count, double timeout, int mode) {
  uint64_t deadline = mono_ns() + (uint64_t)(timeout * 1e9), *lat = calloc((size_t)count, 8);
  shmbus_sub *s;
  unsigned char *buf;
  long n = 0;
  int rc;
  while ((rc = shmbus_sub_open(name, 0, &s)) == -ENOENT && mono_ns() < deadline) usleep(1000);
  if (rc < 0 || lat == NULL) {
    fprintf(stderr, "bridge_latency: cannot open %s: %s\n", name, shmbus_strerror(rc));
    free(lat);
    return 1;
  }
  buf = malloc(shmbus_sub_capacity(s));
  shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
  printf("ready\n");
  fflush(stdout);
  while (n < count && mono_ns() < deadline) {
    struct stamp st;
    ssize_t len;
    if (shmbus_sub_wait(s, 100000000, mode | SHMBUS_WAIT_THROUGH_DEATH) != 0) continue;
    while ((len = shmbus_sub_next(s, buf, shmbus_sub_capacity(s), NULL)) >= 0) {
      uint64_t now = mono_ns();
      memcpy(&st, buf, sizeof st);
      if (n < count) lat[n++] = now - st.sent_ns;
      if ((long)st.seq == count) deadline = 0; /* the last one: stop */
    }
  }
  qsort(lat, (size_t)n, 8, cmp);
#define P(q) (n ? (double)lat[(size_t)((n - 1) * (q))] / 1000.0 : 0.0)
  printf("received %ld/%ld p50 %.1f p90 %.1f p99 %.1f max %.1f (us)\n", n, count, P(0.5), P(0.9),
         P(0.99), P(1.0));
  shmbus_sub_close(s);
  free(buf);
  free(lat);
  return n > 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if ((argc == 6 || argc == 7) && strcmp(argv[1], "pub") == 0)
    return pub(argv[2], atol(argv[3]), atof(argv[4]), (size_t)atol(argv[5]),
               argc == 7 ? (size_t)atol(argv[6]) : 0);
  if ((argc == 5 || argc == 6) && strcmp(argv[1], "sub") == 0) {
    int mode = SHMBUS_WAIT_HYBRID;
    if (argc == 6 && strcmp(argv[5], "spin") == 0) mode = SHMBUS_WAIT_SPIN;
    if (argc == 6 && strcmp(argv[5], "sleep") == 0) mode = SHMBUS_WAIT_SLEEP;
    return sub(argv[2], atol(argv[3]), atof(argv[4]), mode);
  }
  fprintf(stderr, "usage: bridge_latency pub NAME COUNT RATE_HZ SIZE [SCHEMA_BYTES]\n"
                  "       bridge_latency sub NAME COUNT TIMEOUT_S [spin|sleep|hybrid]\n");
  return 2;
}
