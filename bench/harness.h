/* harness.h - the one-way latency harness shared by every transport (benchmarks only).
 *
 * How a sample is taken, the same for shmbus, the floors and the peers:
 *   writer: t0 = CLOCK_MONOTONIC; store t0 in the first 8 bytes of the record; send it.
 *   reader: block/spin until the whole record is in its own buffer; t1 = CLOCK_MONOTONIC;
 *           sample = t1 - (the t0 it copied out).
 * Then every reader acknowledges through a shared counter and the writer waits for all of them
 * (spinning in spin mode, asleep on a futex otherwise) and for a gap before the next record, so
 * each sample is one isolated delivery. The writer also records (ack seen - t0) / 2, the
 * round-trip-over-two figure the ping-pong literature quotes.
 *
 * Writer and readers are separate processes (fork); the writer is pinned to the first CPU this
 * process may use, the readers round-robin to the others (see struct bench_cpus).
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "bench/hist.h"
#include "core/clock.h"

#define BENCH_MAX_READERS 64

enum bench_mode { BENCH_SPIN = 0, BENCH_SLEEP = 1, BENCH_HYBRID = 2 };
const char *bench_mode_name(int mode);

/* Shared between the writer and its readers (MAP_SHARED | MAP_ANONYMOUS before fork). */
struct bench_ctl {
  _Atomic uint32_t acks;           /* cumulative acknowledgements; the writer's futex word */
  _Atomic uint32_t writer_waiting; /* 1 while the writer may sleep on acks */
  _Atomic uint32_t ready;          /* readers that opened their end */
  _Atomic uint32_t synced;         /* readers that saw a transport's hello (ZeroMQ) */
  _Atomic uint32_t stop;           /* throughput runs: readers stop */
  _Atomic uint64_t received[BENCH_MAX_READERS]; /* throughput runs: records per reader */
  char err[256];                                /* first reader error, as a sentence */
  struct hist rtt2;                             /* writer: (ack - t0) / 2, 1 reader only */
  struct hist h[];                              /* one per reader */
};

struct lat_cfg {
  size_t size;        /* record size in bytes, >= 8 */
  int readers;        /* 1..BENCH_MAX_READERS */
  int mode;           /* enum bench_mode: how readers wait (transports that only block: SLEEP) */
  long warmup;        /* records sent first and not counted */
  long publishes;     /* records counted (each gives one sample per reader) */
  int64_t gap_ns;     /* writer idles this long between the last ack and the next record */
  int64_t timeout_ns; /* whole run; a stuck run is killed and reported */
};

/* A transport: the hooks a latency run calls. State is created by setup() in the parent
 * before fork, so both sides start from the same copy. Hooks return 0 or a negative errno. */
struct transport {
  const char *name;
  int max_readers;
  int (*setup)(void **st, const struct lat_cfg *c, struct bench_ctl *ctl);
  int (*reader_open)(void *st, int idx, const struct lat_cfg *c);   /* in the reader */
  int (*recv)(void *st, int idx, void *buf, size_t size, int mode); /* whole record */
  void (*reader_close)(void *st, int idx);
  int (*writer_open)(void *st, const struct lat_cfg *c);            /* after fork */
  int (*writer_sync)(void *st, struct bench_ctl *ctl, int readers); /* may be NULL */
  int (*send)(void *st, const void *buf, size_t size);
  void (*teardown)(void *st); /* parent, last */
};

/* CPU placement: the writer on cpus[0], readers round-robin on cpus[1..n-1] (or cpus[0] if
 * only one CPU is allowed). pin = 0 leaves placement to the scheduler. */
struct bench_cpus {
  int pin;
  int n;
  int cpus[256];
};
extern struct bench_cpus bench_cpus;
void bench_cpus_init(int pin);
int bench_free_cores(void); /* CPUs left for readers once the writer has one */
void bench_pin_writer(void);
void bench_pin_reader(int idx);

static inline int64_t bench_now(void) { return shmbus__now(CLOCK_MONOTONIC); }

static inline void bench_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* bench_spin_until() - busy-wait until CLOCK_MONOTONIC reaches @t. */
void bench_spin_until(int64_t t);

/* bench_ctl_new() - a shared control block with @readers histograms. NULL on failure. */
struct bench_ctl *bench_ctl_new(int readers);
void bench_ctl_free(struct bench_ctl *ctl, int readers);

/* bench_futex_wait()/wake() - thin wrappers; wait returns on wake, timeout or mismatch. */
void bench_futex_wait(_Atomic uint32_t *w, uint32_t seen, int64_t timeout_ns);
void bench_futex_wake(_Atomic uint32_t *w, int n);

/* run_latency() - one latency run of @t under @c. On success @out holds every reader's
 * samples merged and @rtt2 (may be NULL) the writer's round-trip/2 samples (1 reader only).
 * Return: 0; a negative errno, with a sentence in @err (@errlen bytes).
 */
int run_latency(const struct transport *t, const struct lat_cfg *c, struct hist *out,
                struct hist *rtt2, char *err, size_t errlen);

/* bench_reader_died() - 1 if one of the @n readers in @pids exited with an error or was killed
 * (it is reaped and its pid negated); one that exited 0 acknowledged its last record and merely
 * finished before its siblings. */
int bench_reader_died(pid_t *pids, int n);

/* bench_wait_acks() - wait until ctl->acks reaches @target, spinning (@spin) or asleep on the
 * acks futex (readers wake the writer when they reach the target, see reader_main()).
 * Return: 0; -ETIMEDOUT (@deadline passed); -ECHILD (a reader died). */
int bench_wait_acks(struct bench_ctl *ctl, uint32_t target, int spin, int64_t deadline, pid_t *pids,
                    int n);

/* bench_fail() - record a reader's error sentence (first one wins) and exit the reader. */
void bench_fail(struct bench_ctl *ctl, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

#endif /* BENCH_HARNESS_H */
