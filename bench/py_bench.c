/* py_bench.c - Python against C on the same bus, in the same run (issue 14's performance).
 *
 *   py_bench [--quick | --full] [--rounds N] [--samples N] [--batch N] [--slots N]
 *            [--only lat,drain] [--python EXE] [--reader FILE] [--out DIR] [--no-pin]
 *
 * Two reader processes, one in C (forked from this program: c_reader_serve()) and one in
 * Python (bench/py_reader.py, running the shmbus package), pinned to the readers' CPU,
 * answer the same line protocol (see py_reader.py). This program is the writer, pinned to
 * the first CPU, and runs the jobs in rounds, each round running every configuration once
 * with the readers' order alternating, so a change of the machine's load (it is shared)
 * hits both alike.
 *
 * Latency (as bench/harness.h, one-way, publish start to the record in the reader's hands):
 * the writer stamps CLOCK_MONOTONIC into the record's first 8 bytes and its number into the
 * next 8, publishes, then waits for the reader's acknowledgement, which comes back on a
 * second bus (the reader is its writer: the Python module can publish, so no other shared
 * memory protocol is needed), then idles a gap (spin 20 us, sleep 50 us) so the reader is
 * back in its wait. Readers: C shmbus_sub_wait() + shmbus_sub_next(); Python
 * sub.wait(None, mode=...) + sub.next() (or next_into() of a reused bytearray), then
 * time.monotonic_ns(). Sizes 64 B and 1 MiB, modes sleep and spin.
 *
 * Drain (per-record cost and records per second): the writer fills a ring of --slots
 * 64-byte records, then one reader seeks to the oldest and reads until nothing is left,
 * timing its loop: C shmbus_sub_next() with the record info; Python a loop of sub.next(),
 * sub.next_many(BATCH) (a structured numpy array with version, timestamp, lost, length,
 * data), sub.next_many_into() (one preallocated array). Refilled before every pass, so each
 * pass reads records another core has just written.
 *
 * Output: DIR/results.csv (bench/README.md's columns), DIR/results.md (tables, ratios,
 * targets), the tables on stdout. Exit status 0, or 1 when a job failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/harness.h"
#include "bench/hist.h"
#include "bench/report.h"
#include "core/shmbus.h"

#define ACK_CAP 16
#define ACK_SLOTS 8
#define MAX_PASSES 4096

struct opts {
  int full, rounds, pin;
  long samples;   /* latency samples per configuration (64 B; 1 MiB gets a fifth) */
  long batch;     /* next_many rows */
  unsigned slots; /* drain ring */
  int passes;     /* drain passes per reader and round */
  long size;      /* latency: only this record size (64 or 1048576), 0 = both */
  const char *only, *python, *reader, *out;
};
static struct opts o = {.pin = 1,
                        .batch = 256,
                        .slots = 4096,
                        .python = "/usr/bin/python3",
                        .reader = "bench/py_reader.py",
                        .out = "bench/out/python"};

/* ---------------------------------------------------------------- buses */

static char data64[64], data1m[64], drainbus[64], ack_c[64], ack_py[64];
static shmbus_pub *pub64, *pub1m, *pubdrain;
static shmbus_sub *acksub_c, *acksub_py;

static void cleanup(void) {
  const char *names[] = {data64, data1m, drainbus, ack_c, ack_py};
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i][0]) shmbus_unlink(names[i], 1);
}

static void on_signal(int sig) {
  cleanup();
  signal(sig, SIG_DFL);
  raise(sig);
}

static int make_bus(char *name, const char *what, size_t cap, unsigned slots, const char *type,
                    shmbus_pub **out) {
  struct shmbus_pub_opts po;
  shmbus_pub *p;
  int rc;
  snprintf(name, 64, "pybench-%d-%s", (int)getpid(), what);
  shmbus_pub_opts_init(&po);
  po.capacity = cap;
  po.slots = slots;
  po.type = type;
  rc = shmbus_pub_open(name, &po, &p);
  if (rc < 0) {
    fprintf(stderr, "py_bench: cannot create bus %s: %s\n", name, shmbus_strerror(rc));
    name[0] = 0;
    return rc;
  }
  if (out) *out = p;
  else shmbus_pub_close(p); /* acknowledgement buses: the reader adopts them as writer */
  return 0;
}

