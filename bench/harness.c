/* harness.c - the one-way latency harness: fork readers, pin, stamp, acknowledge; see harness.h. */
#include "bench/harness.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct bench_cpus bench_cpus;

const char *bench_mode_name(int mode) {
  switch (mode) {
    case BENCH_SPIN: return "spin";
    case BENCH_SLEEP: return "sleep";
    case BENCH_HYBRID: return "spin-then-sleep";
    default: return "?";
  }
}

void bench_cpus_init(int pin) {
  cpu_set_t set;
  int i;
  bench_cpus.pin = pin;
  bench_cpus.n = 0;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (i = 0; i < CPU_SETSIZE && bench_cpus.n < 256; i++)
      if (CPU_ISSET(i, &set)) bench_cpus.cpus[bench_cpus.n++] = i;
  if (bench_cpus.n == 0) {
    bench_cpus.n = 1;
    bench_cpus.cpus[0] = 0;
    bench_cpus.pin = 0;
  }
}

int bench_free_cores(void) { return bench_cpus.n > 1 ? bench_cpus.n - 1 : 0; }

static void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)sched_setaffinity(0, sizeof set, &set); /* best effort: a refusal only adds noise */
}

void bench_pin_writer(void) {
  if (bench_cpus.pin) pin_to(bench_cpus.cpus[0]);
}

void bench_pin_reader(int idx) {
  if (!bench_cpus.pin) return;
  pin_to(bench_cpus.n > 1 ? bench_cpus.cpus[1 + idx % (bench_cpus.n - 1)] : bench_cpus.cpus[0]);
}

void bench_spin_until(int64_t t) {
  while (bench_now() < t) bench_relax();
}

static size_t ctl_size(int readers) {
  return sizeof(struct bench_ctl) + (size_t)readers * sizeof(struct hist);
}

struct bench_ctl *bench_ctl_new(int readers) {
  struct bench_ctl *ctl =
      mmap(NULL, ctl_size(readers), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  int i;
  if (ctl == MAP_FAILED) return NULL;
  hist_reset(&ctl->rtt2);
  for (i = 0; i < readers; i++) hist_reset(&ctl->h[i]);
  return ctl;
}

void bench_ctl_free(struct bench_ctl *ctl, int readers) {
  if (ctl) munmap(ctl, ctl_size(readers));
}

void bench_futex_wait(_Atomic uint32_t *w, uint32_t seen, int64_t timeout_ns) {
  struct timespec ts = {timeout_ns / 1000000000LL, timeout_ns % 1000000000LL};
  syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, seen, &ts, NULL, 0);
}

void bench_futex_wake(_Atomic uint32_t *w, int n) {
  syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, n, NULL, NULL, 0);
}

void bench_fail(struct bench_ctl *ctl, const char *fmt, ...) {
  char msg[sizeof ctl->err];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ctl->err[0] == 0) snprintf(ctl->err, sizeof ctl->err, "%s", msg);
  _exit(1);
}

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

/* The reader process: open, then for every record: receive, stamp, check, acknowledge. */
static void __attribute__((noreturn))
reader_main(const struct transport *t, void *st, const struct lat_cfg *c, struct bench_ctl *ctl,
            int idx) {
  long i, total = c->warmup + c->publishes;
  unsigned char *buf;
  int rc;
  bench_pin_reader(idx);
  alarm((unsigned)(c->timeout_ns / 1000000000LL) + 10); /* never outlive a dead writer */
  buf = aligned_alloc(64, round64(c->size));
  if (buf == NULL) bench_fail(ctl, "%s reader: out of memory", t->name);
  memset(buf, 0, round64(c->size));
  rc = t->reader_open(st, idx, c);
  if (rc < 0) bench_fail(ctl, "%s reader: cannot open its end: %s", t->name, strerror(-rc));
  atomic_fetch_add(&ctl->ready, 1);
  for (i = 0; i < total; i++) {
    int64_t t0, t1;
    uint32_t n, target = (uint32_t)((i + 1) * c->readers);
    rc = t->recv(st, idx, buf, c->size, c->mode);
    t1 = bench_now();
    if (rc < 0) bench_fail(ctl, "%s reader: receive failed: %s", t->name, strerror(-rc));
    memcpy(&t0, buf, 8);
    if (c->size >= 16) { /* the writer numbers its records: catch a lost or repeated one */
      int64_t seq;
      memcpy(&seq, buf + 8, 8);
      if (seq != i)
        bench_fail(ctl, "%s reader: got record %lld, expected %ld", t->name, (long long)seq, i);
    }
    if (i >= c->warmup) hist_add(&ctl->h[idx], (uint64_t)(t1 - t0));
    /* seq_cst RMW then seq_cst load: Dekker with the writer's waiting store + acks load. */
    n = atomic_fetch_add(&ctl->acks, 1) + 1;
    if (n == target && atomic_load(&ctl->writer_waiting)) bench_futex_wake(&ctl->acks, 1);
  }
  if (t->reader_close) t->reader_close(st, idx);
  _exit(0);
}

int bench_reader_died(pid_t *pids, int n) {
  int i, status;
  for (i = 0; i < n; i++)
    if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
      pids[i] = -pids[i]; /* reaped */
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    }
  return 0;
}

