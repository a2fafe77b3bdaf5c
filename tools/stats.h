/* stats.h - shmsub --hz/--bw/--delay: statistics over a window of the last records, like
 * ros2 topic hz/bw/delay. Rate and intervals come from the reader's CLOCK_MONOTONIC receive
 * times (a step of the wall clock cannot distort them) and from versions, so records a slow
 * reader skipped still count in the rate; latency is receive time - publish time (both
 * CLOCK_REALTIME, the only clock two processes share). */
#ifndef SHMBUS_TOOLS_STATS_H
#define SHMBUS_TOOLS_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum stats_kind { STATS_HZ = 1, STATS_BW = 2, STATS_DELAY = 4 };

struct stats_sample {
  uint64_t version;
  int64_t receive_ns; /* CLOCK_MONOTONIC when this reader got it */
  int64_t latency_ns; /* CLOCK_REALTIME receive time - publish time */
  uint64_t length;
};

struct stats {
  struct stats_sample *ring;
  size_t window, count, head; /* head: next slot to write */
  uint64_t total;             /* samples ever added */
  uint64_t new_since_print;
};

/* stats_init() - a window of @window samples. Return: 0; -ENOMEM. */
int stats_init(struct stats *s, size_t window);
void stats_free(struct stats *s);
/* stats_reset() - forget every sample (the bus was replaced: its versions start again). */
void stats_reset(struct stats *s);

/* stats_add() - add @x. A version not above the last one means a new bus: the window restarts
 * with @x, so versions of two buses are never mixed. */
void stats_add(struct stats *s, const struct stats_sample *x);

/* stats_rate() - records published per second over the window (versions / receive-time span);
 * 0 with fewer than two samples or no time between them. */
double stats_rate(const struct stats *s);

/* stats_percentile() - nearest-rank percentile @p (0 < p <= 100) of @n sorted values: the
 * smallest value with at least p% of the values at or below it. */
int64_t stats_percentile(const int64_t *sorted, size_t n, unsigned p);

/* stats_print() - one line per kind in @kinds to @f, or nothing when no sample arrived since
 * the last print. Return: 0; -EIO. */
int stats_print(struct stats *s, int kinds, FILE *f);

#endif /* SHMBUS_TOOLS_STATS_H */
