/* pollfd.c - a pollable descriptor for a subscriber, for poll/epoll/libuv/GLib loops.
 *
 * Mechanism: an eventfd, fed by one notifier thread per subscriber that sleeps on the bus's
 * futex exactly like a sleeping reader (it sets the wake flag, so the writer's one FUTEX_WAKE
 * per publish covers it too). The descriptor is readable while shmbus_sub_wait(s, 0, ...)
 * would not time out: a record at or after the cursor exists, the bus was replaced or
 * removed, or the writer died or closed (reported once per writer life).
 *
 * The owner thread keeps the notifier informed: every call that moves the cursor mirrors it
 * into pf->cursor and, when nothing is left to read, drains the eventfd. Ordering argument
 * for the one race (the notifier sees a new record while `signaled` is still 1, then the
 * owner drains): both sides flip `signaled` with seq_cst exchanges, so the notifier's load of
 * `latest` happens before the owner's re-check after draining, which therefore sees the new
 * record and signals again. Anything else is healed by the notifier's 10 ms tick. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"

struct shmbus__pollfd {
  int efd;
  pthread_t thread;
  _Atomic uint64_t cursor;         /* the owner's cursor, mirrored */
  _Atomic int signaled;            /* 1: the eventfd was written and not drained */
  _Atomic int stop;
  _Atomic uint64_t death_consumed; /* life id of the writer whose death the owner was told */
};

/* One writer's life: its pid and start time (pid reuse gives another start time). */
static uint64_t life_id(const struct shmbus__header *h) {
  return atomic_load_explicit(&h->writer_start, memory_order_relaxed) * 4194304u ^
         atomic_load_explicit(&h->writer_pid, memory_order_relaxed);
}

static void signal_fd(struct shmbus__pollfd *pf) {
  static const uint64_t one = 1;
  if (!atomic_exchange(&pf->signaled, 1)) {
    ssize_t n = write(pf->efd, &one, sizeof one);
    (void)n; /* EAGAIN only at a counter of 2^64-2: impossible with one write per drain */
  }
}

static void drain_fd(struct shmbus__pollfd *pf) {
  uint64_t v;
  atomic_exchange(&pf->signaled, 0);
  /* Unconditionally: a signal_fd() racing with us may write after our exchange. */
  ssize_t n = read(pf->efd, &v, sizeof v);
  (void)n; /* EAGAIN when empty */
}

static int replaced_or_removed(shmbus_sub *s, int64_t now, int64_t *last) {
  char path[SHMBUS__PATH_MAX];
  struct stat st;
  if (atomic_load_explicit(&s->h->flags, memory_order_acquire) & SHMBUS__FLAG_REPLACED) return 1;
  if (now - *last < SHMBUS__LIVENESS_NS) return 0;
  *last = now;
  return shmbus__path(path, SHMBUS__PREFIX_BUS, s->name) == 0 &&
         (stat(path, &st) < 0 || st.st_ino != s->ino || st.st_dev != s->dev);
}

/* The notifier reads only shared memory and the fields of @s that never change after
 * shmbus_sub_open() (h, wake, name, dev, ino), plus its own atomics. */
static void *notifier(void *arg) {
  shmbus_sub *s = arg;
  struct shmbus__pollfd *pf = s->pfd;
  const struct shmbus__header *h = s->h;
  int64_t last_stat = 0, last_live = 0;
  uint64_t last_life = 0;
  int dead = 0;
  while (!atomic_load(&pf->stop)) {
    struct timespec ts = {0, SHMBUS__TICK_NS};
    int64_t now = shmbus__now(CLOCK_MONOTONIC);
    uint32_t seen;
    int reason;
    if (s->wake) {
      atomic_store_explicit(&s->wake->flag, 1, memory_order_relaxed);
      atomic_thread_fence(memory_order_seq_cst); /* Dekker with the writer, as in wait.c */
    }
    seen = atomic_load_explicit(&h->futex, memory_order_acquire);
    reason = atomic_load_explicit(&h->latest, memory_order_seq_cst) >= atomic_load(&pf->cursor);
    if (!reason) reason = replaced_or_removed(s, now, &last_stat);
    if (!reason) {
      uint64_t life = life_id(h);
      if (atomic_load_explicit(&h->writer_state, memory_order_acquire) != SHMBUS__WRITER_RUNNING) {
        dead = 1;
      } else if (life != last_life || now - last_live >= SHMBUS__LIVENESS_NS) {
        last_live = now; /* /proc at most every 100 ms, and at once for a new writer */
        last_life = life;
        dead = !shmbus__writer_alive(h);
      }
      reason = dead && life_id(h) != atomic_load(&pf->death_consumed);
    }
    if (reason) signal_fd(pf);
    syscall(SYS_futex, (uint32_t *)&h->futex, FUTEX_WAIT, seen, &ts, NULL, 0);
  }
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
  drain_fd(pf);
  if (atomic_load_explicit(&s->h->latest, memory_order_seq_cst) >= s->cursor) signal_fd(pf);
}

/* Owner thread, after shmbus_sub_wait() returned @wait_rc. */
void shmbus__pollfd_seen(shmbus_sub *s, int wait_rc) {
  struct shmbus__pollfd *pf = s->pfd;
  if (wait_rc == -EOWNERDEAD) {
    atomic_store(&pf->death_consumed, life_id(s->h));
    drain_fd(pf);
  } else if (wait_rc == -ETIMEDOUT) {
    drain_fd(pf);
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
