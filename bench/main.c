/* main.c - shmbus_bench: runs the suite, prints the Markdown table, writes CSV and plot data.
 *
 *   shmbus_bench [--quick | --full] [--samples N] [--out DIR] [--no-pin] [--only LIST]
 *   shmbus_bench --publish-only N [--size BYTES]
 * See bench/README.md for what each number means.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/floors.h"
#include "bench/harness.h"
#include "bench/peers.h"
#include "bench/report.h"
#include "bench/shmbus_lat.h"
#include "bench/zerocopy.h"

static size_t sizes[] = {8, 64, 4096, 65536, 1048576};
static size_t NSIZES = sizeof sizes / sizeof sizes[0];

struct opts {
  int full;
  long samples;        /* per latency configuration, for records up to 4 KiB */
  const char *out;
  int pin;
  const char *only;    /* comma list of groups, NULL = all */
  long publish_only;
  size_t size;
  int size_set;       /* --size given: run only that record size */
};

static struct opts o = {.samples = 0, .out = "bench/out", .pin = 1, .size = 64};
static struct report rep;
static int failures;

static void usage(FILE *f) {
  fprintf(f,
          "usage: shmbus_bench [--quick | --full] [--samples N] [--out DIR] [--no-pin]\n"
          "                    [--only floors,shmbus,peers,publish,copy]\n"
          "       shmbus_bench --publish-only N [--size BYTES]\n"
          "Runs shmbus's latency and throughput benchmarks next to the hardware floors and the\n"
          "peers (pipe, Unix socket, POSIX mq, ZeroMQ); prints a Markdown table and writes\n"
          "DIR/results.csv, DIR/results.md and DIR/plot.dat (default DIR: bench/out).\n"
          "  --quick        small sample counts, under a minute (default)\n"
          "  --full         100k samples per configuration (fewer for 64 KiB and 1 MiB)\n"
          "  --samples N    samples per latency configuration (records up to 4 KiB)\n"
          "  --no-pin       let the scheduler place writer and readers\n"
          "  --only LIST    run only these groups (comma-separated)\n"
          "  --size BYTES   run only this record size (default: 8, 64, 4096, 65536, 1048576)\n"
          "  --publish-only N  just publish N records with no reader (for strace/perf)\n"
          "Example: bench/run.sh --full   (builds, runs, plots)\n");
}

