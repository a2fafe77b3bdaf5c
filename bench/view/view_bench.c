/* view_bench - per-read cost of the RCU view against every thread reading the bus itself.
 *
 *   bazel run --config=opt //bench/view:view_bench -- [--seconds S] [--max-threads N]
 *
 * For each record size (64 B, 4 KiB, 1 MiB) a writer thread publishes at a fixed rate
 * (1 kHz; 100 Hz for 1 MiB) while 1, 2, 4, ... 64 reader threads read the latest record as
 * fast as they can, in three ways:
 *   view   lock; shmbus_view_latest(); touch the version and the first and last words; unlock
 *   scan   the same, but read every word of the record in place (no copy)
 *   sub    each thread has its own shmbus_sub and calls shmbus_sub_read_latest() (a copy)
 * Per-read cost = CPU time of all reader threads (CLOCK_THREAD_CPUTIME_ID) / reads, so it stays
 * meaningful with more threads than cores. Prints a Markdown table on stdout.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/shmbus.h"
#include "view/shmbus_view.h"

enum mode { VIEW, SCAN, SUB, NMODES };
static const char *const mode_name[NMODES] = {"view", "scan", "sub"};

struct run {
  enum mode mode;
  const char *bus;
  shmbus_view *view;
  size_t len;
  atomic_int go, stop;
  atomic_int ready;
  _Atomic uint64_t reads, cpu_ns, errors;
};

static int64_t clock_ns(clockid_t c) { return shmbus__now(c); }

static void *reader(void *arg) {
  struct run *r = arg;
  shmbus_sub *sub = NULL;
  uint64_t *buf = NULL, n = 0, sink = 0, errors = 0;
  if (r->mode == SUB) {
    if (shmbus_sub_open(r->bus, 0, &sub) < 0) abort();
    buf = aligned_alloc(64, (r->len + 63) / 64 * 64);
  } else {
    shmbus_view_thread_register();
  }
  atomic_fetch_add(&r->ready, 1);
  while (!atomic_load_explicit(&r->go, memory_order_acquire)) usleep(100);
  int64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
    if (r->mode == SUB) {
      struct shmbus_record_info info;
      if (shmbus_sub_read_latest(sub, buf, r->len, &info) < 0) errors++;
      sink += info.version + buf[0];
    } else {
      shmbus_view_read_lock();
      const struct shmbus_view_snap *s = shmbus_view_latest(r->view);
      if (s == NULL) {
        errors++;
      } else {
        const uint64_t *w = s->data;
        size_t words = s->length / 8;
        sink += s->version + w[0] + w[words - 1];
        if (r->mode == SCAN)
          for (size_t i = 1; i + 1 < words; i++) sink += w[i];
      }
      shmbus_view_read_unlock();
    }
    n++;
  }
  int64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
  __asm__ volatile("" ::"r"(sink));
  atomic_fetch_add(&r->reads, n);
  atomic_fetch_add(&r->cpu_ns, (uint64_t)cpu);
  atomic_fetch_add(&r->errors, errors);
  if (sub) shmbus_sub_close(sub);
  else shmbus_view_thread_unregister();
  free(buf);
  return NULL;
}

struct writer {
  shmbus_pub *pub;
  size_t len;
  int64_t period_ns;
  atomic_int stop;
};

static void *write_loop(void *arg) {
  struct writer *w = arg;
  unsigned char *data = malloc(w->len);
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (uint64_t i = 0; !atomic_load(&w->stop); i++) {
    memset(data, (int)i, w->len);
    shmbus_pub_publish(w->pub, data, w->len);
    next.tv_nsec += w->period_ns;
    while (next.tv_nsec >= 1000000000) {
      next.tv_nsec -= 1000000000;
      next.tv_sec++;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
  }
  free(data);
  return NULL;
}

/* One cell: @threads readers in @mode for @seconds. Return: ns per read (CPU), or -1. */
static double cell(struct run *r, int threads, double seconds, double *mreads_per_s) {
  pthread_t *t = calloc((size_t)threads, sizeof *t);
  atomic_store(&r->go, 0);
  atomic_store(&r->stop, 0);
  atomic_store(&r->ready, 0);
  atomic_store(&r->reads, 0);
  atomic_store(&r->cpu_ns, 0);
  atomic_store(&r->errors, 0);
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, reader, r);
  while (atomic_load(&r->ready) < threads) usleep(1000);
  int64_t w0 = clock_ns(CLOCK_MONOTONIC);
  atomic_store_explicit(&r->go, 1, memory_order_release);
  struct timespec d = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
  nanosleep(&d, NULL);
  atomic_store(&r->stop, 1);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  int64_t wall = clock_ns(CLOCK_MONOTONIC) - w0;
  free(t);
  uint64_t reads = atomic_load(&r->reads);
  if (reads == 0 || atomic_load(&r->errors) != 0) return -1;
  *mreads_per_s = (double)reads / ((double)wall / 1e9) / 1e6;
  return (double)atomic_load(&r->cpu_ns) / (double)reads;
}

