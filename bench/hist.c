/* hist.c - log-linear histogram; see hist.h. */
#include "bench/hist.h"

#include <string.h>

void hist_reset(struct hist *h) {
  memset(h, 0, sizeof *h);
  h->min = UINT64_MAX;
}

unsigned hist_bucket(uint64_t ns) {
  unsigned msb, shift;
  if (ns < 2 * HIST_SUB) return (unsigned)ns; /* exact below 256 */
  msb = 63u - (unsigned)__builtin_clzll(ns);
  shift = msb - HIST_SUB_BITS; /* ns >> shift is in [128, 255] */
  if (shift > HIST_MAX_SHIFT) return HIST_BUCKETS - 1;
  return HIST_SUB * shift + (unsigned)(ns >> shift);
}

uint64_t hist_bucket_low(unsigned i) {
  unsigned shift;
  if (i < 2 * HIST_SUB) return i;
  shift = i / HIST_SUB - 1;
  return (uint64_t)(i - HIST_SUB * shift) << shift;
}

static uint64_t bucket_width(unsigned i) {
  return i < 2 * HIST_SUB ? 1 : (uint64_t)1 << (i / HIST_SUB - 1);
}

void hist_add(struct hist *h, uint64_t ns) {
  h->b[hist_bucket(ns)]++;
  h->count++;
  if (ns < h->min) h->min = ns;
  if (ns > h->max) h->max = ns;
}

void hist_merge(struct hist *dst, const struct hist *src) {
  unsigned i;
  if (src->count == 0) return;
  for (i = 0; i < HIST_BUCKETS; i++) dst->b[i] += src->b[i];
  dst->count += src->count;
  if (src->min < dst->min) dst->min = src->min;
  if (src->max > dst->max) dst->max = src->max;
}

uint64_t hist_pct(const struct hist *h, double q) {
  uint64_t rank, seen = 0, v;
  unsigned i;
  if (h->count == 0) return 0;
  if (q >= 1.0) return h->max;
  rank = (uint64_t)(q * (double)h->count);
  if ((double)rank < q * (double)h->count) rank++; /* ceil */
  if (rank == 0) rank = 1;
  for (i = 0; i < HIST_BUCKETS; i++) {
    seen += h->b[i];
    if (seen >= rank) break;
  }
  if (i == HIST_BUCKETS) return h->max;
  v = hist_bucket_low(i) + bucket_width(i) / 2;
  if (v < h->min) v = h->min;
  if (v > h->max) v = h->max;
  return v;
}
