/* wait.c - a reader waits for a newer version: spin, futex sleep, or both; notices death and
 * replacement. The protocol is in docs/PROTOCOL.md, Wait/wake. */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>

#include "core/internal.h"

#ifdef SHMBUS_TESTING
long shmbus__futex_woken; /* FUTEX_WAITs ended by a wake, not a timeout: tests only */
#endif

static int have_new(const shmbus_sub *s) {
  return atomic_load_explicit(&s->h->latest, memory_order_acquire) >= s->cursor;
}

/* The slow checks, at most every SHMBUS__LIVENESS_NS: was the bus replaced or removed, is
 * its writer alive? Return: 0, -ESTALE or -EOWNERDEAD. */
static int slow_check(shmbus_sub *s, int through_death, int64_t now) {
  char path[SHMBUS__PATH_MAX];
  struct stat st;
  if (atomic_load_explicit(&s->h->flags, memory_order_acquire) & SHMBUS__FLAG_REPLACED)
    return -ESTALE;
  if (now - s->last_check_ns < SHMBUS__LIVENESS_NS) return 0;
  s->last_check_ns = now;
  if (shmbus__path(path, SHMBUS__PREFIX_BUS, s->name) == 0 &&
      (stat(path, &st) < 0 || st.st_ino != s->ino || st.st_dev != s->dev))
    return -ESTALE;
  if (!through_death && !shmbus__writer_alive(s->h)) return -EOWNERDEAD;
  return 0;
}

static int wait_impl(shmbus_sub *s, int64_t timeout_ns, int mode);

int shmbus_sub_wait(shmbus_sub *s, int64_t timeout_ns, int mode) {
  int rc = wait_impl(s, timeout_ns, mode);
  /* A reported death (or a timeout) is consumed: the pollable descriptor goes quiet. */
  if (s && s->pfd && rc != -EINVAL) shmbus__pollfd_seen(s, rc);
  return rc;
}

static int wait_impl(shmbus_sub *s, int64_t timeout_ns, int mode) {
  int through = (mode & SHMBUS_WAIT_THROUGH_DEATH) != 0, rc;
  int64_t start, now, deadline, spin_until;
  unsigned i;

  if (s == NULL || (mode & ~(SHMBUS_WAIT_MODE_MASK | SHMBUS_WAIT_THROUGH_DEATH)) ||
      (mode & SHMBUS_WAIT_MODE_MASK) == SHMBUS_WAIT_MODE_MASK)
    return -EINVAL;
  if (atomic_load_explicit(&s->h->flags, memory_order_acquire) & SHMBUS__FLAG_REPLACED)
    return -ESTALE; /* before have_new(): records of a replaced bus are not handed out */
  if (have_new(s)) return 0;
  if (!through && atomic_load_explicit(&s->h->writer_state, memory_order_acquire) !=
                      SHMBUS__WRITER_RUNNING)
    return -EOWNERDEAD; /* closed cleanly or never opened: no need to ask /proc */
  start = now = shmbus__now(CLOCK_MONOTONIC);
  deadline = timeout_ns < 0 ? INT64_MAX : start + timeout_ns;

  /* Spin phase: load latest with a pause in between; look at the clock every 64 rounds. */
  switch (mode & SHMBUS_WAIT_MODE_MASK) {
    case SHMBUS_WAIT_SPIN: spin_until = deadline; break;
    case SHMBUS_WAIT_HYBRID: spin_until = start + SHMBUS__HYBRID_SPIN_NS; break;
    default: spin_until = start; break;
  }
  while (now < spin_until) {
    for (i = 0; i < 64; i++) {
      if (have_new(s)) return 0;
      shmbus__cpu_relax();
    }
    now = shmbus__now(CLOCK_MONOTONIC);
    rc = slow_check(s, through, now);
    if (rc < 0) return rc;
  }
  if (now >= deadline) return have_new(s) ? 0 : -ETIMEDOUT;

  /* Sleep phase. */
  for (;;) {
    uint32_t seen;
    int64_t t;
    struct timespec ts;
    if (s->wake) {
      atomic_store_explicit(&s->wake->flag, 1, memory_order_relaxed);
      /* Dekker with the writer's seq_cst increment of `futex` and seq_cst flag load
       * (publisher.c, finish()): either the writer's flag load follows this fence in the
       * single order S and sees our flag, or the increment precedes it, and our acquire
       * load of `futex` below reads it (or later) and so sees the new `latest`. Then
       * FUTEX_WAIT compares `futex` with `seen` in the kernel: a wake between our check and
       * our sleep changes `futex` first, and the wait returns at once (EAGAIN). */
      atomic_thread_fence(memory_order_seq_cst);
    }
    seen = atomic_load_explicit(&s->h->futex, memory_order_acquire);
    if (have_new(s)) return 0;
    now = shmbus__now(CLOCK_MONOTONIC);
    rc = slow_check(s, through, now);
    if (rc < 0) return rc;
    if (!through && atomic_load_explicit(&s->h->writer_state, memory_order_acquire) !=
                        SHMBUS__WRITER_RUNNING)
      return -EOWNERDEAD;
    if (now >= deadline) return -ETIMEDOUT;
    t = deadline - now < SHMBUS__TICK_NS ? deadline - now : SHMBUS__TICK_NS;
    ts.tv_sec = t / 1000000000LL;
    ts.tv_nsec = t % 1000000000LL;
    /* EINTR, EAGAIN (the word moved), ETIMEDOUT (a tick) and spurious wakes: loop, re-check. */
#ifdef SHMBUS_TESTING
    if (syscall(SYS_futex, (uint32_t *)&s->h->futex, FUTEX_WAIT, seen, &ts, NULL, 0) == 0)
      shmbus__futex_woken++;
#else
    syscall(SYS_futex, (uint32_t *)&s->h->futex, FUTEX_WAIT, seen, &ts, NULL, 0);
#endif
  }
}
