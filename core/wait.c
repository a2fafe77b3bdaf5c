/* wait.c - a reader waits for a newer version: a spin phase, a sleep phase, or both; it
 * notices death and replacement on every path. The protocol is in docs/PROTOCOL.md, Wait/wake;
 * the sleeper's handshake and the futex calls live in core/wake.h. */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "core/seqslot.h"
#include "core/wake.h"

#ifdef SHMBUS_TESTING
long shmbus__futex_woken; /* FUTEX_WAITs ended by a wake, not a timeout: tests only */
long shmbus__futex_waits; /* FUTEX_WAITs made by wait(): tests only */
int shmbus__fanout_writer = SHMBUS__FANOUT_WRITER;
int shmbus__fanout_direct = SHMBUS__FANOUT_DIRECT;
int64_t shmbus__tick_ns = SHMBUS__TICK_NS;
long shmbus__spin_rounds;
long shmbus__latest_loads;
void (*shmbus__woken_hook)(void);
static void count_woken(int rc) {
  shmbus__futex_waits++;
  if (rc == 0) shmbus__futex_woken++;
}
#else
static void count_woken(int rc) { (void)rc; }
#endif

/* The spin phase's check: acquire pairs with the writer's store of `latest`. */
static int have_new(shmbus_sub *s) {
  return shmbus__sub_latest(s, memory_order_acquire) >= s->cursor;
}

/* The spin phase's check: the slot the cursor's record goes to has reached it (seq >= 2c: 2c
 * holds it, more means lapped). One cache line, the one the record's header and first payload
 * bytes live in, instead of `latest` and then that line (bench/README.md, "Small-record fast
 * path"). Acquire pairs with shmbus__seq_write_end(); next() reads the slot without `latest`. */
static int slot_reached(const shmbus_sub *s) {
  uint64_t c = s->cursor;
  if (c >= SHMBUS__VERSION_MAX) return 1; /* corrupt: let the read report it */
  return shmbus__seq_read_begin(shmbus__slot_at(s->h, &s->g, c)) >= 2 * c;
}

/* The sleep phase's re-check, after shmbus__wake_prepare(): seq_cst, the reader's half of the
 * Dekker pair with the writer's seq_cst store of `latest` and load of the wake word. */
static int have_new_sc(shmbus_sub *s) {
  return shmbus__sub_latest(s, memory_order_seq_cst) >= s->cursor;
}

/* shmbus__stale() - was the bus replaced (flag, every call) or removed or renamed over (a
 * stat() of its name, at most every SHMBUS__LIVENESS_NS, timed by *@last)? Shared by wait()
 * and the pollable descriptor's notifier. Return: 1 stale, 0 not. */
int shmbus__stale(shmbus_sub *s, int64_t now, int64_t *last) {
  char path[SHMBUS__PATH_MAX];
  struct stat st;
  if (shmbus__replaced(s->h, memory_order_acquire)) return 1;
  if (now - *last < SHMBUS__LIVENESS_NS) return 0;
  *last = now;
  return shmbus__path(path, SHMBUS__PREFIX_BUS, s->name) == 0 &&
         (stat(path, &st) < 0 || !shmbus__same_file(&st, s->dev, s->ino));
}

/* The checks every path runs: replaced or removed (-ESTALE), writer closed or dead
 * (-EOWNERDEAD, unless @through). /proc and stat() at most every SHMBUS__LIVENESS_NS, unless
 * @force. Return: 0 or that error. */
static int check_state(shmbus_sub *s, int through, int64_t now, int force) {
  int64_t last = force ? INT64_MIN / 2 : s->last_check_ns;
  int stale = shmbus__stale(s, now, &last), ran = last == now;
  if (ran) s->last_check_ns = now;
  if (stale) return -ESTALE;
  if (through) return 0;
  if (atomic_load_explicit(&s->h->writer_state, memory_order_acquire) != SHMBUS__WRITER_RUNNING)
    return -EOWNERDEAD;
  if (ran && !shmbus__writer_alive(s->h)) return -EOWNERDEAD;
  return 0;
}

/* The deadline, saturated: a huge @timeout_ns is "forever", never an overflow. */
static int64_t deadline_of(int64_t start, int64_t timeout_ns) {
  if (timeout_ns < 0 || timeout_ns > SHMBUS__NO_DEADLINE - start) return SHMBUS__NO_DEADLINE;
  return start + timeout_ns;
}

