/* report.c - Markdown table, CSV, plot data and targets of a run; see report.h. */
#include "bench/report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bench/fanout.h"

static const size_t sizes[] = {8, 64, 4096, 65536, 1048576};
#define NSIZES (sizeof sizes / sizeof sizes[0])
static const char *peers[] = {"pipe", "unix-socket", "posix-mq", "zeromq"};
#define NPEERS 4

int report_add(struct report *r, int kind, const char *transport, const char *mode, size_t size,
               int readers, const struct hist *h, double per_s, double seen) {
  struct row *w;
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 64;
    struct row *p = realloc(r->rows, cap * sizeof *p);
    if (p == NULL) return -ENOMEM;
    r->rows = p;
    r->cap = cap;
  }
  w = &r->rows[r->n++];
  memset(w, 0, sizeof *w);
  w->kind = kind;
  snprintf(w->transport, sizeof w->transport, "%s", transport);
  snprintf(w->mode, sizeof w->mode, "%s", mode);
  w->size = size;
  w->readers = readers;
  w->per_s = per_s;
  w->seen = seen;
  if (h) {
    w->samples = h->count;
    w->p50 = hist_pct(h, 0.50);
    w->p90 = hist_pct(h, 0.90);
    w->p99 = hist_pct(h, 0.99);
    w->p999 = hist_pct(h, 0.999);
    w->max = hist_pct(h, 1.0);
  }
  return 0;
}

const struct row *report_find(const struct report *r, const char *transport, const char *mode,
                              size_t size, int readers) {
  size_t i;
  for (i = 0; i < r->n; i++) {
    const struct row *w = &r->rows[i];
    if ((transport == NULL || strcmp(w->transport, transport) == 0) &&
        (mode == NULL || strcmp(w->mode, mode) == 0) && (size == 0 || w->size == size) &&
        (readers < 0 || w->readers == readers))
      return w;
  }
  return NULL;
}

const char *size_str_b(size_t s) {
  static char buf[8][32];
  static int k;
  char *b = buf[k++ % 8];
  if (s >= 1048576 && s % 1048576 == 0) snprintf(b, 32, "%zu MiB", s / 1048576);
  else if (s >= 1024 && s % 1024 == 0) snprintf(b, 32, "%zu KiB", s / 1024);
  else snprintf(b, 32, "%zu B", s);
  return b;
}

#define size_str size_str_b

void report_note(struct report *r, const char *fmt, ...) {
  va_list ap;
  if (r->nnotes >= 16) return;
  va_start(ap, fmt);
  vsnprintf(r->notes[r->nnotes++], sizeof r->notes[0], fmt, ap);
  va_end(ap);
}

static double us(uint64_t ns) { return (double)ns / 1000.0; }

/* a / b as "1.23x", or "n/a" when either is missing. */
static const char *ratio_str(const struct row *a, const struct row *b, double *out) {
  static char buf[8][24];
  static int k;
  char *s = buf[k++ % 8];
  if (a == NULL || b == NULL || b->p50 == 0) {
    if (out) *out = -1;
    return "n/a";
  }
  if (out) *out = (double)a->p50 / (double)b->p50;
  snprintf(s, 24, "%.2fx", (double)a->p50 / (double)b->p50);
  return s;
}

static const char *verdict(int ok) { return ok ? "**met**" : "**missed**"; }

