/* wake.h - the wake protocol of layout 2: an eventcount with a bounded wake cascade.
 *
 * Both halves live here, side by side, so that both ends of every ordering pair are on one
 * screen (docs/PROTOCOL.md, Wait/wake, has the proof; tests/model/wake.pml checks it).
 *
 * The word (struct shmbus__wake.word, on the reader-writable wake page):
 *   bit 0      W: "a sleeper may be queued on this word"
 *   bit 1      T: tree mode, the writer's hint to itself (readers compare whole words)
 *   bits 2-31  epoch: changes whenever a publish or a state change had to wake somebody
 *
 * Invariant: a sleeper queues in FUTEX_WAIT only with the value it saw after setting W, and
 * nobody clears W without a FUTEX_WAKE after it. So a sleeper that has not yet queued when a
 * publish changes the word gets EAGAIN (the kernel compares), and one that has queued is
 * woken, by the waker directly or by the cascade (below).
 *
 * Cascade: a FUTEX_WAKE(INT_MAX) costs the caller time in proportion to the sleepers. Instead
 * the writer wakes SHMBUS__FANOUT_WRITER sleepers, and every reader that finds the word moved
 * from the value it slept on wakes SHMBUS__FANOUT_READER more before it reads: the wake spreads
 * as a tree, the writer's cost is constant, and a reader killed before passing the wake on is
 * covered by its siblings (and, should all of them die, by the tick).
 *
 * Direct mode: with few sleepers the first woken reader's pass-on wakes its siblings before it
 * reads (on its own core, often), which made it later than the broadcast (issue 20: 1.2-1.4x
 * at 4 sleepers). So while T is clear the writer wakes SHMBUS__FANOUT_DIRECT at once, every
 * sleeper when there are at most SHMBUS__FANOUT_DIRECT - 1; a direct wake that comes back full
 * sets T (more sleep: tree mode), and in tree mode every SHMBUS__PROBE_EVERY-th epoch is a
 * direct wake again, which clears T when it comes back short. T changes only by fetch_or /
 * fetch_and of bit 1 (never clearing W), and whatever T says the cost stays constant.
 */
#ifndef SHMBUS_WAKE_H
#define SHMBUS_WAKE_H

#include <errno.h>
#include <limits.h>

#include "core/internal.h"

#define SHMBUS__FANOUT_WRITER 2 /* tree mode */
#define SHMBUS__FANOUT_READER 2
#define SHMBUS__FANOUT_DIRECT 5 /* direct mode and probes: wakes all of up to 4 sleepers */
#define SHMBUS__PROBE_EVERY 16  /* tree mode: every 16th epoch is a direct wake (a probe) */
#define SHMBUS__WAKE_W 1u
#define SHMBUS__WAKE_T 2u
#define SHMBUS__WAKE_EPOCH 4u /* one epoch: bits 2-31 */
/* A hostile reader can change the word with no publish behind it, over and over: every
 * sleeper's FUTEX_WAIT then returns EAGAIN at once, and a sleeper would loop on it. After this
 * many EAGAINs in a row with nothing new, a sleeper sleeps one tick on the header's counter
 * instead (readers cannot write it): the attack costs it at most that many system calls per
 * tick and delays it by at most a tick, as any attack on the wake page. */
#define SHMBUS__SPURIOUS_MAX 4

/* Test hooks, no-ops in the library proper (//core:shmbus_testing defines SHMBUS_TESTING). */
#ifdef SHMBUS_TESTING
extern int shmbus__fanout_writer; /* default SHMBUS__FANOUT_WRITER; the negative control sets 1 */
extern int shmbus__fanout_direct; /* default SHMBUS__FANOUT_DIRECT; the negative control sets 1 */
extern void (*shmbus__woken_hook)(void); /* a reader was woken, before it passes the wake on */
#define SHMBUS__WRITER_FANOUT() shmbus__fanout_writer
#define SHMBUS__DIRECT_FANOUT() shmbus__fanout_direct
static inline void shmbus__woken_step(void) {
  if (shmbus__woken_hook) shmbus__woken_hook();
}
#else
#define SHMBUS__WRITER_FANOUT() SHMBUS__FANOUT_WRITER
#define SHMBUS__DIRECT_FANOUT() SHMBUS__FANOUT_DIRECT
static inline void shmbus__woken_step(void) {}
#endif

