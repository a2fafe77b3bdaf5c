/* fastpath.c - where the 64 B spin latency and the writer's cost go (issue 17, the small-record
 * fast path): the seqlock of shmbus re-enacted on a private shared mapping, in layouts that
 * differ only in which cache lines each side touches, side by side in one run, plus the cost of
 * each timestamp source. Not the library: a model of its memory accesses, so that a layout can
 * be measured before it is built. bench/README.md, "Small-record fast path" and "Writer cost
 * with a spinning reader", has the results. Also: what membarrier(2) would cost a sleeper, were
 * the writer to drop its full fence.
 *
 *   bazel build --config=opt //bench:fastpath && bazel-bin/bench/fastpath [rounds]
 *
 * Two processes, writer on CPU 0, reader on CPU 1. Latency: one-way, CLOCK_MONOTONIC stamped by
 * the writer in the record's first 8 bytes just before the publish starts, read by the reader
 * once its seqlock check has passed; the reader acknowledges on its own line and the writer
 * waits for it, then 2 us, before the next record (as bench/shmbus_lat.c's spin rows). Every
 * variant runs one block of 200 records in turn, round robin, so the host's moods hit all alike.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#else /* the model's loops only; the TSC rows read 0 */
#define _mm_pause() ((void)0)
#define __rdtsc() 0ull
#define __rdtscp(a) ((void)(a), 0ull)
#endif

#define LINE 64
#define SLOTS 16
#define SIZE 64 /* payload bytes */

static int64_t now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A slot: seq, version, length, timestamp, then the payload at @hdr bytes. */
struct shm {
  _Atomic uint64_t floor_seq; /* the spin floor: one line, seq + stamp */
  _Atomic uint64_t floor_stamp;
  unsigned char pad0[LINE - 16];
  _Atomic uint64_t latest; /* own line, as the header's offset 128 */
  unsigned char pad1[LINE - 8];
  _Atomic uint64_t ack; /* reader -> writer */
  unsigned char pad2[LINE - 8];
  _Atomic uint64_t go; /* variant to run, reader's cursor reset */
  _Atomic uint64_t done;
  unsigned char pad3[LINE - 16];
  _Atomic uint64_t slots[SLOTS * 256 / 8] __attribute__((aligned(64)));
};

struct variant {
  const char *name;
  int hdr;          /* slot header bytes (payload offset) */
  int spin_slot;    /* 1: the reader spins on the expected slot's seq; 0: on latest */
  int store_latest; /* the writer stores latest: 1 seq_cst (a full fence: the library), 2 release
                     * (no fence: what sleepers calling membarrier(2) would allow) */
  int prefetch;     /* the writer asks for the slot's lines for writing before it stores */
  int clock;        /* the writer reads CLOCK_REALTIME for the slot's timestamp: 1 between the
                     * payload and the even seq (the library until 2026-12-01), 2 before the
                     * odd seq */
  int entry_latest; /* the reader loads `latest` once per record before it spins (the
                     * library's shmbus_sub_wait() entry until 2026-12-01) */
};

static const struct variant V[] = {
    {.name = "floor (1 line)"},
    {.name = "latest + 64 B hdr + payload", .hdr = 64, .store_latest = 1},
    {.name = "latest + 32 B hdr (payload at 32)", .hdr = 32, .store_latest = 1},
    {.name = "next: spin on slot, 64 B hdr", .hdr = 64, .spin_slot = 1, .store_latest = 1},
    {.name = "next: spin on slot, 32 B hdr", .hdr = 32, .spin_slot = 1, .store_latest = 1},
    {.name = "spin on latest, also load the slot", .hdr = 64, .spin_slot = 2, .store_latest = 1},
    {.name = "next, 64 B hdr, prefetchw",
     .hdr = 64,
     .spin_slot = 1,
     .store_latest = 1,
     .prefetch = 1},
    {.name = "next, 64 B hdr, no full fence", .hdr = 64, .spin_slot = 1, .store_latest = 2},
    {.name = "next, 64 B hdr, clock in the odd window (the library)",
     .hdr = 64,
     .spin_slot = 1,
     .store_latest = 1,
     .clock = 1},
    {.name = "next, 64 B hdr, clock before the odd seq",
     .hdr = 64,
     .spin_slot = 1,
     .store_latest = 1,
     .clock = 2},
    {.name = "next, 64 B hdr, clock in the window, `latest` per record",
     .hdr = 64,
     .spin_slot = 1,
     .store_latest = 1,
     .clock = 1,
     .entry_latest = 1},
};
#define NV (int)(sizeof V / sizeof V[0])