static void latency_table(const struct report *r, FILE *f) {
  size_t i;
  fprintf(f,
          "\n### One-way latency (us): publish start to the record copied out by the reader\n\n");
  fprintf(f, "| transport | mode | size | readers | samples | p50 | p90 | p99 | p99.9 | max |\n");
  fprintf(f, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (i = 0; i < r->n; i++) {
    const struct row *w = &r->rows[i];
    if (w->kind != ROW_LATENCY) continue;
    fprintf(f, "| %s | %s | %s | %d | %llu | %.2f | %.2f | %.2f | %.2f | %.2f |\n", w->transport,
            w->mode, size_str(w->size), w->readers, (unsigned long long)w->samples, us(w->p50),
            us(w->p90), us(w->p99), us(w->p999), us(w->max));
  }
}

static void copy_table(const struct report *r, FILE *f) {
  size_t i;
  fprintf(f, "\n### Copy cost in one process, caches hot (ns per copy)\n\n");
  fprintf(f, "| copy | size | samples | p50 | p99 | max | p50 vs memcpy |\n");
  fprintf(f, "|---|---:|---:|---:|---:|---:|---:|\n");
  for (i = 0; i < r->n; i++) {
    const struct row *w = &r->rows[i];
    if (w->kind != ROW_COPY) continue;
    fprintf(f, "| %s (%s) | %s | %llu | %llu | %llu | %llu | %s |\n", w->transport, w->mode,
            size_str(w->size), (unsigned long long)w->samples, (unsigned long long)w->p50,
            (unsigned long long)w->p99, (unsigned long long)w->max,
            w->p50 < 10 ? "- (below the clock's resolution)"
                        : ratio_str(w, report_find(r, "memcpy", NULL, w->size, -1), NULL));
  }
}

static void publish_table(const struct report *r, FILE *f) {
  size_t i;
  fprintf(f, "\n### Writer: publishes per second and cost per publish (ns), back to back\n\n");
  fprintf(f, "| size | readers | readers wait by | publishes/s | cost p50 | p90 | p99 | "
             "records the readers copied |\n");
  fprintf(f, "|---:|---:|---|---:|---:|---:|---:|---:|\n");
  for (i = 0; i < r->n; i++) {
    const struct row *w = &r->rows[i];
    char seen[16] = "-";
    if (w->kind != ROW_PUBLISH) continue;
    if (w->readers > 0) snprintf(seen, sizeof seen, "%.1f%%", 100.0 * w->seen);
    fprintf(f, "| %s | %d | %s | %.3g | %llu | %llu | %llu | %s |\n", size_str(w->size), w->readers,
            w->readers ? w->mode + strlen("publish-") : "-", w->per_s, (unsigned long long)w->p50,
            (unsigned long long)w->p90, (unsigned long long)w->p99, seen);
  }
}

static void ratio_tables(const struct report *r, FILE *f) {
  const struct row *sf = report_find(r, "spin-floor", "spin", 0, 1);
  const struct row *ff = report_find(r, "futex-floor", "sleep", 0, 1);
  size_t i, p;
  fprintf(f, "\n### Ratios of p50 (same run)\n\n");
  fprintf(f, "| size | shmbus spin / spin floor | shmbus sleep / futex floor |");
  for (p = 0; p < NPEERS; p++) fprintf(f, " %s / shmbus sleep |", peers[p]);
  fprintf(f, "\n|---:|---:|---:|");
  for (p = 0; p < NPEERS; p++) fprintf(f, "---:|");
  fprintf(f, "\n");
  for (i = 0; i < NSIZES; i++) {
    const struct row *sl = report_find(r, "shmbus", "sleep", sizes[i], 1);
    if (sl == NULL && report_find(r, "shmbus", "spin", sizes[i], 1) == NULL) continue;
    fprintf(f, "| %s | %s | %s |", size_str(sizes[i]),
            ratio_str(report_find(r, "shmbus", "spin", sizes[i], 1), sf, NULL),
            ratio_str(sl, ff, NULL));
    for (p = 0; p < NPEERS; p++)
      fprintf(f, " %s |", ratio_str(report_find(r, peers[p], "sleep", sizes[i], 1), sl, NULL));
    fprintf(f, "\n");
  }
}

static void targets(const struct report *r, FILE *f) {
  const struct row *sf = report_find(r, "spin-floor", "spin", 0, 1);
  const struct row *ff = report_find(r, "futex-floor", "sleep", 0, 1);
  const struct row *sp = report_find(r, "shmbus", "spin", 64, 1);
  const struct row *sl = report_find(r, "shmbus", "sleep", 64, 1);
  const struct row *sl1m = report_find(r, "shmbus", "sleep", 1048576, 1);
  const struct row *p0 = report_find(r, "shmbus", "publish", 64, 0);
  const struct row *rc = report_find(r, "shmbus-read", NULL, 1048576, -1);
  const struct row *mc = report_find(r, "memcpy", NULL, 1048576, -1);
  double x;
  size_t p;
  int n;
  fprintf(f, "\n### Targets (this run)\n\n| target | measured | verdict |\n|---|---|---|\n");
  ratio_str(sp, sf, &x);
  if (x > 0)
    fprintf(f, "| spin p50 <= 1.5x spin floor p50 at 64 B | %.2f us / %.2f us = %.2fx | %s |\n",
            us(sp->p50), us(sf->p50), x, verdict(x <= 1.5));
  ratio_str(sl, ff, &x);
  if (x > 0)
    fprintf(f, "| sleep p50 <= 1.1x futex floor p50 at 64 B | %.2f us / %.2f us = %.2fx | %s |\n",
            us(sl->p50), us(ff->p50), x, verdict(x <= 1.1));
  for (p = 0; p < NPEERS; p++) {
    const struct row *a = report_find(r, peers[p], "sleep", 64, 1);
    const struct row *b = report_find(r, peers[p], "sleep", 1048576, 1);
    if (p == 3) {
      ratio_str(a, sl, &x);
      if (x > 0)
        fprintf(f, "| zeromq p50 >= 2.5x shmbus sleep p50 (64 B) | %.2fx | %s |\n", x,
                verdict(x >= 2.5));
      continue;
    }
    ratio_str(a, sl, &x);
    if (x > 0)
      fprintf(f, "| %s no faster than shmbus sleep at 64 B | %.2fx | %s |\n", peers[p], x,
              verdict(x >= 1.0));
    ratio_str(b, sl1m, &x);
    if (x > 0)
      fprintf(f, "| %s >= 10x slower than shmbus sleep at 1 MiB | %.2fx | %s |\n", peers[p], x,
              verdict(x >= 10.0));
  }
  if (p0)
    fprintf(f, "| publish, no reader asleep, <= 50 ns at 64 B | p50 %llu ns (0 readers) | %s |\n",
            (unsigned long long)p0->p50, verdict(p0->p50 <= 50));
  if (r->syscalls_n > 0) {
    if (r->syscalls >= 0)
      fprintf(f,
              "| ... and no syscall | %lld syscalls in %lld publishes (perf tracepoint "
              "raw_syscalls:sys_enter) | %s |\n",
              r->syscalls, r->syscalls_n, verdict(r->syscalls == 0));
    else
      fprintf(f, "| ... and no syscall | tracepoint unavailable here: see run.sh's strace "
                 "count | n/a |\n");
  }
  {
    const struct row *a1 = report_find(r, "shmbus", "publish-spin", 64, 1);
    for (n = 4; n <= 16 && a1; n *= 4) {
      const struct row *a = report_find(r, "shmbus", "publish-spin", 64, n);
      if (a == NULL) continue;
      fprintf(f,
              "| writer cost per publish does not grow with spinning readers: %d vs 1 | "
              "p50 %llu ns vs %llu ns (%.2fx; %llu ns with none) | %s |\n",
              n, (unsigned long long)a->p50, (unsigned long long)a1->p50,
              (double)a->p50 / (double)(a1->p50 ? a1->p50 : 1),
              p0 ? (unsigned long long)p0->p50 : 0ULL, verdict(a->p50 <= a1->p50 * 5 / 4 + 5));
    }
  }
  ratio_str(rc, mc, &x);
  if (x > 0)
    fprintf(f, "| reader copy of 1 MiB <= 1.3x memcpy 1 MiB | %.1f us / %.1f us = %.2fx | %s |\n",
            us(rc->p50), us(mc->p50), x, verdict(x <= 1.3));
}

void report_markdown(const struct report *r, FILE *f) {
  fprintf(f, "## shmbus benchmark\n\n%s\n", r->hardware);
  latency_table(r, f);
  ratio_tables(r, f);
  publish_table(r, f);
  copy_table(r, f);
  fanout_markdown(r, f);
  targets(r, f);
  if (r->nnotes) {
    int i;
    fprintf(f, "\n### Not measured\n\n");
    for (i = 0; i < r->nnotes; i++) fprintf(f, "- %s\n", r->notes[i]);
  }
}

static void num(FILE *f, uint64_t v, int applies) {
  if (applies) fprintf(f, ",%llu", (unsigned long long)v);
  else fputc(',', f);
}

int report_csv(const struct report *r, const char *path) {
  FILE *f = fopen(path, "w");
  size_t i;
  if (f == NULL) return -errno;
  fprintf(f, "%s\n", CSV_HEADER);
  for (i = 0; i < r->n; i++) {
    const struct row *w = &r->rows[i];
    int lat = w->samples > 0;
    fprintf(f, "%s,%s,%zu,", w->transport, w->mode, w->size);
    if (w->readers >= 0) fprintf(f, "%d", w->readers);
    num(f, w->samples, lat);
    num(f, w->p50, lat);
    num(f, w->p90, lat);
    num(f, w->p99, lat);
    num(f, w->p999, lat);
    num(f, w->max, lat);
    if (w->per_s >= 0) fprintf(f, ",%.0f\n", w->per_s);
    else fprintf(f, ",\n");
  }
  return fclose(f) == 0 ? 0 : -errno;
}

/* Per size, the 1-reader latency rows in a fixed order (us); then shmbus vs readers at 64 B. */
int report_plot_data(const struct report *r, const char *path) {
  static const struct {
    const char *t, *m, *label;
  } order[] = {{"spin-floor", "spin", "spin floor (8 B)"},
               {"shmbus", "spin", "shmbus spin"},
               {"futex-floor", "sleep", "futex floor (8 B)"},
               {"shmbus", "sleep", "shmbus sleep"},
               {"shmbus", "spin-then-sleep", "shmbus spin-then-sleep"},
               {"pipe", "sleep", "pipe"},
               {"unix-socket", "sleep", "unix socket"},
               {"posix-mq", "sleep", "POSIX mq"},
               {"zeromq", "sleep", "ZeroMQ"}};
  FILE *f = fopen(path, "w");
  size_t i, k;
  int n;
  if (f == NULL) return -errno;
  for (i = 0; i < NSIZES; i++) {
    fprintf(f, "# size %s: label p50 p90 p99 p99.9 max (us)\n", size_str(sizes[i]));
    for (k = 0; k < sizeof order / sizeof order[0]; k++) {
      const struct row *w =
          report_find(r, order[k].t, order[k].m, strstr(order[k].t, "floor") ? 0 : sizes[i], 1);
      if (w == NULL || w->kind != ROW_LATENCY) {
        fprintf(f, "\"%s\" NaN NaN NaN NaN NaN\n", order[k].label);
        continue;
      }
      fprintf(f, "\"%s\" %.3f %.3f %.3f %.3f %.3f\n", order[k].label, us(w->p50), us(w->p90),
              us(w->p99), us(w->p999), us(w->max));
    }
    fprintf(f, "\n\n");
  }
  fprintf(f, "# shmbus 64 B vs readers: readers sleep_p50 sleep_p99 hybrid_p50 hybrid_p99 (us)\n");
  for (n = 1; n <= 64; n *= 4) {
    const struct row *a = report_find(r, "shmbus", "sleep", 64, n);
    const struct row *b = report_find(r, "shmbus", "spin-then-sleep", 64, n);
    fprintf(f, "%d", n);
    if (a) fprintf(f, " %.3f %.3f", us(a->p50), us(a->p99));
    else fprintf(f, " NaN NaN");
    if (b) fprintf(f, " %.3f %.3f\n", us(b->p50), us(b->p99));
    else fprintf(f, " NaN NaN\n");
  }
  return fclose(f) == 0 ? 0 : -errno;
}
