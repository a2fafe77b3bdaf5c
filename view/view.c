/* view.c - in-process fan-out of a bus's snapshots with RCU (liburcu, memb flavour).
 *
 * One follower thread per view copies each new record once into a heap snapshot and publishes
 * it with a release store of the view's `latest` pointer (rcu_assign_pointer); readers load it
 * with acquire (rcu_dereference) inside urcu_memb_read_lock/unlock. A replaced snapshot is
 * unlinked first and then handed to urcu_memb_call_rcu(), whose thread frees it after a grace
 * period. See docs/LOCAL-VIEW.md for the design and the memory-ordering argument.
 *
 * Why C11 atomics for the pointers instead of liburcu's rcu_assign_pointer/rcu_dereference:
 * the same instructions on x86-64 and aarch64, but ThreadSanitizer understands them (liburcu
 * 0.13's macros are volatile accesses plus asm barriers, invisible to TSan).
 *
 * _LGPL_SOURCE is not defined by default: liburcu's read_lock/unlock stay calls into the
 * shared library, so this MIT-licensed file inlines none of liburcu's LGPL code. The price is
 * measurable: each of those calls looks up liburcu's thread-local reader through
 * __tls_get_addr (the shared library's general-dynamic TLS), ~12-14 ns per lock+unlock pair
 * here against ~1.3 ns inlined. A build that accepts LGPL code inlined into its binary can opt
 * in with -DSHMBUS_VIEW_LGPL_INLINE (e.g. bazel build --copt=-DSHMBUS_VIEW_LGPL_INLINE).
 */
#ifdef SHMBUS_VIEW_LGPL_INLINE
#define _LGPL_SOURCE 1
#endif
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "core/clock.h"
#include "view/shmbus_view.h"

#define TICK_NS 10000000LL /* the follower's wait slice and retry delay (10 ms) */
#define SNAP_HDR 128       /* snapshot header; data starts 64-byte aligned after it */

/* ThreadSanitizer cannot see liburcu's grace periods (uninstrumented code, membarrier(2)).
 * Each reader "releases" a process-wide token as it leaves a critical section, and whoever
 * frees a snapshot after a grace period "acquires" it: TSan then knows every read that ended
 * before the free happened before it, and still reports a free that comes too early (the
 * reader's current reads are not released yet). No effect outside TSan builds. */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define TSAN_ACQUIRE(a) __tsan_acquire((void *)(a))
#define TSAN_RELEASE(a) __tsan_release((void *)(a))
#else
#define TSAN_ACQUIRE(a) ((void)0)
#define TSAN_RELEASE(a) ((void)0)
#endif
static char gp_token __attribute__((unused));

struct snap {
  struct shmbus_view_snap pub;  /* what readers see; first, so the cast back is exact */
  _Atomic(struct snap *) older; /* previous snapshot, NULL once cut from the history */
  _Atomic uint64_t refs;        /* 1 for the view, +1 per shmbus_view_hold() */
  struct rcu_head rcu;
};
_Static_assert(sizeof(struct snap) <= SNAP_HDR, "snapshot header larger than SNAP_HDR");

struct shmbus_view {
  /* Read by every reader on every read: alone in its cache line. */
  _Alignas(64) _Atomic(struct snap *) latest;
  _Alignas(64) _Atomic uint64_t seq; /* seq of latest */
  _Atomic uint32_t futex;            /* bumped on every publish and on stop */
  _Atomic uint32_t waiters;          /* threads inside shmbus_view_wait() */
  _Atomic int stopped;
  _Atomic int state;
  _Atomic uint64_t published, skipped, reopens, errors;
  /* Follower-private from here (the opener's thread before the follower starts). */
  _Alignas(64) shmbus_sub *sub;
  struct shmbus_view_opts opts;
  struct snap **kept; /* ring of the kept snapshots, oldest at kept[head] */
  unsigned nkept, head;
  uint64_t next_seq;
  size_t hint; /* length of the last record: the size to allocate first */
  pthread_t thread;
  int joined;
  pthread_mutex_t stop_lock;
#ifdef SHMBUS_VIEW_TESTING
  struct snap *quarantine[64];
  unsigned nq;
#endif
  char name[SHMBUS_NAME_MAX + 1];
};

/* ---------------------------------------------------------------- snapshots */