/* The one wrapper of FUTEX_WAIT: sleep while *@word == @val, at most @ns nanoseconds.
 * Return: 0 (woken by a FUTEX_WAKE, or spuriously), or the errno: EAGAIN (the word was not
 * @val), ETIMEDOUT, EINTR. No retry here: every caller re-checks its condition and loops. */
static inline int shmbus__futex_wait(const _Atomic uint32_t *word, uint32_t val, int64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL)};
  return syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, val, &ts, NULL, 0) == 0 ? 0 : errno;
}

/* The one wrapper of FUTEX_WAKE. Return: how many sleepers it woke (0 on error). */
static inline int shmbus__futex_wake(_Atomic uint32_t *word, int n) {
  long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, n, NULL, NULL, 0);
  return r > 0 ? (int)r : 0;
}

/* ---------------------------------------------------------------- the writer's half */

/* shmbus__wake_fanout() - how many the writer wakes for the epoch @e it starts, the word
 * having been @v: SHMBUS__FANOUT_DIRECT in direct mode (T clear) and on tree mode's probes,
 * else SHMBUS__FANOUT_WRITER. Sets *@direct to 1 for a direct wake (then the mode may
 * change). A tree fan-out at least as wide as the direct one has no modes (the test hooks'
 * INT_MAX: the old broadcast, which leaves T alone). */
static inline int shmbus__wake_fanout(uint32_t v, uint32_t e, int *direct) {
  int tree = SHMBUS__WRITER_FANOUT(), wide = SHMBUS__DIRECT_FANOUT();
  *direct =
      wide > tree && (!(v & SHMBUS__WAKE_T) || (e / SHMBUS__WAKE_EPOCH) % SHMBUS__PROBE_EVERY == 0);
  return *direct ? wide : tree;
}

/* shmbus__wake_publish() - after a publish: wake sleepers, if any announced themselves.
 * Context: the writer, right after its seq_cst store of `latest` (publisher.c). Nobody
 * asleep: one load, no system call. Sleepers: one exchange and one FUTEX_WAKE of at most
 * SHMBUS__FANOUT_DIRECT, whatever their number (SHMBUS__FANOUT_WRITER in tree mode, 15
 * epochs out of 16), and one more atomic on the word when the mode changes.
 * Return: 1 if it issued a FUTEX_WAKE, else 0. */
static inline int shmbus__wake_publish(struct shmbus__wake *w) {
  /* seq_cst: pairs with the sleeper's seq_cst fetch_or in shmbus__wake_prepare(). In the
   * single total order S, either this load follows the sleeper's fetch_or (we see W), or it
   * precedes it, and then so does our seq_cst store of `latest`, which the sleeper's seq_cst
   * load of `latest` therefore sees: it does not sleep. */
  uint32_t v = atomic_load_explicit(&w->word, memory_order_seq_cst), e;
  int direct, n, woken;
  if (!(v & SHMBUS__WAKE_W)) return 0;
  e = (v & ~(SHMBUS__WAKE_W | SHMBUS__WAKE_T)) + SHMBUS__WAKE_EPOCH;
  n = shmbus__wake_fanout(v, e, &direct);
  /* Next epoch, W clear, T kept. An exchange, not a CAS: wait-free whatever a hostile reader
   * does to the word. Release: a sleeper that reads this value (acquire) also sees `latest`. */
  atomic_exchange_explicit(&w->word, e | (v & SHMBUS__WAKE_T), memory_order_release);
  woken = shmbus__futex_wake(&w->word, n);
  /* The mode, on what a direct wake found: full, more may sleep (tree mode); short, every
   * sleeper was woken (direct mode). Bit 1 alone, by a read-modify-write: a W that a sleeper
   * set since the exchange stays (a plain store here loses wakeups: the model's FLIP_STORE
   * control). Relaxed: a hint; nothing else is ordered by it. */
  if (direct && woken >= n && !(v & SHMBUS__WAKE_T))
    atomic_fetch_or_explicit(&w->word, SHMBUS__WAKE_T, memory_order_relaxed);
  else if (direct && woken < n && (v & SHMBUS__WAKE_T))
    atomic_fetch_and_explicit(&w->word, ~SHMBUS__WAKE_T, memory_order_relaxed);
  return 1;
}