static _Atomic uint64_t *slot_of(struct shm *m, uint64_t v) {
  return m->slots + (v % SLOTS) * (256 / 8);
}

/* Ask for both lines of the slot in the exclusive state before storing (PREFETCHW; a NOP on
 * x86 CPUs without it), so that the two transfers overlap the stores instead of preceding them. */
static void prefetchw(const void *a, const void *b) {
#if defined(__x86_64__)
  __asm__ volatile("prefetchw %0" ::"m"(*(const char *)a));
  __asm__ volatile("prefetchw %0" ::"m"(*(const char *)b));
#else
  __builtin_prefetch(a, 1);
  __builtin_prefetch(b, 1);
#endif
}

/* The writer's publish of version @v, as core/publisher.c. */
static void publish(struct shm *m, const struct variant *x, uint64_t v, const uint64_t *pay) {
  _Atomic uint64_t *s, *p;
  int i;
  if (x->hdr == 0) {
    atomic_store_explicit(&m->floor_stamp, pay[0], memory_order_relaxed);
    atomic_store_explicit(&m->floor_seq, v, memory_order_release);
    return;
  }
  uint64_t t = v;
  s = slot_of(m, v);
  p = s + x->hdr / 8;
  if (x->prefetch) prefetchw(s, p);
  if (x->clock == 2) t = (uint64_t)now_ns(CLOCK_REALTIME);
  atomic_store_explicit(&s[0], 2 * v - 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  atomic_store_explicit(&s[1], v, memory_order_relaxed);
  for (i = 0; i < SIZE / 8; i++) atomic_store_explicit(&p[i], pay[i], memory_order_relaxed);
  if (x->clock == 1) t = (uint64_t)now_ns(CLOCK_REALTIME);
  atomic_store_explicit(&s[2], SIZE, memory_order_relaxed);
  atomic_store_explicit(&s[3], t, memory_order_relaxed);
  atomic_store_explicit(&s[0], 2 * v, memory_order_release);
  if (x->store_latest == 1) atomic_store_explicit(&m->latest, v, memory_order_seq_cst);
  else if (x->store_latest == 2) atomic_store_explicit(&m->latest, v, memory_order_release);
}

/* The reader's wait for version @c and its seqlock read; returns the stamp. */
static uint64_t receive(struct shm *m, const struct variant *x, uint64_t c, uint64_t *out) {
  _Atomic uint64_t *s, *p;
  uint64_t s1, n;
  int i;
  if (x->hdr == 0) {
    while (atomic_load_explicit(&m->floor_seq, memory_order_acquire) < c) _mm_pause();
    return atomic_load_explicit(&m->floor_stamp, memory_order_relaxed);
  }
  s = slot_of(m, c);
  p = s + x->hdr / 8;
  if (x->entry_latest) (void)atomic_load_explicit(&m->latest, memory_order_acquire);
  for (;;) {
    if (x->spin_slot == 2) {
      /* both lines in every round: the slot's transfer overlaps the one of latest */
      while (atomic_load_explicit(&m->latest, memory_order_acquire) < c) {
        (void)atomic_load_explicit(&s[0], memory_order_relaxed);
        (void)atomic_load_explicit(&p[0], memory_order_relaxed);
        _mm_pause();
      }
    } else if (x->spin_slot) {
      while (atomic_load_explicit(&s[0], memory_order_acquire) != 2 * c) _mm_pause();
    } else {
      while (atomic_load_explicit(&m->latest, memory_order_acquire) < c) _mm_pause();
    }
    s1 = atomic_load_explicit(&s[0], memory_order_acquire);
    if (s1 != 2 * c) continue;
    n = atomic_load_explicit(&s[2], memory_order_relaxed);
    (void)atomic_load_explicit(&s[3], memory_order_relaxed);
    for (i = 0; i < (int)(n / 8) && i < SIZE / 8; i++)
      out[i] = atomic_load_explicit(&p[i], memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&s[0], memory_order_relaxed) == s1) return out[0];
  }
}

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

