/* pollfd.c - a pollable descriptor for a subscriber, for poll/epoll/libuv/GLib loops.
 *
 * Mechanism: an eventfd, fed by one notifier thread per subscriber that sleeps on the bus's
 * wake word exactly like a sleeping reader (core/wake.h: it announces itself, so the writer's
 * wake, or the cascade, covers it too). The descriptor is readable while
 * shmbus_sub_wait(s, 0, ...) would not time out: a record at or after the cursor exists, the
 * bus was replaced or removed, or the writer died or closed (reported once per writer life).
 *
 * The owner thread keeps the notifier informed: every call that moves the cursor mirrors it
 * into pf->cursor and, when nothing is left to read, drains the eventfd. The drain reads the
 * eventfd first, then clears `signaled`, then re-checks every reason the notifier signals
 * (a record: `latest`; a replacement: the flag; a death: pf->dead_life, which the notifier
 * publishes before it signals). A signal that raced with the drain was either still pending
 * when we read (then `signaled` was 1 and the notifier wrote nothing new: our re-check sees
 * its reason and signals again) or comes after our clear (then it writes). Either way the
 * descriptor never stays silent while a reason holds: tests/model/wake.pml checks this drain
 * against the notifier, and the old order (clear, then read) as the negative control. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/wake.h"

struct shmbus__pollfd {
  int efd;
  pthread_t thread;
  _Atomic uint64_t cursor; /* the owner's cursor, mirrored */
  _Atomic int signaled;    /* 1: the eventfd was written and not drained */
  _Atomic int stop;
  _Atomic int stale;               /* the notifier found the bus replaced or removed */
  _Atomic uint64_t dead_life;      /* life id of a writer the notifier found dead, 0 none */
  _Atomic uint64_t death_consumed; /* life id of the writer whose death the owner was told */
};

/* Linux's PID_MAX_LIMIT (2^22): no pid_max may exceed it, so a pid fits below this factor. */
#define PID_LIMIT 4194304u

/* One writer's life: its pid and start time (pid reuse gives another start time). The start
 * time is shifted above every possible pid, so the two do not overlap. */
static uint64_t life_id(const struct shmbus__header *h) {
  return atomic_load_explicit(&h->writer_start, memory_order_relaxed) * PID_LIMIT ^
         atomic_load_explicit(&h->writer_pid, memory_order_relaxed);
}

static void signal_fd(struct shmbus__pollfd *pf) {
  static const uint64_t one = 1;
  if (!atomic_exchange(&pf->signaled, 1)) {
    ssize_t n = write(pf->efd, &one, sizeof one);
    (void)n; /* EAGAIN only at a counter of 2^64-2: impossible with one write per drain */
  }
}

/* Is a reason to be readable still there? Only what the owner can see cheaply: `latest`
 * against its cursor, the replaced flag, and what the notifier published (a removal it found,
 * a death it found and the owner has not been told). seq_cst loads: pairs with the seq_cst
 * exchange of `signaled` in signal_fd() (the notifier's reason is stored before it). */
static int reason_pending(shmbus_sub *s) {
  struct shmbus__pollfd *pf = s->pfd;
  uint64_t dead = atomic_load(&pf->dead_life);
  if (atomic_load_explicit(&s->h->latest, memory_order_seq_cst) >= s->cursor) return 1;
  if (shmbus__replaced(s->h, memory_order_seq_cst)) return 1;
  if (atomic_load(&pf->stale)) return 1;
  return dead != 0 && dead != atomic_load(&pf->death_consumed);
}

/* Make the descriptor unreadable, unless a reason is pending. Read first, then clear
 * `signaled`, then re-check (see the top of this file; tests/model/wake.pml, POLLFD). */
static void drain_fd(shmbus_sub *s) {
  struct shmbus__pollfd *pf = s->pfd;
  uint64_t v;
  ssize_t n = read(pf->efd, &v, sizeof v);
  (void)n; /* EAGAIN when empty */
  atomic_exchange(&pf->signaled, 0);
  if (reason_pending(s)) signal_fd(pf);
}

static void note_notifier(shmbus_sub *s, uint32_t bits) {
  if (s->reg) atomic_store_explicit(&s->reg->notifier, bits, memory_order_relaxed);
}

/* What the notifier found: 1 if the descriptor should be readable. Publishes a removal
 * and a death in pf before returning (the owner's drain re-checks them). */