int bench_wait_acks(struct bench_ctl *ctl, uint32_t target, int spin, int64_t deadline, pid_t *pids,
                    int n) {
  int64_t check = 0;
  unsigned k = 0;
  if (spin) {
    while (atomic_load_explicit(&ctl->acks, memory_order_acquire) < target) {
      bench_relax();
      if ((++k & 4095) == 0) {
        int64_t now = bench_now();
        if (now > deadline) return -ETIMEDOUT;
        if (now > check) {
          if (bench_reader_died(pids, n)) return -ECHILD;
          check = now + 10000000;
        }
      }
    }
    return 0;
  }
  atomic_store(&ctl->writer_waiting, 1); /* seq_cst: see reader_main */
  for (;;) {
    uint32_t a = atomic_load(&ctl->acks);
    if (a >= target) break;
    bench_futex_wait(&ctl->acks, a, 10000000);
    if (atomic_load(&ctl->acks) >= target) break;
    if (bench_now() > check) {
      if (bench_now() > deadline) return -ETIMEDOUT;
      if (bench_reader_died(pids, n)) return -ECHILD;
      check = bench_now() + 10000000;
    }
  }
  atomic_store_explicit(&ctl->writer_waiting, 0, memory_order_relaxed);
  return 0;
}

/* Ready or dead: wait for every reader to open its end. */
static int wait_ready(struct bench_ctl *ctl, int readers, int64_t deadline, pid_t *pids) {
  while ((int)atomic_load(&ctl->ready) < readers) {
    if (bench_now() > deadline) return -ETIMEDOUT;
    if (bench_reader_died(pids, readers)) return -ECHILD;
    usleep(200);
  }
  return 0;
}

int run_latency(const struct transport *t, const struct lat_cfg *c, struct hist *out,
                struct hist *rtt2, char *err, size_t errlen) {
  struct bench_ctl *ctl;
  pid_t pids[BENCH_MAX_READERS];
  unsigned char *buf = NULL;
  void *st = NULL;
  long i, total = c->warmup + c->publishes;
  int64_t deadline = bench_now() + c->timeout_ns;
  int rc, r, started = 0, status;

  err[0] = 0;
  if (c->readers < 1 || c->readers > t->max_readers || c->size < 8) return -EINVAL;
  ctl = bench_ctl_new(c->readers);
  if (ctl == NULL) return -ENOMEM;
  buf = aligned_alloc(64, round64(c->size));
  if (buf == NULL) {
    bench_ctl_free(ctl, c->readers);
    return -ENOMEM;
  }
  for (i = 0; i < (long)c->size; i++) buf[i] = (unsigned char)(i * 7 + 1);
  rc = t->setup(&st, c, ctl);
  if (rc < 0) {
    snprintf(err, errlen, "%s: setup failed: %s", t->name, strerror(-rc));
    free(buf);
    bench_ctl_free(ctl, c->readers);
    return rc;
  }
  fflush(NULL);
  for (r = 0; r < c->readers; r++) {
    pids[r] = fork();
    if (pids[r] == 0) reader_main(t, st, c, ctl, r);
    if (pids[r] < 0) {
      rc = -errno;
      snprintf(err, errlen, "%s: fork failed: %s", t->name, strerror(errno));
      goto out;
    }
    started++;
  }
  bench_pin_writer();
  rc = t->writer_open(st, c);
  if (rc < 0) {
    snprintf(err, errlen, "%s: writer cannot open its end: %s", t->name, strerror(-rc));
    goto out;
  }
  rc = wait_ready(ctl, c->readers, deadline, pids);
  if (rc == 0 && t->writer_sync) rc = t->writer_sync(st, ctl, c->readers);
  for (i = 0; rc == 0 && i < total; i++) {
    int64_t t0, t1;
    if (c->gap_ns > 0) bench_spin_until(bench_now() + c->gap_ns);
    t0 = bench_now();
    memcpy(buf, &t0, 8);
    if (c->size >= 16) memcpy(buf + 8, &i, 8);
    rc = t->send(st, buf, c->size);
    if (rc < 0) {
      snprintf(err, errlen, "%s: send failed: %s", t->name, strerror(-rc));
      break;
    }
    rc = bench_wait_acks(ctl, (uint32_t)((i + 1) * c->readers), c->mode == BENCH_SPIN, deadline,
                         pids, c->readers);
    t1 = bench_now();
    if (rc == 0 && i >= c->warmup && c->readers == 1) hist_add(&ctl->rtt2, (uint64_t)(t1 - t0) / 2);
  }
  if (rc == -ETIMEDOUT && !err[0])
    snprintf(err, errlen, "%s: no progress before the run's deadline (%lld s); a reader is stuck",
             t->name, (long long)(c->timeout_ns / 1000000000LL));
out:
  for (r = 0; r < started; r++) {
    if (pids[r] < 0) continue;
    if (rc < 0) kill(pids[r], SIGKILL); /* only the readers this run forked */
    if (waitpid(pids[r], &status, 0) == pids[r] && (!WIFEXITED(status) || WEXITSTATUS(status)))
      if (rc == 0) rc = -ECHILD;
  }
  if (rc == -ECHILD && (!err[0] || ctl->err[0]))
    snprintf(err, errlen, "%s", ctl->err[0] ? ctl->err : "a reader died; see its messages above");
  if (rc == 0) {
    hist_reset(out);
    for (r = 0; r < c->readers; r++) hist_merge(out, &ctl->h[r]);
    if (rtt2) *rtt2 = ctl->rtt2;
  }
  t->teardown(st);
  free(buf);
  bench_ctl_free(ctl, c->readers);
  return rc;
}
