/* wake.pml - the wait/wake protocol of docs/PROTOCOL.md in Promela, checked with Spin.
 *
 * Spin explores every interleaving under sequential consistency. That is enough here: a lost
 * wakeup is an interleaving bug (the C11 orderings that make each step below behave as one
 * sequentially consistent step are argued in core/wake.h and docs/PROTOCOL.md). The futex is
 * modelled as the kernel implements it: FUTEX_WAIT compares the word and queues in one atomic
 * step; FUTEX_WAKE(n) dequeues the n oldest sleepers (FIFO among equal priorities).
 *
 * There is no tick in the model: a sleeper nobody wakes stays blocked, and Spin reports the
 * run as an invalid end state. "No sleeper misses a publish" is therefore: every reader ends
 * having consumed the last version.
 *
 * Variants (spin -D...):
 *   (none)     layout 2: eventcount word, writer wakes FW, woken readers pass on FR.
 *   V1         layout 1 (the negative control): flag cleared by the writer's exchange, readers
 *              wait on the header's counter. Must fail: the lost wakeup of issue 12.
 *   KILL       reader 0 may die right after being woken, before passing the wake on.
 *   FW=1       with KILL: the writer wakes one; must fail (a killed reader stops the cascade).
 *   POLLFD     the pollable descriptor's drain against the notifier's signal (fixed order).
 *   POLLFD_V1  the old drain order (the negative control): must fail.
 */
#ifndef NR
#define NR 3
#endif
#ifndef P
#define P 2
#endif
#ifndef FW
#define FW 2
#endif
#define FR 2

byte latest = 0;
byte word = 0;     /* layout 2: bit 0 = W, the rest the epoch (mod 256 is plenty here) */
byte flag = 0;     /* layout 1 */
byte fut = 0;      /* layout 1: the header's event counter */
byte tq[NR];       /* FIFO ticket of a queued sleeper; 0 = not queued */
byte ticket = 1;

/* FUTEX_WAIT(addr, val) where addr's current value is cur: queue, or EAGAIN. */
inline futex_wait(i, cur, val) {
  atomic { if :: cur == val -> tq[i] = ticket; ticket++ :: else -> skip fi }
  (tq[i] == 0)   /* queued until somebody dequeues us */
}

/* FUTEX_WAKE(n): dequeue the n oldest. */
inline futex_wake(n) {
  atomic {
    k = 0;
    do
    :: k < n ->
       best = 255; sel = NR; j = 0;
       do
       :: j < NR -> if :: tq[j] != 0 && tq[j] < best -> best = tq[j]; sel = j :: else fi; j++
       :: else -> break
       od;
       if :: sel < NR -> tq[sel] = 0; k++ :: else -> break fi
    :: else -> break
    od;
    k = 0; j = 0; sel = 0; best = 0
  }
}

#if defined(POLLFD) || defined(POLLFD_V1)
/* The owner drains the eventfd (nothing left to read) while the notifier signals a new reason
 * (say, the writer died: a reason the owner does not re-check). Afterwards the descriptor must
 * be readable. */
byte signaled = 1, efd = 1, reason = 0, finished = 0;

inline signal_fd() {
  atomic { t = signaled; signaled = 1 };
  if :: t == 0 -> efd++ :: else -> skip fi
}

proctype notifier() {
  byte t;
  reason = 1;    /* published in shared state before signalling (pf->dead_life, latest, ...) */
  signal_fd();
  signal_fd();   /* the next tick: the reason still holds */
  finished++
}

proctype owner() {
  byte t;
#ifdef POLLFD_V1
  signaled = 0;                  /* exchange(signaled, 0) */
  efd = 0;                       /* read(efd) */
#else
  efd = 0;                       /* read(efd) */
  signaled = 0;                  /* exchange(signaled, 0) */
  if :: reason == 1 -> signal_fd()   /* re-check every reason the notifier signals */
     :: else -> skip
  fi;
#endif
  finished++
}

init {
  atomic { run notifier(); run owner() }
  (finished == 2);
  assert(reason == 0 || efd > 0)
}
#else

proctype writer() {
  byte v = 1, w, k, best, sel, j;
  do
  :: v > P -> break
  :: else ->
#ifdef V1
     latest = v;                          /* store(latest, v, release) */
     fut++;                               /* fetch_add(futex, 1, seq_cst) */
     if
     :: flag != 0 -> flag = 0;            /* load(flag) != 0 && exchange(flag, 0) != 0 */
        futex_wake(NR)                    /* FUTEX_WAKE(INT_MAX) */
     :: else -> skip
     fi;
#else
     latest = v;                          /* store(latest, v, seq_cst) */
     w = word;                            /* load(word, seq_cst) */
     if
     :: (w & 1) -> word = w + 1;          /* exchange(word, w + 1): next epoch, W clear */
        futex_wake(FW)
     :: else -> skip
     fi;
#endif
     v++
  od
}

proctype reader(byte i) {
  byte cursor = 1, seen, k, best, sel, j;
  do
  :: cursor > P -> break
  :: else ->
     if
     :: latest >= cursor -> cursor = latest + 1   /* read it */
     :: else ->
#ifdef V1
        flag = 1;                                 /* store(flag, 1); fence(seq_cst) */
        seen = fut;                               /* load(futex) */
        if
        :: latest >= cursor -> skip
        :: else -> futex_wait(i, fut, seen)
        fi
#else
        atomic { seen = word | 1; word = word | 1 }   /* fetch_or(word, 1, seq_cst) */
        if
        :: latest >= cursor -> skip                   /* re-check: seq_cst load */
        :: else ->
           futex_wait(i, word, seen);
           if
           :: word != seen ->                         /* the word moved: pass it on */
#ifdef KILL
              if :: i == 0 -> goto dead :: true -> skip fi;
#endif
              futex_wake(FR)
           :: else -> skip
           fi
        fi
#endif
     fi
  od;
dead: skip
}

init {
  byte i = 0;
  atomic {
    run writer();
    do :: i < NR -> run reader(i); i++ :: else -> break od
  }
}
#endif