static int cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

#define BLOCK 200

/* Latency: round robin over the variants, BLOCK records each, @rounds rounds. The reader
 * writes its one-way latencies to @lat[variant][i]. */
static void latency(struct shm *m, int rounds, int64_t *lat) {
  pid_t pid = fork();
  int r, k, i;
  uint64_t pay[SIZE / 8] = {0};
  if (pid == 0) {
    uint64_t out[SIZE / 8];
    pin(1);
    for (r = 0; r < rounds; r++)
      for (k = 0; k < NV; k++) {
        uint64_t base;
        while ((base = atomic_load_explicit(&m->go, memory_order_acquire)) == 0) _mm_pause();
        for (i = 0; i < BLOCK; i++) {
          uint64_t t = receive(m, &V[k], base + (uint64_t)i, out);
          int64_t d = now_ns(CLOCK_MONOTONIC) - (int64_t)t;
          lat[(size_t)k * rounds * BLOCK + (size_t)r * BLOCK + i] = d;
          atomic_store_explicit(&m->ack, base + (uint64_t)i, memory_order_release);
        }
        atomic_store_explicit(&m->go, 0, memory_order_release);
      }
    _exit(0);
  }
  pin(0);
  {
    uint64_t v = 0, fv = 0;
    for (r = 0; r < rounds; r++)
      for (k = 0; k < NV; k++) {
        uint64_t base = (V[k].hdr == 0 ? fv : v) + 1;
        while (atomic_load_explicit(&m->go, memory_order_acquire) != 0) _mm_pause();
        atomic_store_explicit(&m->go, base, memory_order_release);
        for (i = 0; i < BLOCK; i++) {
          int64_t t0 = now_ns(CLOCK_MONOTONIC) + 2000;
          while (now_ns(CLOCK_MONOTONIC) < t0) _mm_pause();
          pay[0] = (uint64_t)now_ns(CLOCK_MONOTONIC);
          publish(m, &V[k], base + (uint64_t)i, pay);
          while (atomic_load_explicit(&m->ack, memory_order_acquire) != base + (uint64_t)i)
            _mm_pause();
        }
        if (V[k].hdr == 0) fv = base + BLOCK - 1;
        else v = base + BLOCK - 1;
        atomic_store_explicit(&m->latest, v, memory_order_seq_cst);
      }
  }
  waitpid(pid, NULL, 0);
}

/* Writer cost: 32 publishes back to back per sample, with 0 or 1 reader spinning (the reader
 * follows as a shmbus spin reader does: waits for its cursor, reads, skips ahead when lapped). */
