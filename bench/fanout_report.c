/* fanout_report.c - the fan-out tables, the targets of issue 20 and the plot data, from a
 * report's ROW_FANOUT rows; see fanout.h. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "bench/fanout.h"

#define OLD "shmbus-wake-all"
#define FLOOR "futex-floor"

static double us(uint64_t ns) { return (double)ns / 1000.0; }

/* The distinct reader counts of the fan-out rows, ascending. Return: how many. */
static int reader_counts(const struct report *r, int *out, int max) {
  int n = 0, i, j;
  size_t k;
  for (k = 0; k < r->n; k++) {
    int v = r->rows[k].readers;
    if (r->rows[k].kind != ROW_FANOUT) continue;
    for (i = 0; i < n && out[i] != v; i++) {
    }
    if (i < n || n == max) continue;
    for (j = n++; j > 0 && out[j - 1] > v; j--) out[j] = out[j - 1];
    out[j] = v;
  }
  return n;
}

/* The distinct transports of the fan-out rows, in the order they were added. */
static int transports(const struct report *r, const char **out, int max) {
  int n = 0, i;
  size_t k;
  for (k = 0; k < r->n; k++) {
    if (r->rows[k].kind != ROW_FANOUT) continue;
    for (i = 0; i < n && strcmp(out[i], r->rows[k].transport) != 0; i++) {
    }
    if (i == n && n < max) out[n++] = r->rows[k].transport;
  }
  return n;
}

static const struct row *get(const struct report *r, const char *t, const char *what, int n) {
  char mode[24];
  snprintf(mode, sizeof mode, "fanout-%s", what);
  return report_find(r, t, mode, 0, n);
}

static uint64_t p50(const struct report *r, const char *t, const char *what, int n) {
  const struct row *w = get(r, t, what, n);
  return w ? w->p50 : 0;
}

static const char *new_name(const struct report *r) {
  static char buf[32];
  return fanout_design_name(r->fanout_default, buf, sizeof buf);
}

/* "unconfirmed": the records sent before /proc showed every reader blocked (fanout.h). */
static void values_table(const struct report *r, FILE *f, const int *ns, int nn) {
  const char *ts[FANOUT_KINDS];
  int nt = transports(r, ts, FANOUT_KINDS), i, k;
  fprintf(f, "\n### Waking N sleeping readers (64 B, us): the writer's call, first and last "
             "reader\n\n");
  fprintf(f, "| readers | wake | records | call p50 | call p90 | first p50 | last p50 | "
             "last p90 | unconfirmed |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (i = 0; i < nn; i++)
    for (k = 0; k < nt; k++) {
      const struct row *c = get(r, ts[k], "call", ns[i]), *a = get(r, ts[k], "first", ns[i]),
                       *z = get(r, ts[k], "last", ns[i]);
      if (c == NULL || a == NULL || z == NULL) continue;
      fprintf(f, "| %d | %s | %llu | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f%% |\n", ns[i], ts[k],
              (unsigned long long)c->samples, us(c->p50), us(c->p90), us(a->p50), us(z->p50),
              us(z->p90), 100.0 * c->seen);
    }
}

static void ratio_cell(FILE *f, uint64_t a, uint64_t b) {
  if (a && b) fprintf(f, " %.2fx |", (double)a / (double)b);
  else fprintf(f, " n/a |");
}

static void ratios_table(const struct report *r, FILE *f, const int *ns, int nn) {
  const char *nw = new_name(r);
  int i;
  fprintf(f, "\n#### Ratios of p50 (same run): new (%s) against old (%s) and the floor\n\n", nw,
          OLD);
  fprintf(f, "| readers | call new/old | first new/old | last new/old | old last / floor last |"
             " new last / floor last | old call / floor call |\n"
             "|---:|---:|---:|---:|---:|---:|---:|\n");
  for (i = 0; i < nn; i++) {
    int n = ns[i];
    fprintf(f, "| %d |", n);
    ratio_cell(f, p50(r, nw, "call", n), p50(r, OLD, "call", n));
    ratio_cell(f, p50(r, nw, "first", n), p50(r, OLD, "first", n));
    ratio_cell(f, p50(r, nw, "last", n), p50(r, OLD, "last", n));
    ratio_cell(f, p50(r, OLD, "last", n), p50(r, FLOOR, "last", n));
    ratio_cell(f, p50(r, nw, "last", n), p50(r, FLOOR, "last", n));
    ratio_cell(f, p50(r, OLD, "call", n), p50(r, FLOOR, "call", n));
    fprintf(f, "\n");
  }
}

static void target_row(FILE *f, const char *what, uint64_t a, uint64_t b, double limit) {
  struct fanout_target t = fanout_target_eval(a, b, limit);
  if (t.ratio < 0) {
    fprintf(f, "| %s | not measured in this run | n/a |\n", what);
    return;
  }
  fprintf(f, "| %s | %.2f us / %.2f us = %.2fx | %s |\n", what, us(a), us(b), t.ratio,
          t.met ? "**met**" : "**missed**");
}

static void targets_table(const struct report *r, FILE *f, const int *ns, int nn) {
  const char *nw = new_name(r);
  char what[128];
  int i;
  fprintf(f,
          "\n#### Targets of issue 20 (this run; new = %s, today = %s)\n\n"
          "| target | measured (p50) | verdict |\n|---|---|---|\n",
          nw, OLD);
  target_row(f, "writer's publish with 256 sleepers <= 2x with 1 (new)", p50(r, nw, "call", 256),
             p50(r, nw, "call", 1), 2.0);
  target_row(f, "last of 64 readers <= 1.2x today's broadcast", p50(r, nw, "last", 64),
             p50(r, OLD, "last", 64), 1.2);
  for (i = 0; i < nn; i++) {
    snprintf(what, sizeof what, "first reader no later than today, %d reader%s", ns[i],
             ns[i] > 1 ? "s" : "");
    target_row(f, what, p50(r, nw, "first", ns[i]), p50(r, OLD, "first", ns[i]), 1.0);
  }
}

void fanout_markdown(const struct report *r, FILE *f) {
  int ns[16], nn = reader_counts(r, ns, 16);
  if (nn == 0) return;
  values_table(r, f, ns, nn);
  ratios_table(r, f, ns, nn);
  targets_table(r, f, ns, nn);
}

static void pair(FILE *f, const struct report *r, const char *t, const char *what, int n) {
  const struct row *w = get(r, t, what, n);
  if (w) fprintf(f, " %.3f %.3f", us(w->p50), us(w->p90));
  else fprintf(f, " NaN NaN");
}

int fanout_plot_data(const struct report *r, const char *path) {
  static const char *what[] = {"call", "first", "last"};
  const char *ts[3] = {OLD, new_name(r), FLOOR};
  int ns[16], nn = reader_counts(r, ns, 16), i, w, t;
  FILE *f;
  if (nn == 0) return 0;
  f = fopen(path, "w");
  if (f == NULL) return -errno;
  fprintf(f,
          "# readers, then p50 p90 (us) of: old call, new call, floor call, old first, new "
          "first, floor first, old last, new last, floor last (old %s, new %s, floor %s)\n",
          ts[0], ts[1], ts[2]);
  for (i = 0; i < nn; i++) {
    fprintf(f, "%d", ns[i]);
    for (w = 0; w < 3; w++)
      for (t = 0; t < 3; t++) pair(f, r, ts[t], what[w], ns[i]);
    fprintf(f, "\n");
  }
  return fclose(f) == 0 ? 0 : -errno;
}
