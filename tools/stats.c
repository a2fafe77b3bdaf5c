/* stats.c - windowed rate, bandwidth and latency statistics for shmsub. */
#include "tools/stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "tools/common.h"

int stats_init(struct stats *s, size_t window) {
  s->ring = calloc(window, sizeof *s->ring);
  if (s->ring == NULL) return -ENOMEM;
  s->window = window;
  stats_reset(s);
  return 0;
}

void stats_free(struct stats *s) { free(s->ring); }

void stats_reset(struct stats *s) {
  s->count = s->head = 0;
  s->total = s->new_since_print = 0;
}

void stats_add(struct stats *s, const struct stats_sample *x) {
  if (s->count && x->version <= s->ring[(s->head + s->window - 1) % s->window].version)
    stats_reset(s); /* versions went back: a new bus */
  s->ring[s->head] = *x;
  s->head = (s->head + 1) % s->window;
  if (s->count < s->window) s->count++;
  s->total++;
  s->new_since_print++;
}

/* The i-th sample of the window, oldest first. */
static const struct stats_sample *at(const struct stats *s, size_t i) {
  return &s->ring[(s->head + s->window - s->count + i) % s->window];
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

double stats_rate(const struct stats *s) {
  const struct stats_sample *a, *b;
  if (s->count < 2) return 0;
  a = at(s, 0);
  b = at(s, s->count - 1);
  if (b->receive_ns <= a->receive_ns) return 0;
  return (double)(b->version - a->version) * 1e9 / (double)(b->receive_ns - a->receive_ns);
}

int64_t stats_percentile(const int64_t *sorted, size_t n, unsigned p) {
  size_t rank = (n * p + 99) / 100; /* ceil(n * p / 100), 1-based */
  return sorted[rank ? rank - 1 : 0];
}

static void print_hz(const struct stats *s, FILE *f) {
  double mn = INFINITY, mx = 0, sum = 0, sq = 0, n = 0, sd;
  char smin[32], smax[32], ssd[32];
  uint64_t lost = 0;
  size_t i;
  for (i = 1; i < s->count; i++) {
    const struct stats_sample *a = at(s, i - 1), *b = at(s, i);
    double d = (double)(b->receive_ns - a->receive_ns) / 1e9;
    if (b->version != a->version + 1) { /* a gap: the interval spans skipped records */
      lost += b->version - a->version - 1;
      continue;
    }
    mn = d < mn ? d : mn;
    mx = d > mx ? d : mx;
    sum += d;
    sq += d * d;
    n++;
  }
  if (s->count < 2) {
    fprintf(f, "rate: waiting for a second record (window: %zu)\n", s->count);
    return;
  }
  sd = n > 1 ? sqrt(fmax(0, sq / n - (sum / n) * (sum / n))) : 0;
  fmt_duration(n ? mn : 0, smin, sizeof smin);
  fmt_duration(mx, smax, sizeof smax);
  fmt_duration(sd, ssd, sizeof ssd);
  fprintf(f, "rate: %.3f Hz  min: %s  max: %s  std dev: %s  window: %zu  skipped: %llu\n",
          stats_rate(s), smin, smax, ssd, s->count, (unsigned long long)lost);
}

static void print_bw(const struct stats *s, FILE *f) {
  uint64_t mn = UINT64_MAX, mx = 0, sum = 0;
  char sbw[32], smean[32], smin[32], smax[32];
  size_t i;
  for (i = 0; i < s->count; i++) {
    uint64_t l = at(s, i)->length;
    mn = l < mn ? l : mn;
    mx = l > mx ? l : mx;
    sum += l;
  }
  /* Mean size times publish rate: records this reader skipped still count. */
  fmt_bytes((uint64_t)((double)sum / (double)s->count * stats_rate(s)), sbw, sizeof sbw);
  fmt_bytes(sum / s->count, smean, sizeof smean);
  fmt_bytes(mn, smin, sizeof smin);
  fmt_bytes(mx, smax, sizeof smax);
  fprintf(f, "bandwidth: %s/s  record size mean: %s  min: %s  max: %s  window: %zu\n", sbw, smean,
          smin, smax, s->count);
}

static void print_delay(const struct stats *s, FILE *f) {
  int64_t *v = malloc(s->count * sizeof *v);
  double mean = 0;
  char b[6][32];
  size_t i;
  if (v == NULL) return;
  for (i = 0; i < s->count; i++) {
    v[i] = at(s, i)->latency_ns;
    mean += (double)v[i];
  }
  qsort(v, s->count, sizeof *v, cmp_i64);
  mean /= (double)s->count;
  fmt_duration(mean / 1e9, b[0], sizeof b[0]);
  fmt_duration((double)v[0] / 1e9, b[1], sizeof b[1]);
  fmt_duration((double)stats_percentile(v, s->count, 50) / 1e9, b[2], sizeof b[2]);
  fmt_duration((double)stats_percentile(v, s->count, 90) / 1e9, b[3], sizeof b[3]);
  fmt_duration((double)stats_percentile(v, s->count, 99) / 1e9, b[4], sizeof b[4]);
  fmt_duration((double)v[s->count - 1] / 1e9, b[5], sizeof b[5]);
  fprintf(f, "delay: mean: %s  min: %s  p50: %s  p90: %s  p99: %s  max: %s  window: %zu\n", b[0],
          b[1], b[2], b[3], b[4], b[5], s->count);
  free(v);
}

int stats_print(struct stats *s, int kinds, FILE *f) {
  if (s->new_since_print == 0 || s->count == 0) return 0;
  s->new_since_print = 0;
  if (kinds & STATS_HZ) print_hz(s, f);
  if (kinds & STATS_BW) print_bw(s, f);
  if (kinds & STATS_DELAY) print_delay(s, f);
  return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
