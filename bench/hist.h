/* hist.h - a log-linear latency histogram with about 1% resolution (benchmarks only).
 *
 * Values (nanoseconds) below 256 are counted exactly; above, every power of two is split into
 * 128 equal buckets, so a bucket is at most 1/128 (0.8%) of its value wide. Values from
 * 2^41 ns (~37 min) up land in the last bucket. The exact minimum and maximum are kept.
 * Fixed size, no pointers: a struct hist can live in shared memory and be filled by another
 * process. Not thread-safe: one writer per histogram; merge them afterwards.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS) /* buckets per power of two */
#define HIST_MAX_SHIFT 34              /* 2^(34+7+1) ns: beyond any run */
#define HIST_BUCKETS (HIST_SUB * (HIST_MAX_SHIFT + 2))

struct hist {
  uint64_t count;
  uint64_t min, max;
  uint64_t b[HIST_BUCKETS];
};

/* hist_reset() - empty @h. */
void hist_reset(struct hist *h);

/* hist_add() - count one value @ns. */
void hist_add(struct hist *h, uint64_t ns);

/* hist_merge() - add every count of @src into @dst. */
void hist_merge(struct hist *dst, const struct hist *src);

/* hist_pct() - the value at quantile @q (0 < q <= 1): the midpoint of the bucket holding the
 * ceil(q * count)-th smallest value, clamped to [min, max]; q = 1 gives the exact maximum.
 * Return: that value in ns; 0 for an empty histogram.
 */
uint64_t hist_pct(const struct hist *h, double q);

/* hist_bucket() and hist_bucket_low() - the bucket of @ns and the smallest value of bucket @i
 * (exposed for the tests of the histogram itself). */
unsigned hist_bucket(uint64_t ns);
uint64_t hist_bucket_low(unsigned i);

#ifdef __cplusplus
}
#endif
#endif /* BENCH_HIST_H */
