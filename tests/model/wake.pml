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
 *   (none)     layout 2: eventcount word. The writer wakes FD directly when T (bit 1) is
 *              clear, FW (tree mode) or FD (a probe: any publish may be one) when it is set,
 *              and after a direct wake flips T on what FUTEX_WAKE returned (fetch_or or
 *              fetch_and of bit 1): full, set T; short while T is set, clear it. T starts
 *              either way (a hostile reader's leftover). Woken readers pass on FR.
 *   V1         layout 1 (the negative control): flag cleared by the writer's exchange, readers
 *              wait on the header's counter. Must fail: the lost wakeup of issue 12.
 *   T0=0, T0=2 the word starts with T clear (a fresh word) or set, not either (state space).
 *   NOPROBE    tree mode never probes (the old all-tree writer, when T0=2).
 *   KILL       reader 0 may die right after being woken, before passing the wake on.
 *   FW=1       with KILL: the writer wakes one; must fail (a killed reader stops the cascade).
 *   FLIP_STORE the mode flip as a plain store of the word (the negative control): it can
 *              clear a W set after the writer's exchange; must fail (a lost wakeup).
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
#ifndef FD
#define FD NR      /* the direct wake (5 in C): NR here, so that it can come back full */
#endif
#define FR 2

byte latest = 0;
byte word = 0;     /* layout 2: bit 0 = W, bit 1 = T, bits 2-7 the epoch (mod 64 is plenty) */
byte flag = 0;     /* layout 1 */
byte fut = 0;      /* layout 1: the header's event counter */
byte tq[NR];       /* FIFO ticket of a queued sleeper; 0 = not queued */
byte ticket = 1;

/* FUTEX_WAIT(addr, val) where addr's current value is cur: queue, or EAGAIN. */
inline futex_wait(i, cur, val) {
  atomic { if :: cur == val -> tq[i] = ticket; ticket++ :: else -> skip fi }
  (tq[i] == 0)   /* queued until somebody dequeues us */
}

/* FUTEX_WAKE(n): dequeue the n oldest; how many in k until the caller resets it. */
inline futex_wake_k(n) {
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
    j = 0; sel = 0; best = 0
  }
}

inline futex_wake(n) {
  atomic { futex_wake_k(n); k = 0 }
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
     :: (w & 1) ->
        word = ((w & 252) + 4) | (w & 2);  /* exchange: next epoch, W clear, T kept */
        if
        :: (w & 2) -> futex_wake(FW)       /* tree mode */
        :: else -> goto direct
#ifndef NOPROBE
        :: (w & 2) ->                      /* tree mode's probe (every 16th epoch in C) */
#endif
direct:  futex_wake_k(FD);                 /* direct: wake every sleeper (up to FD); */
           if                              /* k: what it returned; the mode flip on it */
#ifdef FLIP_STORE
           :: k == FD && !(w & 2) -> word = ((w & 252) + 4) | 2  /* a store: clears new Ws */
#else
           :: k == FD && !(w & 2) -> word = word | 2             /* fetch_or(word, T) */
#endif
           :: k < FD && (w & 2) -> word = word & 253             /* fetch_and(word, ~T) */
           :: else -> skip
           fi;
           k = 0
        fi
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
#ifdef T0
    word = T0;                       /* 0: a fresh word; 2: T set */
#else
    if :: word = 0 :: word = 2 fi;   /* T as a hostile reader may have left it */
#endif
    run writer();
    do :: i < NR -> run reader(i); i++ :: else -> break od
  }
}
#endif