/* The registry entry, on the slow path only (nothing new yet): relaxed stores to our own
 * cache line, read by `shmbus stat`. */
static void note(shmbus_sub *s, uint32_t state) {
  if (s->reg == NULL) return;
  atomic_store_explicit(&s->reg->state, state, memory_order_relaxed);
}

static void note_wait(shmbus_sub *s, int mode) {
  if (s->reg == NULL) return;
  atomic_store_explicit(&s->reg->cursor, s->cursor, memory_order_relaxed);
  atomic_store_explicit(&s->reg->lost, s->lost_total, memory_order_relaxed);
  atomic_store_explicit(&s->reg->active_ns, (uint64_t)shmbus__now(CLOCK_REALTIME),
                        memory_order_relaxed);
  note(s, (uint32_t)mode);
}

/* Spin phase: load `latest` with a pause in between until @until; the clock and the state
 * checks every 64 rounds. Return: 0 (something new), 1 (@until reached), or a state error. */
static int spin_phase(shmbus_sub *s, int through, int64_t until, int64_t *now) {
  unsigned i;
  int rc;
  while (*now < until) {
    shmbus__spun();
    for (i = 0; i < 64; i++) {
      if (slot_reached(s)) return 0;
      shmbus__cpu_relax();
    }
    if (have_new(s)) return 0; /* `latest` too, once in 64 rounds: whatever the slots say */
    *now = shmbus__now(CLOCK_MONOTONIC);
    rc = check_state(s, through, *now, 0);
    if (rc < 0) return rc;
  }
  return 1;
}

/* One sleep on the futex word: the layout-2 wake word when we have the wake page, else (layout
 * 1, or no wake page: another IPC namespace) the header's counter, polled at the tick. */
static int sleep_once(shmbus_sub *s, uint32_t seen, int64_t ns, int *spurious) {
  int rc;
  if (s->wake && s->layout >= 2) rc = shmbus__wake_sleep_bounded(s->wake, s->h, seen, ns, spurious);
  else rc = shmbus__futex_wait(&s->h->futex, seen, ns);
  count_woken(rc);
  return rc;
}

/* Sleep phase: announce, re-check, sleep; until something new, a state error or @deadline.
 * EINTR, EAGAIN (the word moved), ETIMEDOUT (a tick) and spurious wakes: loop and re-check. */
static int sleep_phase(shmbus_sub *s, int through, int mode, int64_t deadline) {
  int spurious = 0; /* EAGAINs in a row, each followed by nothing new (core/wake.h) */
  for (;;) {
    int64_t now, t;
    uint32_t seen;
    int rc;
    note(s, (uint32_t)mode | SHMBUS__RS_ASLEEP);
    if (s->wake && s->layout >= 2)
      seen = shmbus__wake_prepare(s->wake); /* pairs with shmbus__wake_publish() */
    else seen = atomic_load_explicit(&s->h->futex, memory_order_acquire);
    if (have_new_sc(s)) break;
    now = shmbus__now(CLOCK_MONOTONIC);
    rc = check_state(s, through, now, now >= deadline || shmbus__pollfd_death_seen(s));
    if (rc < 0) {
      note(s, (uint32_t)mode);
      return rc;
    }
    if (now >= deadline) {
      note(s, (uint32_t)mode);
      return -ETIMEDOUT;
    }
    t = deadline - now < SHMBUS__TICK() ? deadline - now : SHMBUS__TICK();
    sleep_once(s, seen, t, &spurious);
  }
  note(s, (uint32_t)mode);
  return 0;
}

/* How many hybrid waiters may spin at once: the cores but one (the writer's), at most
 * SHMBUS__SPIN_SLOTS. With more spinners than free cores, spinning only steals the core a
 * writer or a woken reader needs (bench/README.md: hybrid 2-4x slower than sleep then). */
static unsigned spin_leases(void) {
  static _Atomic int cached;
  int n = atomic_load_explicit(&cached, memory_order_relaxed);
  if (n == 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    n = cpus <= 1                             ? -1
        : cpus - 1 > (long)SHMBUS__SPIN_SLOTS ? (int)SHMBUS__SPIN_SLOTS
                                              : (int)cpus - 1;
    atomic_store_explicit(&cached, n, memory_order_relaxed);
  }
  return n < 0 ? 0 : (unsigned)n;
}