static struct snap *to_snap(const struct shmbus_view_snap *s) {
  return (struct snap *)(uintptr_t)s; /* pub is the first member */
}

static struct snap *snap_alloc(size_t len) {
  void *p;
  if (posix_memalign(&p, 64, SNAP_HDR + (len ? len : 1)) != 0) return NULL;
  struct snap *s = p;
  memset(s, 0, sizeof *s);
  s->pub.data = (char *)p + SNAP_HDR;
  return s;
}

#ifdef SHMBUS_VIEW_TESTING
#define POISON 0xdbdbdbdbdbdbdbdbull
static atomic_int early_free;
void shmbus_view__testing_early_free(int on) { atomic_store(&early_free, on); }
/* Overwrite what a reader checks, so a reader still looking at a freed snapshot sees it. */
static void poison(struct snap *s) {
  uint64_t *w = (uint64_t *)(uintptr_t)s->pub.data;
  for (uint64_t i = 0; i < s->pub.length / 8; i++) w[i] = POISON;
  s->pub.version = POISON;
  s->pub.seq = POISON;
}
#endif

static void snap_free(struct snap *s) {
#ifdef SHMBUS_VIEW_TESTING
  poison(s);
#endif
  free(s);
}

/* Drop one reference; the last frees. acq_rel: the release half orders this holder's reads
 * before the decrement, the acquire half (in the last holder) orders every other holder's
 * reads before the free. (acq_rel rather than release plus an acquire fence only on the last
 * drop: the same on x86-64, and ThreadSanitizer does not model fences.) */
static void snap_put(struct snap *s) {
  if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) snap_free(s);
}

/* A grace period has elapsed since @s became unreachable: no reader can obtain it any more. */
static void after_grace_period(struct snap *s) {
  TSAN_ACQUIRE(&gp_token);
  TSAN_ACQUIRE(s);
  snap_put(s);
}

static void reclaim(struct rcu_head *head) {
  after_grace_period(caa_container_of(head, struct snap, rcu));
}

/* retire() - @s is unreachable for new readers; free it once the current ones are done. */
static void retire(shmbus_view *v, struct snap *s) {
#ifdef SHMBUS_VIEW_TESTING
  if (atomic_load(&early_free)) { /* negative control: no grace period, poisoned at once */
    poison(s);
    if (v->nq == 64) {
      for (unsigned i = 0; i < 64; i++) free(v->quarantine[i]);
      v->nq = 0;
    }
    v->quarantine[v->nq++] = s;
    return;
  }
#endif
  (void)v;
  TSAN_RELEASE(s); /* the follower's writes to @s happen before the free in another thread */
  urcu_memb_call_rcu(&s->rcu, reclaim);
}

/* ---------------------------------------------------------------- follower */

