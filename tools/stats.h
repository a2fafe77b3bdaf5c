/* stats.h - shmsub --hz/--bw/--delay: statistics over a window of the last records, like
 * ros2 topic hz/bw/delay. Rate comes from publish timestamps and versions, so records a slow
 * reader skipped still count; latency is receive time - publish time (both CLOCK_REALTIME). */
#ifndef SHMBUS_TOOLS_STATS_H
#define SHMBUS_TOOLS_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum stats_kind { STATS_HZ = 1, STATS_BW = 2, STATS_DELAY = 4 };

struct stats_sample {
  uint64_t version;
  int64_t timestamp_ns;
  int64_t latency_ns;
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
void stats_add(struct stats *s, const struct stats_sample *x);

/* stats_print() - one line per kind in @kinds to @f, or nothing when no sample arrived since
 * the last print. Return: 0; -EIO. */
int stats_print(struct stats *s, int kinds, FILE *f);

#endif /* SHMBUS_TOOLS_STATS_H */