static void writer_cost(struct shm *m, int k, int reader, int batches, int64_t *per,
                        double *copied) {
  pid_t pid = -1;
  uint64_t pay[SIZE / 8] = {0}, v = atomic_load(&m->latest);
  int b, i;
  atomic_store(&m->done, 0);
  atomic_store(&m->ack, 0);
  if (reader) {
    pid = fork();
    if (pid == 0) {
      uint64_t out[SIZE / 8], c = v + 1, got = 0;
      pin(1);
      atomic_store_explicit(&m->ack, 1, memory_order_release);
      unsigned rounds = 0;
      while (!atomic_load_explicit(&m->done, memory_order_relaxed)) {
        _Atomic uint64_t *s;
        uint64_t s1;
        if (V[k].spin_slot == 1) {
          /* as core/wait.c: the expected slot every round, `latest` once in 64 (laps) */
          if (++rounds % 64 == 0) {
            uint64_t l = atomic_load_explicit(&m->latest, memory_order_acquire);
            if (l >= c + SLOTS - 1) c = l;
          }
        } else {
          uint64_t l = atomic_load_explicit(&m->latest, memory_order_acquire);
          if (l < c) {
            _mm_pause();
            continue;
          }
          if (l >= c + SLOTS - 1) c = l;
        }
        s = slot_of(m, c);
        s1 = atomic_load_explicit(&s[0], memory_order_acquire);
        if (s1 == 2 * c) {
          int j;
          for (j = 0; j < SIZE / 8; j++)
            out[j] = atomic_load_explicit(&s[V[k].hdr / 8 + j], memory_order_relaxed);
          atomic_thread_fence(memory_order_acquire);
          if (atomic_load_explicit(&s[0], memory_order_relaxed) == s1) {
            c++;
            got++;
            if (V[k].entry_latest) (void)atomic_load_explicit(&m->latest, memory_order_acquire);
          }
        } else if (s1 > 2 * c) {
          c++;
        } else {
          _mm_pause();
        }
        (void)out;
      }
      atomic_store(&m->ack, got);
      _exit(0);
    }
    while (atomic_load_explicit(&m->ack, memory_order_acquire) != 1) _mm_pause();
  }
  for (b = 0; b < batches; b++) {
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    for (i = 0; i < 32; i++) publish(m, &V[k], ++v, pay);
    per[b] = (now_ns(CLOCK_MONOTONIC) - t0) / 32;
  }
  atomic_store(&m->done, 1);
  if (pid > 0) waitpid(pid, NULL, 0);
  if (pid > 0) *copied += (double)atomic_load(&m->ack) / (32.0 * batches);
}

static int64_t pct(int64_t *a, size_t n, double p);

/* The cost of each timestamp source: batches of 1,000 calls, the median and the best batch
 * (a loaded machine preempts some batches; the best is the cost itself), round robin. */
static void clocks(void) {
  static const struct {
    const char *name;
    int kind;
    clockid_t c;
  } C[] = {{"CLOCK_REALTIME (vDSO)", 0, CLOCK_REALTIME},
           {"CLOCK_REALTIME_COARSE", 0, CLOCK_REALTIME_COARSE},
           {"CLOCK_MONOTONIC", 0, CLOCK_MONOTONIC},
           {"rdtsc", 1, 0},
           {"rdtscp", 2, 0}};
  enum { N = 1000, B = 2000, NC = 5 };
  static int64_t d[NC][B];
  int j, b, i;
  volatile uint64_t sink = 0;
  for (b = 0; b < B; b++)
    for (j = 0; j < NC; j++) {
      int64_t t0 = now_ns(CLOCK_MONOTONIC);
      unsigned aux;
      for (i = 0; i < N; i++) {
        if (C[j].kind == 0) {
          struct timespec ts;
          clock_gettime(C[j].c, &ts);
          sink += (uint64_t)ts.tv_nsec;
        } else if (C[j].kind == 1) {
          sink += __rdtsc();
        } else {
          sink += __rdtscp(&aux);
        }
      }
      d[j][b] = (now_ns(CLOCK_MONOTONIC) - t0) * 10 / N;
    }
  printf("\n| clock read | ns per call, median batch | best batch |\n|---|---:|---:|\n");
  for (j = 0; j < NC; j++) {
    int64_t med = pct(d[j], B, 0.5), best = d[j][0];
    printf("| %s | %lld.%lld | %lld.%lld |\n", C[j].name, (long long)med / 10, (long long)med % 10,
           (long long)best / 10, (long long)best % 10);
  }
}

static long membarrier(int cmd) { return syscall(SYS_membarrier, cmd, 0, 0); }

/* What the fence-less writer would cost its sleepers: each sleeper would call
 * membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) once per sleep (an IPI to every CPU that runs a
 * registered process: here the writer, spinning on CPU 0). Medians of 2,000 calls from CPU 1,
 * and what the writer's back-to-back publishes cost while a sleeper calls it in a loop. */