static void wake_waiters(shmbus_view *v, int always) {
  atomic_fetch_add_explicit(&v->futex, 1, memory_order_release);
  /* Dekker with shmbus_view_wait(): our seq (or stopped) store, this fence, then the waiters
   * load; the waiter's increment, its fence, then its loads. One side sees the other. */
  atomic_thread_fence(memory_order_seq_cst);
  if (always || atomic_load_explicit(&v->waiters, memory_order_relaxed) != 0)
    syscall(SYS_futex, &v->futex, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* publish() - make @s the latest; cut the oldest kept snapshot when history is full. */
static void publish(shmbus_view *v, struct snap *s) {
  unsigned h = v->opts.history;
  struct snap *cut = NULL;
  struct snap *newest = v->nkept ? v->kept[(v->head + v->nkept - 1) % h] : NULL;

  s->pub.seq = ++v->next_seq;
  atomic_store_explicit(&s->refs, 1, memory_order_relaxed);
  /* Relaxed: @s is not visible yet; the release store of latest below publishes it all. */
  atomic_store_explicit(&s->older, h > 1 ? newest : NULL, memory_order_relaxed);
  if (v->nkept == h) {
    cut = v->kept[v->head];
    v->head = (v->head + 1) % h;
    v->nkept--;
    /* Unlink before the new one appears, so a walk never sees more than @h snapshots. A NULL
     * store needs no ordering: a reader that still sees the old pointer is in a critical
     * section that began before retire(), and the grace period waits for it. */
    if (h > 1) atomic_store_explicit(&v->kept[v->head]->older, NULL, memory_order_relaxed);
  }
  v->kept[(v->head + v->nkept) % h] = s;
  v->nkept++;
  /* Counted before it appears: a thread that sees @s (the acquire loads of latest or seq)
   * then reads stats that include it (take() counts the versions it skipped before this). */
  atomic_fetch_add_explicit(&v->published, 1, memory_order_relaxed);
  /* rcu_assign_pointer: every store initialising @s happens before a reader's acquire load
   * that returns @s. */
  atomic_store_explicit(&v->latest, s, memory_order_release);
  atomic_store_explicit(&v->seq, s->pub.seq, memory_order_release);
  wake_waiters(v, 0);
  if (cut) retire(v, cut);
}

/* take() - copy the bus's latest record into a new snapshot and publish it. The buffer is
 * sized from the previous record; when the record grew, read_latest says the size needed
 * (-ENOBUFS, nothing consumed) and we allocate again. Return: 0; a negative errno. */
static int take(shmbus_view *v) {
  struct shmbus_record_info info;
  size_t want = v->hint;
  for (;;) {
    struct snap *s = snap_alloc(want);
    if (s == NULL) return -ENOMEM;
    ssize_t n = shmbus_sub_read_latest(v->sub, (void *)(uintptr_t)s->pub.data, want, &info);
    if (n == -ENOBUFS && info.length > want) {
      free(s);
      want = info.length;
      continue;
    }
    if (n < 0) {
      free(s);
      return (int)n;
    }
    s->pub.version = info.version;
    s->pub.timestamp_ns = info.timestamp_ns;
    s->pub.length = (uint64_t)n;
    v->hint = (size_t)n;
    atomic_fetch_add_explicit(&v->skipped, info.lost, memory_order_relaxed);
    publish(v, s);
    return 0;
  }
}

static void nap(void) {
  struct timespec ts = {0, TICK_NS};
  nanosleep(&ts, NULL);
}

static int stopping(const shmbus_view *v) {
  return atomic_load_explicit(&v->stopped, memory_order_acquire);
}

static void set_state(shmbus_view *v, int st) {
  atomic_store_explicit(&v->state, st, memory_order_relaxed);
}

static void *follow(void *arg) {
  shmbus_view *v = arg;
  int rc;
  shmbus_view_thread_register(); /* urcu_memb_call_rcu() needs a registered thread */
  while (!stopping(v)) {
    if (v->sub == NULL) { /* the bus was replaced or removed: reopen it by name */
      rc = shmbus_sub_open(v->name, 0, &v->sub);
      if (rc < 0) {
        v->sub = NULL;
        nap();
        continue;
      }
      atomic_fetch_add_explicit(&v->reopens, 1, memory_order_relaxed);
      set_state(v, 0);
    }
    rc = shmbus_sub_wait(v->sub, TICK_NS, v->opts.wait_mode);
    if (rc == 0) {
      rc = take(v);
      if (rc == 0) set_state(v, 0);
    }
    if (rc == 0 || rc == -ETIMEDOUT) continue;
    if (rc == -ESTALE) {
      set_state(v, -ESTALE);
      shmbus_sub_close(v->sub);
      v->sub = NULL;
      continue;
    }
    if (rc == -EOWNERDEAD) {
      set_state(v, -EOWNERDEAD); /* keep the snapshots; a new writer is followed */
    } else {
      atomic_fetch_add_explicit(&v->errors, 1, memory_order_relaxed);
    }
    nap();
  }
  shmbus_view_thread_unregister();
  return NULL;
}

/* ---------------------------------------------------------------- lifecycle */

void shmbus_view_opts_init(struct shmbus_view_opts *o) {
  if (o == NULL) return;
  o->history = 1;
  o->wait_mode = SHMBUS_WAIT_HYBRID;
}

int shmbus_view_open(const char *name, const struct shmbus_view_opts *opts, shmbus_view **out) {
  struct shmbus_view_opts def;
  shmbus_view *v;
  int rc;

  if (out == NULL) return -EINVAL;
  *out = NULL;
  shmbus_view_opts_init(&def);
  if (opts == NULL) opts = &def;
  if (opts->history < 1 || opts->history > SHMBUS_VIEW_MAX_HISTORY ||
      (opts->wait_mode != SHMBUS_WAIT_HYBRID && opts->wait_mode != SHMBUS_WAIT_SPIN &&
       opts->wait_mode != SHMBUS_WAIT_SLEEP))
    return -EINVAL;
  rc = shmbus_name_check(name);
  if (rc < 0) return rc;
  if (posix_memalign((void **)&v, 64, sizeof *v) != 0) return -ENOMEM;
  memset(v, 0, sizeof *v);
  v->opts = *opts;
  snprintf(v->name, sizeof v->name, "%s", name);
  pthread_mutex_init(&v->stop_lock, NULL);
  v->kept = calloc(opts->history, sizeof *v->kept);
  if (v->kept == NULL) {
    rc = -ENOMEM;
    goto fail;
  }
  rc = shmbus_sub_open(name, 0, &v->sub);
  if (rc < 0) goto fail;
  /* A record already on the bus is readable as soon as open returns. Nothing is retired
   * here (the history is empty), so this thread needs no RCU registration. */
  if (shmbus_sub_latest(v->sub) != 0) {
    rc = take(v);
    if (rc < 0 && rc != -ENODATA) goto fail;
  }
  rc = -pthread_create(&v->thread, NULL, follow, v);
  if (rc < 0) goto fail;
  *out = v;
  return 0;
fail:
  for (unsigned i = 0; i < v->nkept; i++) snap_free(v->kept[(v->head + i) % v->opts.history]);
  shmbus_sub_close(v->sub);
  free(v->kept);
  pthread_mutex_destroy(&v->stop_lock);
  free(v);
  return rc;
}

void shmbus_view_stop(shmbus_view *v) {
  if (v == NULL) return;
  pthread_mutex_lock(&v->stop_lock);
  if (!v->joined) {
    atomic_store_explicit(&v->stopped, 1, memory_order_release);
    wake_waiters(v, 1);
    pthread_join(v->thread, NULL);
    v->joined = 1;
    set_state(v, -ESHUTDOWN);
  }
  pthread_mutex_unlock(&v->stop_lock);
}

void shmbus_view_close(shmbus_view *v) {
  if (v == NULL) return;
  if (urcu_memb_read_ongoing()) { /* synchronize_rcu() below would wait for itself */
    fprintf(stderr, "shmbus_view_close: called inside a read-side critical section; call "
                    "shmbus_view_read_unlock() first\n");
    abort();
  }
  shmbus_view_stop(v);
  /* Unpublish and unlink every kept snapshot (a held one must not lead to a freed one through
   * older()), then wait for every reader that may still see one. NULL stores need no
   * ordering: the grace period covers readers that loaded the old values. synchronize works
   * from an unregistered thread. */
  atomic_store_explicit(&v->latest, NULL, memory_order_release);
  for (unsigned i = 0; i < v->nkept; i++)
    atomic_store_explicit(&v->kept[(v->head + i) % v->opts.history]->older, NULL,
                          memory_order_relaxed);
  urcu_memb_synchronize_rcu();
  for (unsigned i = 0; i < v->nkept; i++)
    after_grace_period(v->kept[(v->head + i) % v->opts.history]);
  /* Wait for the snapshots the follower handed to call_rcu: close returns with all freed. */
  urcu_memb_barrier();
#ifdef SHMBUS_VIEW_TESTING
  for (unsigned i = 0; i < v->nq; i++) free(v->quarantine[i]);
#endif
  shmbus_sub_close(v->sub);
  free(v->kept);
  pthread_mutex_destroy(&v->stop_lock);
  free(v);
}

/* ---------------------------------------------------------------- readers */

static __thread unsigned reg_depth; /* nesting of shmbus_view_thread_register() */

int shmbus_view_thread_register(void) {
  if (reg_depth++ == 0) urcu_memb_register_thread();
  return 0;
}

void shmbus_view_thread_unregister(void) {
  if (reg_depth == 0) return;
  if (--reg_depth == 0) urcu_memb_unregister_thread();
}

void shmbus_view_read_lock(void) {
  if (__builtin_expect(reg_depth == 0, 0)) {
    fprintf(stderr, "shmbus_view_read_lock: this thread is not registered; call "
                    "shmbus_view_thread_register() once in the thread before reading a view\n");
    abort();
  }
  urcu_memb_read_lock();
}

void shmbus_view_read_unlock(void) {
  TSAN_RELEASE(&gp_token); /* see gp_token: our reads happen before a later free */
  urcu_memb_read_unlock();
}

const struct shmbus_view_snap *shmbus_view_latest(shmbus_view *v) {
  /* rcu_dereference: pairs with the release store in publish(). */
  struct snap *s = atomic_load_explicit(&v->latest, memory_order_acquire);
  return s ? &s->pub : NULL;
}

const struct shmbus_view_snap *shmbus_view_older(const struct shmbus_view_snap *s) {
  if (s == NULL) return NULL;
  struct snap *o = atomic_load_explicit(&to_snap(s)->older, memory_order_acquire);
  return o ? &o->pub : NULL;
}

const struct shmbus_view_snap *shmbus_view_hold(const struct shmbus_view_snap *s) {
  /* Inside the critical section the view's own reference is still there (the put in
   * reclaim() comes after a grace period), so refs >= 1 and a plain increment is safe. */
  if (s) atomic_fetch_add_explicit(&to_snap(s)->refs, 1, memory_order_relaxed);
  return s;
}

void shmbus_view_release(const struct shmbus_view_snap *s) {
  if (s) snap_put(to_snap(s));
}

ssize_t shmbus_view_copy_latest(shmbus_view *v, void *buf, size_t cap,
                                struct shmbus_record_info *info) {
  const struct shmbus_view_snap *s;
  ssize_t rc;
  if (v == NULL || (buf == NULL && cap > 0)) return -EINVAL;
  shmbus_view_read_lock();
  s = shmbus_view_latest(v);
  if (s == NULL) {
    rc = -ENODATA;
  } else {
    rc = s->length <= cap ? (ssize_t)s->length : -ENOBUFS;
    if (rc >= 0) memcpy(buf, s->data, s->length);
    if (info) {
      info->version = s->version;
      info->length = s->length;
      info->timestamp_ns = s->timestamp_ns;
      info->lost = 0;
    }
  }
  shmbus_view_read_unlock();
  return rc;
}

uint64_t shmbus_view_seq(const shmbus_view *v) {
  return v ? atomic_load_explicit(&v->seq, memory_order_acquire) : 0;
}

int shmbus_view_wait(shmbus_view *v, uint64_t seen, int64_t timeout_ns) {
  int64_t deadline = timeout_ns > 0 ? shmbus__now(CLOCK_MONOTONIC) + timeout_ns : 0, left;
  if (v == NULL) return -EINVAL;
  for (;;) {
    if (atomic_load_explicit(&v->seq, memory_order_acquire) > seen) return 0;
    if (stopping(v)) return -ESHUTDOWN;
    if (timeout_ns == 0) return -ETIMEDOUT;
    left = timeout_ns < 0 ? -1 : deadline - shmbus__now(CLOCK_MONOTONIC);
    if (timeout_ns > 0 && left <= 0) return -ETIMEDOUT;
    atomic_fetch_add_explicit(&v->waiters, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst); /* Dekker: see wake_waiters() */
    uint32_t f = atomic_load_explicit(&v->futex, memory_order_relaxed);
    if (atomic_load_explicit(&v->seq, memory_order_acquire) <= seen && !stopping(v)) {
      struct timespec ts = {left / 1000000000, left % 1000000000};
      /* The kernel compares futex with f: a publish after our loads makes it return. */
      syscall(SYS_futex, &v->futex, FUTEX_WAIT_PRIVATE, f, left < 0 ? NULL : &ts, NULL, 0);
    }
    atomic_fetch_sub_explicit(&v->waiters, 1, memory_order_relaxed);
  }
}

int shmbus_view_stats(const shmbus_view *v, struct shmbus_view_stats *st) {
  if (v == NULL || st == NULL) return -EINVAL;
  st->published = atomic_load_explicit(&v->published, memory_order_relaxed);
  st->skipped = atomic_load_explicit(&v->skipped, memory_order_relaxed);
  st->reopens = atomic_load_explicit(&v->reopens, memory_order_relaxed);
  st->errors = atomic_load_explicit(&v->errors, memory_order_relaxed);
  st->state = atomic_load_explicit(&v->state, memory_order_relaxed);
  return 0;
}