static int want(const char *group) {
  const char *p;
  size_t n = strlen(group);
  if (o.only == NULL) return 1;
  for (p = o.only; (p = strstr(p, group)) != NULL; p += n)
    if ((p == o.only || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
  return 0;
}

/* Samples for a record size: large copies are slow, so fewer (stated in the table). */
static long samples_for(size_t size) {
  if (size >= 1048576) return o.samples / 10 > 100 ? o.samples / 10 : 100;
  if (size >= 65536) return o.samples * 3 / 10 > 100 ? o.samples * 3 / 10 : 100;
  return o.samples;
}

/* A latency configuration. Its samples are taken in rounds: every configuration runs once per
 * round, so a change of the machine's load during the run (it is shared) hits all of them
 * alike instead of whichever ran at that moment. */
struct lat_job {
  const struct transport *t;
  int mode, readers;
  size_t size;
  struct hist h, rtt;
  int failed, skipped;
};
static struct lat_job *jobs;
static int njobs, rounds;

static void add_job(const struct transport *t, int mode, size_t size, int readers) {
  struct lat_job *j;
  struct lat_job *p = realloc(jobs, (size_t)(njobs + 1) * sizeof *p);
  if (p == NULL) return;
  jobs = p;
  j = &jobs[njobs++];
  memset(j, 0, sizeof *j);
  j->t = t;
  j->mode = mode;
  j->size = size;
  j->readers = readers;
  hist_reset(&j->h);
  hist_reset(&j->rtt);
}

static void run_job(struct lat_job *j, int round) {
  struct lat_cfg c;
  struct hist *h = malloc(sizeof *h), *rtt = malloc(sizeof *rtt);
  char err[320];
  long want_samples = samples_for(j->size) / rounds, min_pub = want_samples / 40;
  int64_t t0 = bench_now();
  int rc;
  if (j->failed || j->skipped) return;
  if (h == NULL || rtt == NULL) {
    free(h);
    free(rtt);
    j->failed = 1;
    return;
  }
  memset(&c, 0, sizeof c);
  c.size = j->size;
  c.readers = j->readers;
  c.mode = j->mode;
  c.publishes = want_samples / j->readers > min_pub ? want_samples / j->readers : min_pub;
  if (c.publishes < 1) c.publishes = 1;
  c.warmup = c.publishes / 20 < 1000 ? (c.publishes / 20 > 50 ? c.publishes / 20 : 50) : 1000;
  /* Spin: just enough for the reader to be back in its loop. Otherwise long enough that
   * every reader is asleep (spin-then-sleep spins 20 us first) when the record comes. */
  c.gap_ns = j->mode == BENCH_SPIN ? 2000 : 50000;
  c.timeout_ns = o.full ? 300000000000LL : 60000000000LL;
  fprintf(stderr, "  [%d/%d] %-12s %-16s %8zu B  %2d reader%s ... ", round + 1, rounds, j->t->name,
          bench_mode_name(j->mode), j->size, j->readers, j->readers > 1 ? "s" : " ");
  rc = run_latency(j->t, &c, h, rtt, err, sizeof err);
  if (rc < 0 && j->t == &peer_mq && (rc == -EINVAL || rc == -EMFILE)) {
    /* Not a failure of the bench: this system's limits refuse such a queue. */
    report_note(&rep, "posix-mq at %s not measured: %s. %s", size_str_b(j->size), strerror(-rc),
                rc == -EINVAL ? "The message size exceeds fs.mqueue.msgsize_max and this process "
                                "lacks CAP_SYS_RESOURCE; raise it with `sysctl -w "
                                "fs.mqueue.msgsize_max=1048576`."
                              : "One message exceeds RLIMIT_MSGQUEUE (`ulimit -q`); raise the "
                                "limit or grant CAP_SYS_RESOURCE.");
    fprintf(stderr, "skipped: %s\n", rep.notes[rep.nnotes - 1]);
    j->skipped = 1;
  } else if (rc == -ENOTSUP && j->t == &peer_zmq) {
    report_note(&rep, "zeromq at %s not measured: this is a ThreadSanitizer build, and libzmq "
                "is not instrumented (TSan reads its lock-free queues as races).",
                size_str_b(j->size));
    fprintf(stderr, "skipped: %s\n", rep.notes[rep.nnotes - 1]);
    j->skipped = 1;
  } else if (rc < 0) {
    fprintf(stderr, "FAILED: %s\n", err[0] ? err : strerror(-rc));
    failures++;
    j->failed = 1;
  } else {
    fprintf(stderr, "p50 %8.2f us  p99 %8.2f us  (%.1f s)\n", hist_pct(h, 0.5) / 1e3,
            hist_pct(h, 0.99) / 1e3, (bench_now() - t0) / 1e9);
    hist_merge(&j->h, h);
    hist_merge(&j->rtt, rtt);
  }
  free(h);
  free(rtt);
}

/* Execution order: 1-reader spin jobs (floor first), then 1-reader waking jobs size by size
 * (futex floor, shmbus, peers), then the multi-reader jobs; ties keep the report's order. */
static int job_group(const struct lat_job *j) {
  if (j->readers == 1) return j->mode == BENCH_SPIN ? 0 : 1;
  return 2;
}

static int by_comparison_group(const void *a, const void *b) {
  const struct lat_job *x = &jobs[*(const int *)a], *y = &jobs[*(const int *)b];
  size_t xs = strstr(x->t->name, "floor") ? 0 : x->size, ys = strstr(y->t->name, "floor") ? 0 : y->size;
  if (job_group(x) != job_group(y)) return job_group(x) - job_group(y);
  if (xs != ys) return xs < ys ? -1 : 1;
  return *(const int *)a - *(const int *)b;
}

static void job_rows(const struct lat_job *j) {
  if (j->failed || j->skipped) return;
  report_add(&rep, ROW_LATENCY, j->t->name, bench_mode_name(j->mode), j->size, j->readers, &j->h,
             -1, 0);
  if (strstr(j->t->name, "floor")) {
    char m[24];
    snprintf(m, sizeof m, "%s rtt/2", bench_mode_name(j->mode));
    report_add(&rep, ROW_LATENCY, j->t->name, m, j->size, j->readers, &j->rtt, -1, 0);
  }
}

static void publish(size_t size, int readers, int mode, int64_t dur) {
  struct hist *h = malloc(sizeof *h);
  char err[320], m[24];
  double per_s = 0, seen = 0;
  int rc;
  if (h == NULL) return;
  snprintf(m, sizeof m, readers ? "publish-%s" : "publish", bench_mode_name(mode));
  fprintf(stderr, "  publish      %-16s %8zu B  %2d readers ... ", readers ? m + 8 : "-", size,
          readers);
  rc = run_throughput(size, readers, mode, dur, h, &per_s, &seen, err, sizeof err);
  if (rc < 0) {
    fprintf(stderr, "FAILED: %s\n", err[0] ? err : strerror(-rc));
    failures++;
  } else {
    fprintf(stderr, "%.3g/s, p50 %llu ns per publish\n", per_s,
            (unsigned long long)hist_pct(h, 0.5));
    report_add(&rep, ROW_PUBLISH, "shmbus", m, size, readers, h, per_s, seen);
  }
  free(h);
}

static void copies(size_t size) {
  static const char *names[COPY_VARIANTS][2] = {{"memcpy", "glibc"},
                                                {"atomic64-loop", "1 word/round"},
                                                {"atomic64-x4", "core/copy.h"},
                                                {"shmbus-read", "read_latest"}};
  struct hist *h = malloc(COPY_VARIANTS * sizeof *h);
  long n = size >= 1048576 ? o.samples / 50 : o.samples / 5;
  char err[320];
  int k;
  if (h == NULL) return;
  if (n < 100) n = 100;
  if (run_copy_compare(size, n, h, err, sizeof err) == 0) {
    for (k = 0; k < COPY_VARIANTS; k++)
      report_add(&rep, ROW_COPY, names[k][0], names[k][1], size, -1, &h[k], -1, 0);
  } else {
    fprintf(stderr, "  copy %zu B FAILED: %s\n", size, err);
    failures++;
  }
  free(h);
}

static void hardware_line(void) {
  char model[128] = "unknown CPU", line[256], date[64];
  struct utsname u;
  time_t now = time(NULL);
  FILE *f = fopen("/proc/cpuinfo", "r");
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
      snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
      model[strcspn(model, "\n")] = 0;
      break;
    }
  if (f) fclose(f);
  uname(&u);
  strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
  snprintf(rep.hardware, sizeof rep.hardware,
           "Measured %s, %s mode, on %s, %ld CPUs online, Linux %s; writer on CPU %d, "
           "readers on %s.",
           date, o.full ? "full" : "quick", model, sysconf(_SC_NPROCESSORS_ONLN), u.release,
           bench_cpus.cpus[0], !bench_cpus.pin ? "any CPU (not pinned)"
                               : bench_cpus.n > 1 ? "the other CPUs" : "the same CPU");
}

static int parse(int argc, char **argv) {
  static const struct option lo[] = {
      {"quick", no_argument, 0, 'q'},   {"full", no_argument, 0, 'f'},
      {"samples", required_argument, 0, 'n'}, {"out", required_argument, 0, 'o'},
      {"no-pin", no_argument, 0, 'P'},  {"only", required_argument, 0, 'O'},
      {"publish-only", required_argument, 0, 'p'}, {"size", required_argument, 0, 's'},
      {"help", no_argument, 0, 'h'},    {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "qfn:o:PO:p:s:h", lo, NULL)) != -1) {
    switch (c) {
      case 'q': o.full = 0; break;
      case 'f': o.full = 1; break;
      case 'n': o.samples = atol(optarg); break;
      case 'o': o.out = optarg; break;
      case 'P': o.pin = 0; break;
      case 'O': o.only = optarg; break;
      case 'p': o.publish_only = atol(optarg); break;
      case 's': o.size = (size_t)atol(optarg); o.size_set = 1; break;
      case 'h': usage(stdout); exit(0);
      default: usage(stderr); return -EINVAL;
    }
  }
  if (optind < argc || (o.samples < 0) || o.size < 8 || o.size > (1u << 30)) {
    fprintf(stderr, "shmbus_bench: bad arguments (--samples >= 1, --size 8..1 GiB); see --help\n");
    return -EINVAL;
  }
  if (o.samples == 0) o.samples = o.full ? 100000 : 5000;
  return 0;
}