static int find_reason(shmbus_sub *s, int64_t now, int64_t *last_stat, int64_t *last_live,
                       uint64_t *last_life) {
  struct shmbus__pollfd *pf = s->pfd;
  const struct shmbus__header *h = s->h;
  uint64_t life;
  if (atomic_load_explicit(&h->latest, memory_order_seq_cst) >= atomic_load(&pf->cursor)) return 1;
  if (shmbus__stale(s, now, last_stat)) {
    atomic_store(&pf->stale, 1);
    return 1;
  }
  life = life_id(h);
  if (atomic_load_explicit(&h->writer_state, memory_order_acquire) != SHMBUS__WRITER_RUNNING) {
    atomic_store(&pf->dead_life, life);
  } else if (life != *last_life || now - *last_live >= SHMBUS__LIVENESS_NS) {
    *last_live = now; /* /proc at most every 100 ms, and at once for a new writer */
    *last_life = life;
    atomic_store(&pf->dead_life, shmbus__writer_alive(h) ? 0 : life);
  }
  life = atomic_load(&pf->dead_life);
  return life != 0 && life != atomic_load(&pf->death_consumed);
}

/* The notifier reads only shared memory and the fields of @s that never change after
 * shmbus_sub_open() (h, wake, layout, reg, name, dev, ino), plus its own atomics. It sleeps
 * as any reader does (core/wake.h), so it also passes the wake cascade on. */
static void *notifier(void *arg) {
  shmbus_sub *s = arg;
  struct shmbus__pollfd *pf = s->pfd;
  int64_t last_stat = 0, last_live = 0;
  uint64_t last_life = 0;
  int v2 = s->wake && s->layout >= 2, spurious = 0;
  uint64_t last_latest = 0;
  while (!atomic_load(&pf->stop)) {
    int64_t now = shmbus__now(CLOCK_MONOTONIC);
    uint32_t seen;
    note_notifier(s, SHMBUS__RS_POLLFD | SHMBUS__RS_ASLEEP);
    seen = v2 ? shmbus__wake_prepare(s->wake) /* pairs with shmbus__wake_publish() */
              : atomic_load_explicit(&s->h->futex, memory_order_acquire);
    if (find_reason(s, now, &last_stat, &last_live, &last_life)) signal_fd(pf);
    if (atomic_load_explicit(&s->h->latest, memory_order_relaxed) != last_latest) {
      last_latest = atomic_load_explicit(&s->h->latest, memory_order_relaxed);
      spurious = 0; /* a publish moved the word: not an attack (core/wake.h) */
    }
    if (v2) shmbus__wake_sleep_bounded(s->wake, s->h, seen, SHMBUS__TICK(), &spurious);
    else shmbus__futex_wait(&s->h->futex, seen, SHMBUS__TICK());
  }
  note_notifier(s, 0);
  return NULL;
}

int shmbus_sub_fd(shmbus_sub *s) {
  struct shmbus__pollfd *pf;
  sigset_t all, old;
  int rc;
  if (s == NULL) return -EINVAL;
  if (s->pfd) return s->pfd->efd;
  pf = calloc(1, sizeof *pf);
  if (pf == NULL) return -ENOMEM;
  pf->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (pf->efd < 0) {
    rc = -errno;
    free(pf);
    return rc;
  }
  atomic_store(&pf->cursor, s->cursor);
  s->pfd = pf;
  /* The notifier takes no signals: they belong to the application's threads. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&pf->thread, NULL, notifier, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    s->pfd = NULL;
    close(pf->efd);
    free(pf);
    return -rc;
  }
  shmbus__pollfd_sync(s);
  return pf->efd;
}

/* Owner thread, after the cursor moved: mirror it, keep the descriptor's level right. */
void shmbus__pollfd_sync(shmbus_sub *s) {
  struct shmbus__pollfd *pf = s->pfd;
  atomic_store(&pf->cursor, s->cursor);
  if (atomic_load_explicit(&s->h->latest, memory_order_seq_cst) >= s->cursor) {
    signal_fd(pf); /* more to read */
    return;
  }
  if (!atomic_load(&pf->signaled)) return;
  drain_fd(s);
}

/* shmbus__pollfd_death_seen() - 1 when @s's notifier found its writer dead and the owner was
 * not told yet: wait() then checks liveness at once instead of at its own pace. */
int shmbus__pollfd_death_seen(shmbus_sub *s) {
  uint64_t dead;
  if (s->pfd == NULL) return 0;
  dead = atomic_load(&s->pfd->dead_life);
  return dead != 0 && dead != atomic_load(&s->pfd->death_consumed);
}

/* Owner thread, after shmbus_sub_wait() returned @wait_rc. */
void shmbus__pollfd_seen(shmbus_sub *s, int wait_rc) {
  struct shmbus__pollfd *pf = s->pfd;
  if (wait_rc == -EOWNERDEAD) {
    atomic_store(&pf->death_consumed, life_id(s->h));
    drain_fd(s);
  } else if (wait_rc == -ETIMEDOUT) {
    drain_fd(s);
  }
  shmbus__pollfd_sync(s);
}

/* shmbus_sub_close(): the notifier notices `stop` within one tick (10 ms). */
void shmbus__pollfd_stop(shmbus_sub *s) {
  struct shmbus__pollfd *pf = s->pfd;
  if (pf == NULL) return;
  atomic_store(&pf->stop, 1);
  pthread_join(pf->thread, NULL);
  close(pf->efd);
  free(pf);
  s->pfd = NULL;
}
