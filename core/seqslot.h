/* seqslot.h - the seqlock of one slot: both halves side by side (docs/PROTOCOL.md, Write side
 * and Read side), so that both ends of every ordering pair are on one screen.
 *
 * Invariant: a reader accepts the bytes of a slot as version v only if it loaded seq == 2v
 * (acquire) before reading them and loaded the same value again after, behind an acquire
 * fence (Boehm, "Can seqlocks get along with programming language memory models?", 2012).
 * Every payload access on both sides is a relaxed atomic (core/copy.h), so the protocol is
 * free of data races in C11.
 */
#ifndef SHMBUS_SEQSLOT_H
#define SHMBUS_SEQSLOT_H

#include "core/layout.h"

/* ---------------------------------------------------------------- write side (the writer) */

/* shmbus__seq_write_begin() - mark @s as being written with version @v (seq = 2v - 1).
 * The release fence orders this odd seq before every payload store that follows: pairs with
 * the reader's acquire fence in shmbus__seq_read_retry(), whose second load of seq then sees
 * 2v - 1 (or later) if its copy saw any of our stores. */
static inline void shmbus__seq_write_begin(struct shmbus__slot *s, uint64_t v) {
  atomic_store_explicit(&s->seq, 2 * v - 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
}

/* shmbus__seq_write_end() - the record of version @v is complete (seq = 2v). Release: pairs
 * with the reader's acquire load in shmbus__seq_read_begin(): a reader that sees 2v sees
 * every payload store before this one. */
static inline void shmbus__seq_write_end(struct shmbus__slot *s, uint64_t v) {
  atomic_store_explicit(&s->seq, 2 * v, memory_order_release);
}

/* ---------------------------------------------------------------- read side (any reader) */

/* shmbus__seq_read_begin() - the slot's seq before reading. Acquire: pairs with
 * shmbus__seq_write_end(). */
static inline uint64_t shmbus__seq_read_begin(const struct shmbus__slot *s) {
  return atomic_load_explicit(&s->seq, memory_order_acquire);
}

/* shmbus__seq_read_retry() - 1 if what was read since shmbus__seq_read_begin() returned @s1
 * may be torn (the writer came by), else 0. The acquire fence (not an acquire load: the
 * classic mistake) pairs with the release fence in shmbus__seq_write_begin(). */
static inline int shmbus__seq_read_retry(const struct shmbus__slot *s, uint64_t s1) {
  atomic_thread_fence(memory_order_acquire);
  return atomic_load_explicit(&s->seq, memory_order_relaxed) != s1;
}

#endif /* SHMBUS_SEQSLOT_H */