static int write_outputs(void) {
  char path[512];
  FILE *f;
  int rc;
  mkdir(o.out, 0755);
  snprintf(path, sizeof path, "%s/results.csv", o.out);
  rc = report_csv(&rep, path);
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/plot.dat", o.out);
    rc = report_plot_data(&rep, path);
  }
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/results.md", o.out);
    f = fopen(path, "w");
    if (f == NULL) rc = -errno;
    else {
      report_markdown(&rep, f);
      fclose(f);
    }
  }
  if (rc < 0)
    fprintf(stderr, "shmbus_bench: cannot write %s: %s; is --out a writable directory?\n", path,
            strerror(-rc));
  return rc;
}

int main(int argc, char **argv) {
  size_t i;
  int n, r, dur_ms, *order;
  if (parse(argc, argv) < 0) return 2;
  srand((unsigned)getpid() ^ (unsigned)time(NULL));
  bench_cpus_init(o.pin);
  bench_pin_writer();
  if (o.publish_only > 0) {
    int rc = publish_only(o.size, o.publish_only);
    if (rc < 0) fprintf(stderr, "shmbus_bench: publish failed: %s\n", strerror(-rc));
    return rc < 0 ? 1 : 0;
  }
  if (o.size_set) { /* one size only */
    sizes[0] = o.size;
    NSIZES = 1;
  }
  hardware_line();
  fprintf(stderr, "shmbus_bench: %s\n", rep.hardware);
  dur_ms = o.full ? 1000 : 150;
  if (want("floors")) {
    if (bench_free_cores() >= 1) add_job(&floor_spin, BENCH_SPIN, 8, 1);
    add_job(&floor_futex, BENCH_SLEEP, 8, 1);
  }
  if (want("shmbus"))
    for (i = 0; i < NSIZES; i++) {
      /* Spinning readers only up to the free cores: more would only measure time slicing. */
      for (n = 1; n <= bench_free_cores() && n <= 64; n *= 4)
        add_job(&shmbus_transport, BENCH_SPIN, sizes[i], n);
      for (n = 1; n <= 64; n *= 4) add_job(&shmbus_transport, BENCH_SLEEP, sizes[i], n);
      for (n = 1; n <= 64; n *= 4) add_job(&shmbus_transport, BENCH_HYBRID, sizes[i], n);
      if (bench_free_cores() >= 1) add_job(&shmbus_zc_transport, BENCH_SPIN, sizes[i], 1);
      add_job(&shmbus_zc_transport, BENCH_SLEEP, sizes[i], 1); /* zero-copy: bench/zerocopy.h */
    }
  if (want("peers"))
    for (i = 0; i < NSIZES; i++) {
      add_job(&peer_pipe, BENCH_SLEEP, sizes[i], 1);
      add_job(&peer_unix, BENCH_SLEEP, sizes[i], 1);
      add_job(&peer_mq, BENCH_SLEEP, sizes[i], 1);
      add_job(&peer_zmq, BENCH_SLEEP, sizes[i], 1);
    }
  /* Full mode: 10 passes. The host moves the two vCPUs around (a cache-line transfer costs
   * 0.06 or 0.25 us depending on where they land, for seconds at a time), so each pass runs
   * the configurations that are compared with each other next to each other (order[]). */
  rounds = o.full ? 10 : 1;
  if (njobs) fprintf(stderr, "latency (%d configurations, %d pass%s):\n", njobs, rounds,
                     rounds > 1 ? "es" : "");
  order = calloc((size_t)(njobs > 0 ? njobs : 1), sizeof *order);
  if (order == NULL) return 1;
  for (n = 0; n < njobs; n++) order[n] = n;
  qsort(order, (size_t)njobs, sizeof *order, by_comparison_group);
  for (r = 0; r < rounds; r++)
    for (n = 0; n < njobs; n++) run_job(&jobs[order[n]], r);
  free(order);
  for (n = 0; n < njobs; n++) job_rows(&jobs[n]);
  if (want("publish")) {
    fprintf(stderr, "writer throughput:\n");
    publish(64, 0, BENCH_SPIN, dur_ms * 1000000LL);
    for (n = 1; n <= 16; n *= 4) publish(64, n, BENCH_SPIN, dur_ms * 1000000LL);
    for (n = 1; n <= 16; n *= 4) publish(64, n, BENCH_SLEEP, dur_ms * 1000000LL);
    for (i = 0; i < NSIZES; i++)
      if (sizes[i] != 64 || o.size_set) publish(sizes[i], 0, BENCH_SPIN, dur_ms * 1000000LL);
    {
      long long n1 = count_publish_syscalls(64, 1000000), n0 = count_publish_syscalls(64, 0);
      rep.syscalls_n = 1000000;
      rep.syscalls = n1 < 0 || n0 < 0 ? -1 : n1 - n0;
      fprintf(stderr, "  syscalls during 1e6 publishes (64 B, no reader): %lld\n", rep.syscalls);
    }
  }
  if (want("copy")) {
    fprintf(stderr, "copy cost:\n");
    for (i = 0; i < NSIZES; i++) copies(sizes[i]);
  }
  report_markdown(&rep, stdout);
  zc_targets(&rep, stdout);
  if (write_outputs() < 0) return 1;
  if (failures) fprintf(stderr, "shmbus_bench: %d configuration(s) failed (see above)\n", failures);
  return failures ? 1 : 0;
}
