/* main.c - shmbus_bench: runs the suite, prints the Markdown table, writes CSV and plot data.
 *
 *   shmbus_bench [--quick | --full] [--samples N] [--out DIR] [--no-pin] [--only LIST]
 *   shmbus_bench --publish-only N [--size BYTES]
 * See bench/README.md for what each number means.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/fanout.h"
#include "bench/floors.h"
#include "bench/harness.h"
#include "bench/peers.h"
#include "bench/report.h"
#include "bench/shmbus_lat.h"
#include "bench/zerocopy.h"

/* The record sizes measured: these, or the one of --size. */
static const size_t all_sizes[] = {8, 64, 4096, 65536, 1048576};
static const size_t *sizes = all_sizes;
static size_t nsizes = sizeof all_sizes / sizeof all_sizes[0];

struct opts {
  int full;
  long samples; /* per latency configuration, for records up to 4 KiB */
  const char *out;
  int pin;
  const char *only; /* comma list of groups, NULL = all */
  long publish_only;
  size_t size;
  int size_set;                                 /* --size given: run only that record size */
  int fo_readers[FANOUT_MAX_LIST], fo_nreaders; /* --fanout-readers */
  int fo_writer[FANOUT_MAX_LIST], fo_nwriter;   /* --fanout-writer (0 = the library's own) */
};

static struct opts o = {.samples = 0,
                        .out = "bench/out",
                        .pin = 1,
                        .size = 64,
                        .fo_readers = {1, 4, 16, 64, 256},
                        .fo_nreaders = 5,
                        .fo_writer = {INT_MAX, 0},
                        .fo_nwriter = 2};
static struct report rep;
static int failures;

static void usage(FILE *f) {
  fprintf(f, "usage: shmbus_bench [--quick | --full] [--samples N] [--out DIR] [--no-pin]\n"
             "                    [--only floors,shmbus,peers,publish,copy,fanout]\n"
             "                    [--fanout-readers LIST] [--fanout-writer LIST]\n"
             "       shmbus_bench --publish-only N [--size BYTES]\n"
             "Runs shmbus's latency and throughput benchmarks next to the hardware floors and the\n"
             "peers (pipe, Unix socket, POSIX mq, ZeroMQ); prints a Markdown table and writes\n"
             "DIR/results.csv, DIR/results.md and DIR/plot.dat (default DIR: bench/out).\n"
             "  --quick        small sample counts, under a minute (default)\n"
             "  --full         100k samples per configuration (fewer for 64 KiB and 1 MiB)\n"
             "  --samples N    samples per latency configuration (records up to 4 KiB)\n"
             "  --no-pin       let the scheduler place writer and readers\n"
             "  --only LIST    run only these groups (comma-separated); fanout runs only when\n"
             "                 named, and only in shmbus_bench_testing (it switches the writer's\n"
             "                 fan-out through a test hook)\n"
             "  --fanout-readers LIST  sleeping readers per fanout run (default 1,4,16,64,256)\n"
             "  --fanout-writer LIST   writer fan-outs compared (default all,D: all = the old\n"
             "                 broadcast, D = the library's own); e.g. all,1,2,4\n"
             "  --size BYTES   run only this record size (default: 8, 64, 4096, 65536, 1048576)\n"
             "  --publish-only N  just publish N records with no reader (for strace/perf)\n"
             "Example: bench/run.sh --full   (builds, runs, plots)\n");
}

