/* clock.h - the time of a POSIX clock in nanoseconds, as one int64_t. The one copy that the
 * library, the view, the tools, the bridge and the benchmarks share (not installed: a header
 * of the tree, not of the API). */
#ifndef SHMBUS_CLOCK_H
#define SHMBUS_CLOCK_H

#include <stdint.h>
#include <time.h>

/* shmbus__now() - @clk (CLOCK_MONOTONIC, CLOCK_REALTIME, ...) in nanoseconds. An int64_t
 * holds 292 years of them: no overflow for either clock. */
static inline int64_t shmbus__now(clockid_t clk) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif /* SHMBUS_CLOCK_H */
