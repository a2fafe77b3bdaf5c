/* report.h - results of a run: the Markdown table, the CSV, the plot data, the targets. */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/hist.h"

#define CSV_HEADER \
  "transport,mode,size_bytes,readers,samples,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,throughput_per_s"

enum row_kind { ROW_LATENCY = 0, ROW_COPY = 1, ROW_PUBLISH = 2, ROW_FANOUT = 3 };

struct row {
  int kind;
  char transport[24];
  char mode[24];
  size_t size;
  int readers; /* -1: does not apply (copies) */
  uint64_t samples;
  uint64_t p50, p90, p99, p999, max;
  double per_s; /* < 0: does not apply */
  double seen;  /* publish rows: fraction of records readers copied out; fan-out rows:
                       * fraction sent before /proc showed every reader blocked (fanout.h) */
};

struct report {
  struct row *rows;
  size_t n, cap;
  long long syscalls_n; /* publishes counted by count_publish_syscalls, 0 = not run */
  long long syscalls;   /* its result minus the empty loop's; < 0 = unavailable */
  int fanout_default;   /* the library's writer fan-out: the "new" design of the fan-out rows */
  char hardware[512];
  char notes[16][320]; /* what was not measured, and why */
  int nnotes;
};

/* report_note() - add a sentence to the notes printed under the tables. */
void report_note(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* size_str_b() - "8 B", "4 KiB", "1 MiB". A static buffer, reused after 8 calls. */
const char *size_str_b(size_t s);

/* report_add() - append a row filled from @h. Return: 0; -ENOMEM. */
int report_add(struct report *r, int kind, const char *transport, const char *mode, size_t size,
               int readers, const struct hist *h, double per_s, double seen);

/* report_find() - the first row matching (NULL / -1 / 0 = any). NULL if none. */
const struct row *report_find(const struct report *r, const char *transport, const char *mode,
                              size_t size, int readers);

/* report_markdown() - the tables and the targets, Markdown, to @f. */
void report_markdown(const struct report *r, FILE *f);

/* report_csv() - one header line and one line per row. Return: 0; -errno. */
int report_csv(const struct report *r, const char *path);

/* report_plot_data() - gnuplot blocks, one per record size (see plot.gp). Return: 0; -errno. */
int report_plot_data(const struct report *r, const char *path);

#endif /* BENCH_REPORT_H */