/* The hybrid wait's rule: take a free (or expired) spin lease until @until, or do not spin.
 * A lease is never given back: it expires by itself at @until, so a reader that dies spinning
 * blocks nobody, and a record seen early costs no store. A lease more than a second ahead is
 * garbage (a hostile reader's), and free. Return: 1 with a lease, 0 without. */
static int take_spin_lease(shmbus_sub *s, int64_t now, int64_t until) {
  unsigned i, n = spin_leases();
  if (s->wake == NULL || s->layout < 2) return n > 0;
  for (i = 0; i < n; i++) {
    _Atomic uint64_t *lease = &s->wake->spin_until[i];
    uint64_t cur = atomic_load_explicit(lease, memory_order_relaxed);
    if (cur > (uint64_t)now && cur - (uint64_t)now < 1000000000ull) continue; /* taken */
    if (atomic_compare_exchange_strong_explicit(lease, &cur, (uint64_t)until, memory_order_relaxed,
                                                memory_order_relaxed))
      return 1;
  }
  return 0;
}

static int wait_impl(shmbus_sub *s, int64_t timeout_ns, int mode) {
  int through = (mode & SHMBUS_WAIT_THROUGH_DEATH) != 0, how = mode & SHMBUS_WAIT_MODE_MASK;
  int64_t start, now, deadline, spin_until;
  int rc;

  if (s == NULL || (mode & ~(SHMBUS_WAIT_MODE_MASK | SHMBUS_WAIT_THROUGH_DEATH)) ||
      how == SHMBUS_WAIT_MODE_MASK)
    return -EINVAL;
  if (shmbus__replaced(s->h, memory_order_acquire))
    return -ESTALE; /* before slot_reached(): records of a replaced bus are not handed out */
  /* Already there? The cursor's slot, not `latest`: seq = 2v commits record v, and latest >= v
   * implies that slot reached 2v (or a lap), so this is the same answer without taking the
   * line the writer's seq_cst store of `latest` must own (bench/README.md, "Small-record fast
   * path": a reader that loaded `latest` on every call made each publish fetch it back). */
  if (slot_reached(s)) return 0;
  start = now = shmbus__now(CLOCK_MONOTONIC);
  deadline = deadline_of(start, timeout_ns);
  note_wait(s, how);

  switch (how) {
    case SHMBUS_WAIT_SPIN: spin_until = deadline; break;
    case SHMBUS_WAIT_HYBRID:
      spin_until =
          deadline - start < SHMBUS__HYBRID_SPIN_NS ? deadline : start + SHMBUS__HYBRID_SPIN_NS;
      if (spin_until > start && !take_spin_lease(s, start, spin_until)) spin_until = start;
      break;
    default: spin_until = start; break;
  }
  if (spin_until > start) {
    note(s, (uint32_t)how | SHMBUS__RS_SPINNING);
    rc = spin_phase(s, through, spin_until, &now);
    note(s, (uint32_t)how);
    if (rc <= 0) return rc;
  }
  if (now >= deadline) {
    /* Out of time: still tell a death or a replacement apart from a timeout (every path
     * runs the checks; forced, since a timeout is the caller's moment to learn it). */
    if (have_new(s)) return 0;
    rc = check_state(s, through, now, 1);
    return rc < 0 ? rc : -ETIMEDOUT;
  }
  return sleep_phase(s, through, how, deadline);
}

int shmbus_sub_wait(shmbus_sub *s, int64_t timeout_ns, int mode) {
  int rc = wait_impl(s, timeout_ns, mode);
  /* A reported death (or a timeout) is consumed: the pollable descriptor goes quiet. */
  if (s && s->pfd && rc != -EINVAL) shmbus__pollfd_seen(s, rc);
  return rc;
}

/* shmbus__kick() - after a state change (writer opened, closed, replaced; shmbus rm): wake
 * every sleeper of bus @h, owned by @owner, so it re-checks at once. Both words: the header's
 * counter (readers without a wake page, and layout 1) and the wake page's eventcount. */
void shmbus__kick(struct shmbus__header *h, uid_t owner) {
  struct shmbus__wake *w;
  atomic_fetch_add_explicit(&h->futex, 1, memory_order_seq_cst);
  shmbus__futex_wake(&h->futex, INT_MAX);
  if (h->layout_version < 2) return;
  w = shmbus__wake_attach(h, owner);
  if (w == NULL) return;
  shmbus__wake_all(w);
  shmbus__wake_detach(w);
}