/* shmbus__wake_all() - a state change (writer opened, closed, replaced the bus; shmbus rm):
 * move the epoch and wake every sleeper at once. Rare, so the broadcast's cost is fine. */
static inline void shmbus__wake_all(struct shmbus__wake *w) {
  /* Next epoch, W and T kept as they are (a bystander's announcement stays valid). seq_cst:
   * the state change (a release store sequenced before) is seen by every sleeper that reads
   * it. */
  atomic_fetch_add_explicit(&w->word, SHMBUS__WAKE_EPOCH, memory_order_seq_cst);
  shmbus__futex_wake(&w->word, INT_MAX);
}

/* ---------------------------------------------------------------- the sleeper's half */

/* shmbus__wake_prepare() - announce a sleeper: set W and return the value to FUTEX_WAIT on.
 * The caller must then re-check its condition (a seq_cst load of `latest`, or a state it
 * reads after this call) and only then sleep with shmbus__wake_sleep().
 * seq_cst: pairs with the writer's seq_cst store of `latest` + seq_cst load of the word in
 * shmbus__wake_publish() (the Dekker pair above). */
static inline uint32_t shmbus__wake_prepare(struct shmbus__wake *w) {
  return atomic_fetch_or_explicit(&w->word, SHMBUS__WAKE_W, memory_order_seq_cst) | SHMBUS__WAKE_W;
}

/* shmbus__wake_sleep() - FUTEX_WAIT on the word with the value @seen from
 * shmbus__wake_prepare(), at most @ns; then pass the wake on if the word moved.
 * Return: as shmbus__futex_wait(). */
static inline int shmbus__wake_sleep(struct shmbus__wake *w, uint32_t seen, int64_t ns) {
  int rc = shmbus__futex_wait(&w->word, seen, ns);
  /* Acquire: pairs with the release exchange in shmbus__wake_publish(): seeing its epoch
   * means seeing the `latest` stored before it. */
  if (atomic_load_explicit(&w->word, memory_order_acquire) != seen) {
    shmbus__woken_step();
    /* The word moved: a publish or a state change woke (some of) us. Pass it on before
     * reading, so the wake spreads as a tree. Whoever finds the word moved does this, woken,
     * timed out or EAGAIN: a killed sibling, even a killed whole level, cannot stop it. */
    shmbus__futex_wake(&w->word, SHMBUS__FANOUT_READER);
  }
  return rc;
}

/* shmbus__wake_sleep_bounded() - shmbus__wake_sleep(), or a tick on @h's counter once
 * *@spurious (EAGAINs in a row with nothing new, kept by the caller, which resets it when it
 * finds something) reached SHMBUS__SPURIOUS_MAX. */
static inline int shmbus__wake_sleep_bounded(struct shmbus__wake *w, const struct shmbus__header *h,
                                             uint32_t seen, int64_t ns, int *spurious) {
  int rc;
  if (*spurious >= SHMBUS__SPURIOUS_MAX) {
    *spurious = 0;
    return shmbus__futex_wait(&h->futex, atomic_load_explicit(&h->futex, memory_order_acquire), ns);
  }
  rc = shmbus__wake_sleep(w, seen, ns);
  if (rc == EAGAIN) (*spurious)++;
  return rc;
}

#endif /* SHMBUS_WAKE_H */