int main(int argc, char **argv) {
  double seconds = 0.3;
  int max_threads = 64;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--max-threads") && i + 1 < argc) max_threads = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: %s [--seconds S per cell (0.3)] [--max-threads N (64)]\n", argv[0]);
      return 2;
    }
  }
  static const size_t sizes[] = {64, 4096, 1 << 20};
  static const char *const size_name[] = {"64 B", "4 KiB", "1 MiB"};
  enum { NSIZES = 3, MAXROWS = 8 };
  double ns[NSIZES][NMODES][MAXROWS], mrps[NSIZES][NMODES][MAXROWS];
  uint64_t published[NSIZES] = {0};
  int counts[MAXROWS], rows = 0;
  for (int t = 1; t <= max_threads && rows < MAXROWS; t *= 2) counts[rows++] = t;

  for (int z = 0; z < NSIZES; z++) {
    char name[64];
    snprintf(name, sizeof name, "viewbench-%d-%zu", (int)getpid(), sizes[z]);
    struct shmbus_pub_opts o;
    shmbus_pub_opts_init(&o);
    o.capacity = sizes[z];
    struct writer w = {.len = sizes[z], .period_ns = sizes[z] > 65536 ? 10000000 : 1000000};
    int rc = shmbus_pub_open(name, &o, &w.pub);
    if (rc < 0) {
      fprintf(stderr, "view_bench: cannot create bus %s: %s\n", name, shmbus_strerror(rc));
      return 1;
    }
    pthread_t wt;
    pthread_create(&wt, NULL, write_loop, &w);
    struct run r = {.bus = name, .len = sizes[z]};
    rc = shmbus_view_open(name, NULL, &r.view);
    if (rc < 0) {
      fprintf(stderr, "view_bench: cannot open a view: %s\n", shmbus_strerror(rc));
      return 1;
    }
    while (shmbus_view_seq(r.view) == 0) usleep(1000);
    for (int m = 0; m < NMODES; m++) {
      r.mode = (enum mode)m;
      for (int k = 0; k < rows; k++) {
        ns[z][m][k] = cell(&r, counts[k], seconds, &mrps[z][m][k]);
        fprintf(stderr, "%s %s %d threads: %.1f ns/read, %.2f M reads/s\n", size_name[z],
                mode_name[m], counts[k], ns[z][m][k], mrps[z][m][k]);
      }
    }
    struct shmbus_view_stats st;
    shmbus_view_stats(r.view, &st);
    published[z] = st.published;
    shmbus_view_close(r.view);
    atomic_store(&w.stop, 1);
    pthread_join(wt, NULL);
    shmbus_pub_close(w.pub);
    shmbus_unlink(name, 1);
  }

  for (int table = 0; table < 2; table++) {
    printf(table == 0 ? "Per-read cost, ns (all reader threads' CPU time / reads):\n\n"
                      : "\nAll threads together, million reads per second (wall clock):\n\n");
    printf("| threads |");
    for (int z = 0; z < NSIZES; z++)
      for (int m = 0; m < NMODES; m++) printf(" %s %s |", size_name[z], mode_name[m]);
    printf("\n|---:|");
    for (int z = 0; z < NSIZES * NMODES; z++) printf("---:|");
    printf("\n");
    for (int k = 0; k < rows; k++) {
      printf("| %d |", counts[k]);
      for (int z = 0; z < NSIZES; z++)
        for (int m = 0; m < NMODES; m++) {
          double x = table == 0 ? ns[z][m][k] : mrps[z][m][k];
          if (ns[z][m][k] < 0) printf(" error |");
          else if (x < 10) printf(" %.2f |", x);
          else if (x < 100) printf(" %.1f |", x);
          else printf(" %.0f |", x);
        }
      printf("\n");
    }
  }
  printf("\nSnapshots the view published per size: %llu, %llu, %llu (writer at 1 kHz, 1 kHz, "
         "100 Hz; %.1f s per cell).\n",
         (unsigned long long)published[0], (unsigned long long)published[1],
         (unsigned long long)published[2], seconds);
  return 0;
}