static void membarrier_cost(struct shm *m) {
  enum { N = 2000 };
  static int64_t d[N];
  pid_t pid;
  int i;
  if (membarrier(MEMBARRIER_CMD_QUERY) < 0 ||
      !(membarrier(MEMBARRIER_CMD_QUERY) & MEMBARRIER_CMD_GLOBAL_EXPEDITED)) {
    printf("\nmembarrier(GLOBAL_EXPEDITED): not supported here\n");
    return;
  }
  atomic_store(&m->done, 0);
  atomic_store(&m->ack, 0);
  pid = fork();
  if (pid == 0) { /* the writer: registered, publishing back to back */
    uint64_t pay[SIZE / 8] = {0}, v = atomic_load(&m->latest), n = 0;
    int64_t t0;
    pin(0);
    if (membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) < 0) _exit(1);
    atomic_store_explicit(&m->ack, 1, memory_order_release);
    while (atomic_load_explicit(&m->go, memory_order_acquire) == 0) _mm_pause();
    t0 = now_ns(CLOCK_MONOTONIC);
    while (!atomic_load_explicit(&m->done, memory_order_relaxed)) {
      publish(m, &V[NV - 1], ++v, pay);
      n++;
    }
    atomic_store(&m->ack, (uint64_t)((now_ns(CLOCK_MONOTONIC) - t0) * 10 / (int64_t)n));
    _exit(0);
  }
  pin(1);
  while (atomic_load_explicit(&m->ack, memory_order_acquire) != 1) _mm_pause();
  atomic_store_explicit(&m->go, 1, memory_order_release);
  for (i = 0; i < N; i++) {
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED);
    d[i] = now_ns(CLOCK_MONOTONIC) - t0;
  }
  atomic_store(&m->done, 1);
  waitpid(pid, NULL, 0);
  atomic_store(&m->go, 0);
  printf("\nmembarrier(GLOBAL_EXPEDITED) from CPU 1, writer registered on CPU 0: p50 %lld ns, "
         "p90 %lld ns; the writer meanwhile: %llu.%llu ns per publish (no full fence)\n",
         (long long)pct(d, N, 0.5), (long long)pct(d, N, 0.9),
         (unsigned long long)atomic_load(&m->ack) / 10,
         (unsigned long long)atomic_load(&m->ack) % 10);
}

static int64_t pct(int64_t *a, size_t n, double p) {
  qsort(a, n, sizeof *a, cmp);
  return a[(size_t)(p * (double)(n - 1))];
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 50, k, r;
  size_t per = (size_t)rounds * BLOCK;
  struct shm *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  int64_t *lat = mmap(NULL, sizeof(int64_t) * per * NV, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  int64_t floor50;
  if (m == MAP_FAILED || lat == MAP_FAILED) return 1;
  latency(m, rounds, lat);
  printf("| 64 B, reader spinning | records | p50 ns | p90 ns | p99 ns | p50 / floor |\n"
         "|---|---:|---:|---:|---:|---:|\n");
  floor50 = pct(lat, per, 0.5);
  for (k = 0; k < NV; k++) {
    int64_t *a = lat + (size_t)k * per;
    int64_t p50 = pct(a, per, 0.5);
    printf("| %s | %zu | %lld | %lld | %lld | %.2fx |\n", V[k].name, per, (long long)p50,
           (long long)pct(a, per, 0.9), (long long)pct(a, per, 0.99),
           (double)p50 / (double)floor50);
  }
  printf("\n| writer, 64 B back to back | p50 ns/publish, 0 readers | 1 spinning reader | ratio | "
         "records copied |\n"
         "|---|---:|---:|---:|---:|\n");
  for (k = 1; k < NV; k++) {
    enum { B = 20000 };
    static int64_t a0[B], a1[B];
    int64_t c0 = 0, c1 = 0;
    double copied = 0;
    for (r = 0; r < 3; r++) { /* interleave: 0, 1, 0, 1, ... */
      writer_cost(m, k, 0, B, a0, &copied);
      c0 += pct(a0, B, 0.5);
      writer_cost(m, k, 1, B, a1, &copied);
      c1 += pct(a1, B, 0.5);
    }
    printf("| %s | %lld | %lld | %.2fx | %.0f%% |\n", V[k].name, (long long)c0 / 3,
           (long long)c1 / 3, (double)c1 / (double)c0, 100.0 * copied / 3);
  }
  membarrier_cost(m);
  clocks();
  return 0;
}
