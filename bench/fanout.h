/* fanout.h - waking N sleeping readers at once: what it costs the writer and when the first
 * and the last reader have the record (issue 20; benchmarks only).
 *
 * One run forks N reader processes (pinned as every other row: the writer on the first CPU,
 * the readers on the others) and sends them records in rounds. A round is one record of every
 * kind, in a fixed order: the bare-futex floor (a plain shared word, FUTEX_WAKE(INT_MAX)), then
 * one shmbus publish per writer fan-out under test (INT_MAX: the old design, the writer wakes
 * every sleeper in its one call; 2: the new design's wake tree). The same processes sleep for
 * every kind, so the kinds are compared record by record under the same load.
 *
 * Before each record the writer makes sure that every reader is asleep again: each reader
 * has said which record it waits for (a shared word), the bus's reader registry counts N
 * sleepers (shmbus_bus_info.sleepers; shmbus records only), and /proc/PID/stat shows every
 * reader blocked ('S'; under load a reader woken by its 10 ms tick can wait for a CPU, so
 * /proc gets 20 ms, then the record goes and is counted as unconfirmed). Records are at least
 * @period_ns apart. The writer then takes t0,
 * makes the call (shmbus_pub_publish() of 64 B, or the floor's store + FUTEX_WAKE) and takes
 * t1; every reader takes its own time once the record is in its buffer. Per record: call =
 * t1 - t0, first = earliest reader - t0, last = latest reader - t0.
 *
 * The writer's fan-out is switched through the test hook `shmbus__fanout_writer`, which only
 * //core:shmbus_testing has: the fan-out group runs in shmbus_bench_testing; the binary built
 * on the library proper reports the group as not measured (fanout_switchable()).
 */
#ifndef BENCH_FANOUT_H
#define BENCH_FANOUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/fanout_calc.h"
#include "bench/hist.h"
#include "bench/report.h"

#define FANOUT_MAX_READERS 256
#define FANOUT_KINDS (1 + FANOUT_MAX_LIST) /* kind 0: the floor; kind k: designs[k - 1] */

struct fanout_cfg {
  int readers;                  /* N, 1..FANOUT_MAX_READERS */
  int designs[FANOUT_MAX_LIST]; /* writer fan-outs under test; INT_MAX = broadcast */
  int ndesigns;
  long rounds;        /* counted rounds (each: one record of every kind) */
  long warmup;        /* rounds sent first and not counted */
  int64_t period_ns;  /* at least this long from one record to the next */
  int64_t timeout_ns; /* whole run; a stuck run is killed and reported */
};

/* Per kind: the writer's call, the first and the last reader (ns); and how many of the
 * counted records went out before /proc showed every reader blocked (see fanout.c). */
struct fanout_result {
  struct hist call[FANOUT_KINDS], first[FANOUT_KINDS], last[FANOUT_KINDS];
  long unconfirmed[FANOUT_KINDS];
};

/* fanout_switchable() - 1 if this binary can set the writer's fan-out (it links
 * //core:shmbus_testing), else 0. */
int fanout_switchable(void);

/* fanout_library_default() - the library's own writer fan-out (SHMBUS__FANOUT_WRITER, read
 * from the test hook before anything sets it); 0 if not switchable. */
int fanout_library_default(void);

/* run_fanout() - one run under @c; adds its samples to @res (not reset here).
 * Context: the benchmark's main thread; forks c->readers processes and reaps every one.
 * Return: 0; a negative errno with a sentence in @err (-ENOTSUP: not switchable). */
int run_fanout(const struct fanout_cfg *c, struct fanout_result *res, char *err, size_t errlen);

/* fanout_markdown() - the fan-out tables and the targets of issue 20, from the report's
 * ROW_FANOUT rows; nothing if there are none. */
void fanout_markdown(const struct report *r, FILE *f);

/* fanout_plot_data() - DIR/fanout.dat for bench/fanout.gp: one line per N. Writes nothing
 * (and returns 0) if the report has no fan-out rows. Return: 0; -errno. */
int fanout_plot_data(const struct report *r, const char *path);

#endif /* BENCH_FANOUT_H */