/* ---------------------------------------------------------------- line protocol */

static int read_full(int fd, void *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, (char *)p + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -EPIPE;
    got += (size_t)k;
  }
  return 0;
}

static int read_line(int fd, char *buf, size_t n) {
  size_t i = 0;
  while (i + 1 < n) {
    char c;
    if (read_full(fd, &c, 1) < 0) return -EPIPE;
    if (c == '\n') break;
    buf[i++] = c;
  }
  buf[i] = 0;
  return 0;
}

static int write_all(int fd, const char *s) {
  size_t n = strlen(s), done = 0;
  while (done < n) {
    ssize_t k = write(fd, s + done, n - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -EPIPE;
    done += (size_t)k;
  }
  return 0;
}

/* ---------------------------------------------------------------- the C reader */

static shmbus_sub *c_drain_sub;
static char c_drain_name[64];

static int c_lat(FILE *out, const char *bus, const char *ack, const char *mode, size_t size,
                 long total) {
  struct shmbus_pub_opts po;
  shmbus_sub *sub = NULL;
  shmbus_pub *pub = NULL;
  int64_t *s = calloc((size_t)total, sizeof *s);
  unsigned char *buf = aligned_alloc(64, (size + 63) & ~(size_t)63);
  int wm = !strcmp(mode, "spin") ? SHMBUS_WAIT_SPIN : SHMBUS_WAIT_SLEEP, rc;
  int64_t v = -1;
  long i = 0;
  shmbus_pub_opts_init(&po);
  po.capacity = ACK_CAP;
  po.slots = ACK_SLOTS;
  po.type = "bench-ack";
  if (s == NULL || buf == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  if ((rc = shmbus_sub_open(bus, 0, &sub)) < 0 ||
      (rc = shmbus_sub_seek(sub, SHMBUS_SEEK_NEW)) < 0 ||
      (rc = shmbus_pub_open(ack, &po, &pub)) < 0 || (rc = shmbus_pub_publish(pub, &v, 8)) < 0)
    goto out;
  while (i < total) {
    int64_t t0, t1, seq;
    ssize_t n;
    if ((rc = shmbus_sub_wait(sub, -1, wm)) < 0) goto out;
    n = shmbus_sub_next(sub, buf, size, NULL);
    if (n == -EAGAIN) continue;
    t1 = bench_now();
    if (n != (ssize_t)size) {
      rc = n < 0 ? (int)n : -EBADMSG;
      goto out;
    }
    memcpy(&t0, buf, 8);
    memcpy(&seq, buf + 8, 8);
    if (seq != i) {
      rc = -EBADMSG;
      goto out;
    }
    s[i] = t1 - t0;
    if ((rc = shmbus_pub_publish(pub, &i, 8)) < 0) goto out;
    i++;
  }
out:
  shmbus_pub_close(pub);
  shmbus_sub_close(sub);
  if (rc < 0) fprintf(out, "err C reader at record %ld: %s\n", i, shmbus_strerror(rc));
  else {
    fprintf(out, "ok %ld\n", total);
    fwrite(s, sizeof *s, (size_t)total, out);
  }
  free(s);
  free(buf);
  return rc;
}

static void c_drain(FILE *out, const char *bus) {
  struct shmbus_record_info info;
  unsigned char buf[64] __attribute__((aligned(64)));
  int64_t t0, t1;
  long n = 0;
  int rc = 0;
  if (c_drain_sub == NULL || strcmp(c_drain_name, bus) != 0) {
    shmbus_sub_close(c_drain_sub);
    c_drain_sub = NULL;
    snprintf(c_drain_name, sizeof c_drain_name, "%s", bus);
    rc = shmbus_sub_open(bus, 0, &c_drain_sub);
  }
  if (rc == 0) rc = shmbus_sub_seek(c_drain_sub, SHMBUS_SEEK_OLDEST);
  if (rc < 0) {
    fprintf(out, "err C reader: %s\n", shmbus_strerror(rc));
    return;
  }
  t0 = bench_now();
  while (shmbus_sub_next(c_drain_sub, buf, sizeof buf, &info) >= 0) n++;
  t1 = bench_now();
  fprintf(out, "ok %ld %lld\n", n, (long long)(t1 - t0));
}

/* The C reader's loop: the same commands as py_reader.py, on @in / @out. */
static void __attribute__((noreturn)) c_reader_serve(int in, int outfd) {
  FILE *out = fdopen(outfd, "w");
  char line[512];
  fprintf(out, "ready C\n");
  fflush(out);
  while (read_line(in, line, sizeof line) == 0) {
    char cmd[16], a[64], b[64], m[16], api[32];
    size_t size;
    long total;
    if (sscanf(line, "%15s", cmd) != 1) continue;
    if (!strcmp(cmd, "quit")) break;
    if (!strcmp(cmd, "lat") &&
        sscanf(line, "lat %63s %63s %15s %31s %zu %ld", a, b, m, api, &size, &total) == 6)
      c_lat(out, a, b, m, size, total);
    else if (!strcmp(cmd, "drain") && sscanf(line, "drain %63s", a) == 1) c_drain(out, a);
    else fprintf(out, "err bad command: %s\n", line);
    fflush(out);
  }
  shmbus_sub_close(c_drain_sub);
  _exit(0);
}

/* ---------------------------------------------------------------- reader processes */

struct reader {
  const char *name; /* "C", "Python" */
  pid_t pid;
  int to, from; /* its stdin, its stdout */
  char hello[160];
};
static struct reader rd_c = {.name = "C"}, rd_py = {.name = "Python"};

static int spawn(struct reader *r, int python) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) return -errno;
  fflush(NULL);
  r->pid = fork();
  if (r->pid < 0) return -errno;
  if (r->pid == 0) {
    close(in[1]);
    close(out[0]);
    bench_pin_reader(0);
    if (!python) c_reader_serve(in[0], out[1]);
    dup2(in[0], 0);
    dup2(out[1], 1);
    execl(o.python, o.python, "-u", o.reader, (char *)NULL);
    fprintf(stderr, "py_bench: cannot run %s: %s\n", o.python, strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  r->to = in[1];
  r->from = out[0];
  if (read_line(r->from, r->hello, sizeof r->hello) < 0 || strncmp(r->hello, "ready", 5) != 0) {
    fprintf(stderr, "py_bench: the %s reader did not start (%s)\n", r->name,
            python ? "is the shmbus package on PYTHONPATH? see bench/py_run.sh" : "?");
    return -ECHILD;
  }
  return 0;
}

/* Ask the reader to quit; one that does not within 5 s (stuck in a wait after a failed job)
 * is killed. Only the two processes this program forked. */
static void stop(struct reader *r) {
  int64_t deadline = bench_now() + 5000000000LL;
  if (r->pid <= 0) return;
  write_all(r->to, "quit\n");
  close(r->to);
  close(r->from);
  while (waitpid(r->pid, NULL, WNOHANG) == 0) {
    if (bench_now() > deadline) {
      kill(r->pid, SIGKILL);
      waitpid(r->pid, NULL, 0);
      break;
    }
    usleep(10000);
  }
  r->pid = 0;
}

/* ---------------------------------------------------------------- jobs */

enum { NSIZE = 2, NMODE = 2, NLAT_API = 3, NDRAIN = 4 };
static const size_t lat_sizes[NSIZE] = {64, 1048576};
static const char *modes[NMODE] = {"sleep", "spin"};
/* latency readers: C, Python next(), Python next_into() */
static const char *lat_names[NLAT_API] = {"shmbus", "python", "python-into"};
static const char *drain_names[NDRAIN] = {"shmbus", "python", "python", "python"};
static const char *drain_api[NDRAIN] = {"next", "next", "next_many", "next_many_into"};

static struct hist lat_h[NSIZE][NMODE][NLAT_API];
static int lat_fail[NSIZE][NMODE][NLAT_API];
struct drain_acc {
  double per_rec[MAX_PASSES]; /* ns per record, one per pass */
  int n;
  double records, ns;
  int fail;
};
static struct drain_acc drain_acc[NDRAIN];
static int failures;

/* Wait for the acknowledgement @want on @ack (spinning or asleep): 0; -ETIMEDOUT; -ECHILD
 * (the reader died); -EPROTO (it answered instead: an error line waits on @from). */
static int wait_ack(shmbus_sub *ack, int64_t want, int spin, pid_t pid, int from) {
  int64_t deadline = bench_now() + 30000000000LL;
  for (;;) {
    struct pollfd pf = {from, POLLIN, 0};
    int64_t v;
    ssize_t n = shmbus_sub_next(ack, &v, sizeof v, NULL);
    if (n == 8 && v == want) return 0;
    if (n >= 0) continue; /* an older acknowledgement */
    if (bench_now() > deadline) return -ETIMEDOUT;
    if (waitpid(pid, NULL, WNOHANG) == pid) return -ECHILD;
    if (poll(&pf, 1, 0) > 0) return -EPROTO;
    shmbus_sub_wait(ack, 100000000,
                    (spin ? SHMBUS_WAIT_SPIN : SHMBUS_WAIT_SLEEP) | SHMBUS_WAIT_THROUGH_DEATH);
  }
}

static int lat_job(struct reader *r, shmbus_sub *ack, const char *ackname, int si, int mi, int api,
                   long total, long warmup) {
  size_t size = lat_sizes[si];
  shmbus_pub *pub = si == 0 ? pub64 : pub1m;
  const char *bus = si == 0 ? data64 : data1m;
  int spin = mi == 1, rc = 0;
  int64_t gap = spin ? 20000 : 50000, v;
  unsigned char *buf = calloc(1, size);
  int64_t *s = NULL;
  char cmd[256], line[256];
  long i, n = 0;
  if (buf == NULL) return -ENOMEM;
  for (i = 0; i < (long)size; i++) buf[i] = (unsigned char)(i * 7 + 1);
  while (shmbus_sub_next(ack, &v, sizeof v, NULL) >= 0) {
  } /* older acknowledgements */
  snprintf(cmd, sizeof cmd, "lat %s %s %s %s %zu %ld\n", bus, ackname, modes[mi],
           api == 2 ? "into" : "next", size, total);
  fprintf(stderr, "  %-12s %-5s %7zu B ... ", lat_names[api], modes[mi], size);
  if (write_all(r->to, cmd) < 0 || (rc = wait_ack(ack, -1, spin, r->pid, r->from)) < 0) goto done;
  for (i = 0; i < total && rc == 0; i++) {
    int64_t t0;
    bench_spin_until(bench_now() + gap);
    t0 = bench_now();
    memcpy(buf, &t0, 8);
    memcpy(buf + 8, &i, 8);
    if ((rc = shmbus_pub_publish(pub, buf, size)) == 0)
      rc = wait_ack(ack, i, spin, r->pid, r->from);
  }
  if (rc < 0) goto done;
  if (read_line(r->from, line, sizeof line) < 0 || sscanf(line, "ok %ld", &n) != 1 || n != total) {
    fprintf(stderr, "FAILED: %s\n", line);
    rc = -EPROTO;
    goto out;
  }
  s = malloc((size_t)n * sizeof *s);
  if (s == NULL || read_full(r->from, s, (size_t)n * sizeof *s) < 0) {
    rc = -EPIPE;
    goto done;
  }
  {
    struct hist *h = malloc(sizeof *h);
    if (h == NULL) {
      rc = -ENOMEM;
      goto done;
    }
    hist_reset(h);
    for (i = warmup; i < n; i++) hist_add(h, s[i] > 0 ? (uint64_t)s[i] : 0);
    fprintf(stderr, "p50 %8.2f us  p99 %8.2f us\n", hist_pct(h, 0.5) / 1e3,
            hist_pct(h, 0.99) / 1e3);
    hist_merge(&lat_h[si][mi][api], h);
    free(h);
  }
done:
  if (rc < 0) {
    fprintf(stderr, "FAILED: %s\n", strerror(-rc));
    if (rc != -EPIPE && rc != -ECHILD && read_line(r->from, line, sizeof line) == 0)
      fprintf(stderr, "  the reader says: %s\n", line);
  }
out:
  free(s);
  free(buf);
  return rc;
}

static int fill_drain(void) {
  unsigned char buf[64];
  unsigned j;
  memset(buf, 0x5a, sizeof buf);
  for (j = 0; j < o.slots; j++) {
    uint64_t k = j;
    int rc;
    memcpy(buf, &k, 8);
    if ((rc = shmbus_pub_publish(pubdrain, buf, sizeof buf)) < 0) return rc;
  }
  return 0;
}

static int drain_job(struct reader *r, int k, long *records) {
  char cmd[256], line[256];
  long n;
  long long ns;
  int rc = fill_drain();
  if (rc < 0) return rc;
  snprintf(cmd, sizeof cmd, "drain %s %s %ld\n", drainbus, drain_api[k], o.batch);
  if (write_all(r->to, cmd) < 0 || read_line(r->from, line, sizeof line) < 0) return -EPIPE;
  if (sscanf(line, "ok %ld %lld", &n, &ns) != 2 || n <= 0) {
    fprintf(stderr, "  drain %s %s FAILED: %s\n", drain_names[k], drain_api[k], line);
    return -EPROTO;
  }
  *records = n;
  if (drain_acc[k].n < MAX_PASSES) drain_acc[k].per_rec[drain_acc[k].n++] = (double)ns / (double)n;
  drain_acc[k].records += (double)n;
  drain_acc[k].ns += (double)ns;
  return 0;
}

/* ---------------------------------------------------------------- report */

static const char *size_str(size_t s) { return s >= 1048576 ? "1 MiB" : "64 B"; }

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct_d(double *v, int n, double q) {
  int i;
  if (n == 0) return 0;
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  i = (int)ceil(q * n) - 1;
  return v[i < 0 ? 0 : i];
}

static double p50_us(int si, int mi, int api) {
  const struct hist *h = &lat_h[si][mi][api];
  return h->count ? hist_pct(h, 0.5) / 1e3 : -1;
}

static double drain_med(int k) { return pct_d(drain_acc[k].per_rec, drain_acc[k].n, 0.5); }

/* The 1, 5 and 15 minute load averages, "a b c". */
static void loadavg(char *s, size_t n) {
  FILE *f = fopen("/proc/loadavg", "r");
  double a = 0, b = 0, c = 0;
  if (f == NULL || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3) snprintf(s, n, "unknown");
  else snprintf(s, n, "%.2f %.2f %.2f", a, b, c);
  if (f) fclose(f);
}

static void markdown(FILE *f, const char *when, const char *load0, const char *load1) {
  int si, mi, a, k;
  fprintf(f,
          "## Python against C on the same bus (issue 14)\n\n%s; load average %s at the start, "
          "%s at the end; %d round%s; readers: %s, %s\n\n",
          when, load0, load1, o.rounds, o.rounds > 1 ? "s" : "", rd_c.hello, rd_py.hello);
  fprintf(f, "### One-way latency, one reader, us (p50 / p99)\n\n"
             "| size | mode | C | Python next() | Python next_into() | next() / C (p50) |\n"
             "|---|---|---|---|---|---|\n");
  for (si = 0; si < NSIZE; si++)
    for (mi = 0; mi < NMODE; mi++) {
      fprintf(f, "| %s | %s |", size_str(lat_sizes[si]), modes[mi]);
      for (a = 0; a < NLAT_API; a++) {
        const struct hist *h = &lat_h[si][mi][a];
        if (h->count) fprintf(f, " %.2f / %.2f |", hist_pct(h, 0.5) / 1e3, hist_pct(h, 0.99) / 1e3);
        else fprintf(f, " n/a |");
      }
      if (p50_us(si, mi, 0) > 0 && p50_us(si, mi, 1) > 0)
        fprintf(f, " %.2fx (+%.2f us) |\n", p50_us(si, mi, 1) / p50_us(si, mi, 0),
                p50_us(si, mi, 1) - p50_us(si, mi, 0));
      else fprintf(f, " n/a |\n");
    }
  fprintf(
      f,
      "\n### Draining a ring of %u records of 64 B (refilled by the writer before each pass)\n\n"
      "| reader | ns per record (median pass) | p10-p90 of passes | records/s (median pass) | vs C "
      "|\n"
      "|---|---|---|---|---|\n",
      o.slots);
  for (k = 0; k < NDRAIN; k++) {
    double m = drain_med(k), c = drain_med(0);
    if (drain_acc[k].n == 0) continue;
    fprintf(f, "| %s %s%s | %.1f | %.1f-%.1f | %.3g | %.2fx |\n", drain_names[k], drain_api[k],
            k >= 2 ? (k == 2 ? "(n)" : "(array)") : (k == 1 ? "()" : " loop"), m,
            pct_d(drain_acc[k].per_rec, drain_acc[k].n, 0.1),
            pct_d(drain_acc[k].per_rec, drain_acc[k].n, 0.9), 1e9 / m, c / m);
  }
  fprintf(f,
          "\nn = %ld rows per next_many call.\n\n### Targets (issue 14), this run\n\n"
          "| target | measured | verdict |\n|---|---|---|\n",
          o.batch);
  for (si = 0; si < NSIZE; si++) {
    double c = p50_us(si, 0, 0), p = p50_us(si, 0, 1);
    if (c > 0 && p > 0)
      fprintf(f, "| Python sleep p50 <= 1.2x C at %s | %.2f / %.2f us = %.2fx | %s |\n",
              size_str(lat_sizes[si]), p, c, p / c, p / c <= 1.2 ? "met" : "MISSED");
  }
  if (drain_acc[0].n && drain_acc[1].n) {
    double d = drain_med(1) - drain_med(0);
    fprintf(f,
            "| next() per-record overhead over C < 1 us at 64 B | %.1f - %.1f = %.0f ns | %s |\n",
            drain_med(1), drain_med(0), d, d < 1000 ? "met" : "MISSED");
  }
  if (p50_us(0, 1, 0) > 0 && p50_us(0, 1, 1) > 0)
    fprintf(f, "| (the same on the latency path: spin p50, Python - C, 64 B) | %.2f us | |\n",
            p50_us(0, 1, 1) - p50_us(0, 1, 0));
  if (drain_acc[0].n && drain_acc[2].n)
    fprintf(f, "| next_many(%ld) >= 30%% of C's records/s | %.3g / %.3g = %.0f%% | %s |\n", o.batch,
            1e9 / drain_med(2), 1e9 / drain_med(0), 100 * drain_med(0) / drain_med(2),
            drain_med(0) / drain_med(2) >= 0.3 ? "met" : "MISSED");
}

static int write_csv(const char *path) {
  FILE *f = fopen(path, "w");
  int si, mi, a, k;
  if (f == NULL) return -errno;
  fprintf(f, "%s\n", CSV_HEADER);
  for (si = 0; si < NSIZE; si++)
    for (mi = 0; mi < NMODE; mi++)
      for (a = 0; a < NLAT_API; a++) {
        const struct hist *h = &lat_h[si][mi][a];
        if (!h->count) continue;
        fprintf(f, "%s,%s,%zu,1,%llu,%llu,%llu,%llu,%llu,%llu,\n", lat_names[a], modes[mi],
                lat_sizes[si], (unsigned long long)h->count, (unsigned long long)hist_pct(h, 0.5),
                (unsigned long long)hist_pct(h, 0.9), (unsigned long long)hist_pct(h, 0.99),
                (unsigned long long)hist_pct(h, 0.999), (unsigned long long)hist_pct(h, 1.0));
      }
  for (k = 0; k < NDRAIN; k++) {
    struct drain_acc *d = &drain_acc[k];
    char mode[48];
    if (!d->n) continue;
    if (k >= 2) snprintf(mode, sizeof mode, "drain-%s-%ld", drain_api[k], o.batch);
    else snprintf(mode, sizeof mode, "drain-%s", drain_api[k]);
    fprintf(f, "%s,%s,64,1,%d,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f\n", drain_names[k], mode, d->n,
            pct_d(d->per_rec, d->n, 0.5), pct_d(d->per_rec, d->n, 0.9),
            pct_d(d->per_rec, d->n, 0.99), pct_d(d->per_rec, d->n, 0.999),
            pct_d(d->per_rec, d->n, 1.0), 1e9 / pct_d(d->per_rec, d->n, 0.5));
  }
  fclose(f);
  return 0;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f) {
  fprintf(f,
          "usage: py_bench [--quick | --full] [--rounds N] [--samples N] [--batch N]\n"
          "                [--slots N] [--passes N] [--only lat,drain] [--python EXE]\n"
          "                [--reader bench/py_reader.py] [--out DIR] [--no-pin]\n"
          "                [--size 64 | --size 1048576]\n"
          "Python against C on the same bus, same run: one-way latency (64 B, 1 MiB; sleep,\n"
          "spin) of a C reader and of the Python package's next()/next_into(), and the cost of\n"
          "draining a ring: C shmbus_sub_next() against next(), next_many(n), next_many_into().\n"
          "The shmbus package must be importable by EXE (PYTHONPATH): bench/py_run.sh builds\n"
          "and runs it. Writes DIR/results.csv and DIR/results.md (default bench/out/python).\n"
          "  --quick     2 rounds, 1000 latency samples per configuration (default)\n"
          "  --full      10 rounds, 10000 samples\n");
}

static int want(const char *g) { return o.only == NULL || strstr(o.only, g) != NULL; }

int main(int argc, char **argv) {
  static const struct option lo[] = {
      {"quick", 0, 0, 'q'},  {"full", 0, 0, 'f'},   {"rounds", 1, 0, 'r'}, {"samples", 1, 0, 'n'},
      {"batch", 1, 0, 'b'},  {"slots", 1, 0, 's'},  {"passes", 1, 0, 'p'}, {"only", 1, 0, 'O'},
      {"python", 1, 0, 'P'}, {"reader", 1, 0, 'R'}, {"out", 1, 0, 'o'},    {"no-pin", 0, 0, 'N'},
      {"size", 1, 0, 'S'},   {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
  char path[600], when[64], load0[64], load1[64];
  time_t now = time(NULL);
  struct utsname u;
  FILE *f;
  int c, r, si, mi, a, k, rc = 0;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
      case 'q': o.full = 0; break;
      case 'f': o.full = 1; break;
      case 'r': o.rounds = atoi(optarg); break;
      case 'n': o.samples = atol(optarg); break;
      case 'b': o.batch = atol(optarg); break;
      case 's': o.slots = (unsigned)atol(optarg); break;
      case 'p': o.passes = atoi(optarg); break;
      case 'O': o.only = optarg; break;
      case 'P': o.python = optarg; break;
      case 'R': o.reader = optarg; break;
      case 'o': o.out = optarg; break;
      case 'N': o.pin = 0; break;
      case 'S': o.size = atol(optarg); break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (o.rounds <= 0) o.rounds = o.full ? 10 : 2;
  if (o.samples <= 0) o.samples = o.full ? 10000 : 1000;
  if (o.passes <= 0) o.passes = o.full ? 20 : 5;
  if (optind < argc || o.batch < 1 || o.slots < 16 || o.samples < 20 ||
      (long)o.rounds * o.passes > MAX_PASSES) {
    fprintf(stderr, "py_bench: bad arguments; see --help\n");
    return 2;
  }
  strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
  uname(&u);
  loadavg(load0, sizeof load0);
  bench_cpus_init(o.pin);
  /* The readers first: forked before any bus exists, so they inherit no handle. */
  if (spawn(&rd_c, 0) < 0 || spawn(&rd_py, 1) < 0) {
    stop(&rd_c);
    stop(&rd_py);
    return 1;
  }
  bench_pin_writer();
  atexit(cleanup);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  if (make_bus(data64, "d64", 64, 8, "bench", &pub64) < 0 ||
      make_bus(data1m, "d1m", 1048576, 8, "bench", &pub1m) < 0 ||
      make_bus(drainbus, "drain", 64, o.slots, "bench", &pubdrain) < 0 ||
      make_bus(ack_c, "ack-c", ACK_CAP, ACK_SLOTS, "bench-ack", NULL) < 0 ||
      make_bus(ack_py, "ack-py", ACK_CAP, ACK_SLOTS, "bench-ack", NULL) < 0 ||
      shmbus_sub_open(ack_c, 0, &acksub_c) < 0 || shmbus_sub_open(ack_py, 0, &acksub_py) < 0) {
    rc = 1;
    goto out;
  }
  fprintf(stderr, "py_bench: %s; %s (%s); %s; load %s\n", when, rd_c.hello, rd_py.hello, u.release,
          load0);
  for (r = 0; r < o.rounds && rc == 0; r++) {
    fprintf(stderr, "round %d/%d:\n", r + 1, o.rounds);
    if (want("lat"))
      for (si = 0; si < NSIZE; si++)
        for (mi = 0; mi < NMODE && (o.size == 0 || o.size == (long)lat_sizes[si]); mi++) {
          long total = si == 0 ? o.samples : o.samples / 5 > 20 ? o.samples / 5 : 20;
          long warmup = total / 20 > 10 ? total / 20 : 10;
          for (a = 0; a < NLAT_API; a++) {
            /* C first in even rounds, last in odd ones */
            int api = r % 2 == 0 ? a : NLAT_API - 1 - a;
            struct reader *rd = api == 0 ? &rd_c : &rd_py;
            if (lat_job(rd, api == 0 ? acksub_c : acksub_py, api == 0 ? ack_c : ack_py, si, mi, api,
                        total + warmup, warmup) < 0) {
              /* The reader may be stuck in its wait: stop the run (stop() kills it). */
              lat_fail[si][mi][api] = 1;
              failures++;
              rc = 1;
              goto report;
            }
          }
        }
    if (want("drain")) {
      long counts[NDRAIN] = {0};
      for (k = 0; k < NDRAIN; k++) {
        int kk = r % 2 == 0 ? k : NDRAIN - 1 - k, p;
        struct reader *rd = kk == 0 ? &rd_c : &rd_py;
        if (drain_acc[kk].fail) continue;
        for (p = 0; p < o.passes; p++)
          if (drain_job(rd, kk, &counts[kk]) < 0) {
            drain_acc[kk].fail = 1;
            failures++;
            break;
          }
      }
      fprintf(stderr, "  drain %u x 64 B, ns/record (median so far):", o.slots);
      for (k = 0; k < NDRAIN; k++) {
        if (counts[k] && counts[0] && counts[k] != counts[0]) {
          fprintf(stderr, "\npy_bench: %s %s read %ld records, C %ld: not the same ring\n",
                  drain_names[k], drain_api[k], counts[k], counts[0]);
          failures++;
        }
        fprintf(stderr, " %s %s %.1f;", drain_names[k], drain_api[k], drain_med(k));
      }
      fprintf(stderr, "\n");
    }
  }
report:
  loadavg(load1, sizeof load1);
  mkdir(o.out, 0755);
  snprintf(path, sizeof path, "%s/results.csv", o.out);
  if (write_csv(path) < 0) {
    fprintf(stderr, "py_bench: cannot write %s: %s\n", path, strerror(errno));
    rc = 1;
  }
  markdown(stdout, when, load0, load1);
  snprintf(path, sizeof path, "%s/results.md", o.out);
  if ((f = fopen(path, "w")) != NULL) {
    markdown(f, when, load0, load1);
    fclose(f);
  }
out:
  stop(&rd_c);
  stop(&rd_py);
  shmbus_sub_close(acksub_c);
  shmbus_sub_close(acksub_py);
  shmbus_pub_close(pub64);
  shmbus_pub_close(pub1m);
  shmbus_pub_close(pubdrain);
  cleanup();
  if (failures) fprintf(stderr, "py_bench: %d job(s) failed (see above)\n", failures);
  return rc || failures ? 1 : 0;
}