static int want(const char *group) {
  const char *p;
  size_t n = strlen(group);
  if (o.only == NULL) return strcmp(group, "fanout") != 0; /* 256 processes: on request */
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
    report_note(&rep,
                "zeromq at %s not measured: this is a ThreadSanitizer build, and libzmq "
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
  size_t xs = strstr(x->t->name, "floor") ? 0 : x->size,
         ys = strstr(y->t->name, "floor") ? 0 : y->size;
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

/* The fan-out rows of one reader count: per kind, the call, the first and the last reader. */
static void fanout_rows(const struct fanout_cfg *c, const struct fanout_result *res) {
  static const char *what[] = {"fanout-call", "fanout-first", "fanout-last"};
  char name[32];
  int k, w;
  for (k = 0; k <= c->ndesigns; k++)
    for (w = 0; w < 3; w++) {
      const struct hist *h = w == 0 ? &res->call[k] : w == 1 ? &res->first[k] : &res->last[k];
      if (h->count == 0) continue;
      report_add(&rep, ROW_FANOUT,
                 k == 0 ? "futex-floor" : fanout_design_name(c->designs[k - 1], name, sizeof name),
                 what[w], k == 0 ? 8 : 64, c->readers, h, -1,
                 (double)res->unconfirmed[k] / (double)h->count);
    }
}

/* One fanout run of @n readers for @rounds rounds (pass @pass of @passes). Return: 0; -1. */
static int fanout_pass(struct fanout_cfg *c, int n, long rounds, struct fanout_result *res,
                       int pass, int passes) {
  char err[320], name[32];
  int64_t t0 = bench_now();
  int rc, k;
  c->readers = n;
  c->rounds = rounds;
  c->warmup = rounds / 10 > 2 ? rounds / 10 : 2;
  c->timeout_ns = 60000000000LL + (c->warmup + rounds) * (1 + c->ndesigns) * 100000000LL;
  fprintf(stderr, "  [%d/%d] fanout %3d sleeping readers, %ld rounds ... ", pass + 1, passes, n,
          rounds);
  rc = run_fanout(c, res, err, sizeof err);
  if (rc < 0) {
    fprintf(stderr, "FAILED: %s\n", err[0] ? err : strerror(-rc));
    failures++;
    return -1;
  }
  fprintf(stderr, "last reader p50 (us): floor %.0f", hist_pct(&res->last[0], 0.5) / 1e3);
  for (k = 0; k < c->ndesigns; k++)
    fprintf(stderr, ", %s %.0f", fanout_design_name(c->designs[k], name, sizeof name) + 12,
            hist_pct(&res->last[k + 1], 0.5) / 1e3);
  fprintf(stderr, " (%.1f s)\n", (bench_now() - t0) / 1e9);
  return 0;
}

/* Rounds for @n readers: 256 sleeping processes on shared cores take ~10x longer per record,
 * so they get 3/10 of the rounds (at least 10), which bounds a full run to a few minutes. */
static long fanout_rounds(long rounds, int n) {
  long r = n >= 256 ? rounds * 3 / 10 : rounds;
  return r > 10 ? r : 10;
}

/* @n empty result sets (histograms reset, counts zero). NULL on failure. */
static struct fanout_result *fanout_results_new(int n) {
  struct fanout_result *res = calloc((size_t)n, sizeof *res);
  int i, k;
  for (i = 0; res && i < n; i++)
    for (k = 0; k < FANOUT_KINDS; k++) {
      hist_reset(&res[i].call[k]);
      hist_reset(&res[i].first[k]);
      hist_reset(&res[i].last[k]);
    }
  return res;
}

/* Waking N sleepers (issue 20): every reader count in passes, so a change of the machine's
 * load hits every N alike; within a run the kinds alternate record by record (fanout.h). */
static void fanout_group(void) {
  static struct fanout_cfg c;
  struct fanout_result *res;
  long rounds = o.samples / 100 > 10 ? o.samples / 100 : 10;
  int passes = o.full ? 5 : 1, p, i, k, ok[FANOUT_MAX_LIST] = {0};
  if (!fanout_switchable()) {
    report_note(&rep, "fanout not measured: this binary links the library proper, whose writer "
                      "fan-out cannot be switched to the old broadcast; bazel-bin/bench/"
                      "shmbus_bench_testing --only fanout measures it (bench/run.sh runs it).");
    return;
  }
  rep.fanout_default = fanout_library_default();
  for (k = 0; k < o.fo_nwriter; k++)
    c.designs[k] = o.fo_writer[k] ? o.fo_writer[k] : rep.fanout_default;
  c.ndesigns = o.fo_nwriter;
  c.period_ns = 3000000; /* a record every 3 ms at most: every reader is asleep again */
  res = fanout_results_new(o.fo_nreaders);
  if (res == NULL) return;
  fprintf(stderr, "fanout (writer fan-outs:");
  for (k = 0; k < c.ndesigns; k++) fprintf(stderr, k ? ",%d" : " %d", c.designs[k]);
  fprintf(stderr, "; old = %d, library = %d):\n", INT_MAX, rep.fanout_default);
  for (i = 0; i < o.fo_nreaders; i++) ok[i] = 1;
  for (p = 0; p < passes; p++)
    for (i = 0; i < o.fo_nreaders; i++) {
      long n = fanout_rounds(rounds, o.fo_readers[i]) / passes;
      if (ok[i] && fanout_pass(&c, o.fo_readers[i], n, &res[i], p, passes) < 0) ok[i] = 0;
    }
  for (i = 0; i < o.fo_nreaders; i++) {
    c.readers = o.fo_readers[i];
    if (ok[i]) fanout_rows(&c, &res[i]);
  }
  free(res);
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
           bench_cpus.cpus[0],
           !bench_cpus.pin    ? "any CPU (not pinned)"
           : bench_cpus.n > 1 ? "the other CPUs"
                              : "the same CPU");
}

static int bad_list(const char *opt, const char *arg) {
  fprintf(stderr,
          "shmbus_bench: %s '%s': want a comma-separated list of at most %d numbers "
          "(readers: 1..%d; writer: 1.. or 'all'); see --help\n",
          opt, arg, FANOUT_MAX_LIST, FANOUT_MAX_READERS);
  return -EINVAL;
}

static int parse(int argc, char **argv) {
  static const struct option lo[] = {{"quick", no_argument, 0, 'q'},
                                     {"full", no_argument, 0, 'f'},
                                     {"samples", required_argument, 0, 'n'},
                                     {"out", required_argument, 0, 'o'},
                                     {"no-pin", no_argument, 0, 'P'},
                                     {"only", required_argument, 0, 'O'},
                                     {"publish-only", required_argument, 0, 'p'},
                                     {"size", required_argument, 0, 's'},
                                     {"fanout-readers", required_argument, 0, 'R'},
                                     {"fanout-writer", required_argument, 0, 'W'},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};
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
      case 's':
        o.size = (size_t)atol(optarg);
        o.size_set = 1;
        break;
      case 'R':
        o.fo_nreaders =
            fanout_parse_list(optarg, o.fo_readers, FANOUT_MAX_LIST, FANOUT_MAX_READERS, 0);
        if (o.fo_nreaders < 0) return bad_list("--fanout-readers", optarg);
        break;
      case 'W':
        o.fo_nwriter = fanout_parse_list(optarg, o.fo_writer, FANOUT_MAX_LIST, 1 << 20, 1);
        if (o.fo_nwriter < 0) return bad_list("--fanout-writer", optarg);
        break;
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
    snprintf(path, sizeof path, "%s/fanout.dat", o.out);
    rc = fanout_plot_data(&rep, path);
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

/* The latency configurations, in the report's order. */
static void add_latency_jobs(void) {
  size_t i;
  int n;
  if (want("floors")) {
    if (bench_free_cores() >= 1) add_job(&floor_spin, BENCH_SPIN, 8, 1);
    add_job(&floor_futex, BENCH_SLEEP, 8, 1);
  }
  if (want("shmbus"))
    for (i = 0; i < nsizes; i++) {
      /* Spinning readers only up to the free cores: more would only measure time slicing. */
      for (n = 1; n <= bench_free_cores() && n <= 64; n *= 4)
        add_job(&shmbus_transport, BENCH_SPIN, sizes[i], n);
      for (n = 1; n <= 64; n *= 4) add_job(&shmbus_transport, BENCH_SLEEP, sizes[i], n);
      for (n = 1; n <= 64; n *= 4) add_job(&shmbus_transport, BENCH_HYBRID, sizes[i], n);
      if (bench_free_cores() >= 1) add_job(&shmbus_zc_transport, BENCH_SPIN, sizes[i], 1);
      add_job(&shmbus_zc_transport, BENCH_SLEEP, sizes[i], 1); /* zero-copy: bench/zerocopy.h */
    }
  if (want("peers"))
    for (i = 0; i < nsizes; i++) {
      add_job(&peer_pipe, BENCH_SLEEP, sizes[i], 1);
      add_job(&peer_unix, BENCH_SLEEP, sizes[i], 1);
      add_job(&peer_mq, BENCH_SLEEP, sizes[i], 1);
      add_job(&peer_zmq, BENCH_SLEEP, sizes[i], 1);
    }
}

/* Full mode: 10 passes. The host moves the two vCPUs around (a cache-line transfer costs
 * 0.06 or 0.25 us depending on where they land, for seconds at a time), so each pass runs
 * the configurations that are compared with each other next to each other (order[]).
 * Return: 0; -ENOMEM. */
static int run_latency_jobs(void) {
  int n, r, *order;
  rounds = o.full ? 10 : 1;
  if (njobs)
    fprintf(stderr, "latency (%d configurations, %d pass%s):\n", njobs, rounds,
            rounds > 1 ? "es" : "");
  order = calloc((size_t)(njobs > 0 ? njobs : 1), sizeof *order);
  if (order == NULL) return -ENOMEM;
  for (n = 0; n < njobs; n++) order[n] = n;
  qsort(order, (size_t)njobs, sizeof *order, by_comparison_group);
  for (r = 0; r < rounds; r++)
    for (n = 0; n < njobs; n++) run_job(&jobs[order[n]], r);
  free(order);
  for (n = 0; n < njobs; n++) job_rows(&jobs[n]);
  return 0;
}

/* Writer throughput: publishes of 64 B with 0..16 readers, each size alone, and the system
 * calls of a million publishes; each run lasts @dur_ns. */
static void publish_group(int64_t dur_ns) {
  long long n1, n0;
  size_t i;
  int n;
  fprintf(stderr, "writer throughput:\n");
  publish(64, 0, BENCH_SPIN, dur_ns);
  for (n = 1; n <= 16; n *= 4) publish(64, n, BENCH_SPIN, dur_ns);
  for (n = 1; n <= 16; n *= 4) publish(64, n, BENCH_SLEEP, dur_ns);
  for (i = 0; i < nsizes; i++)
    if (sizes[i] != 64 || o.size_set) publish(sizes[i], 0, BENCH_SPIN, dur_ns);
  n1 = count_publish_syscalls(64, 1000000);
  n0 = count_publish_syscalls(64, 0);
  rep.syscalls_n = 1000000;
  rep.syscalls = n1 < 0 || n0 < 0 ? -1 : n1 - n0;
  fprintf(stderr, "  syscalls during 1e6 publishes (64 B, no reader): %lld\n", rep.syscalls);
}

int main(int argc, char **argv) {
  size_t i;
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
    sizes = &o.size;
    nsizes = 1;
  }
  hardware_line();
  fprintf(stderr, "shmbus_bench: %s\n", rep.hardware);
  add_latency_jobs();
  if (run_latency_jobs() < 0) return 1;
  if (want("publish")) publish_group((o.full ? 1000 : 150) * 1000000LL);
  if (want("fanout")) fanout_group();
  if (want("copy")) {
    fprintf(stderr, "copy cost:\n");
    for (i = 0; i < nsizes; i++) copies(sizes[i]);
  }
  report_markdown(&rep, stdout);
  zc_targets(&rep, stdout);
  if (write_outputs() < 0) return 1;
  if (failures) fprintf(stderr, "shmbus_bench: %d configuration(s) failed (see above)\n", failures);
  return failures ? 1 : 0;
}
