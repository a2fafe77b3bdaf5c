/* floors.h - what the hardware and kernel allow at best (benchmarks only).
 *
 * spin floor:  the writer stores a timestamp into one shared cache line and bumps a sequence
 *              word; the reader spins on the word. Nothing cheaper moves data between cores.
 * futex floor: the same line, but the reader sleeps in FUTEX_WAIT and the writer calls
 *              FUTEX_WAKE after the store: the price of one sleeping wakeup.
 * memcpy:      glibc memcpy of each size, and the relaxed 64-bit atomic load loop that
 *              core/copy.h uses, and that loop unrolled by four, all with source and
 *              destination hot in this core's caches.
 */
#ifndef BENCH_FLOORS_H
#define BENCH_FLOORS_H

#include <stddef.h>

#include "bench/harness.h"

extern const struct transport floor_spin;
extern const struct transport floor_futex;

enum copy_kind { COPY_MEMCPY = 0, COPY_ATOMIC64 = 1, COPY_ATOMIC64_X4 = 2 };

/* copy_kernel() - copy @size bytes from @src to @dst the @kind way (enum copy_kind). */
void copy_kernel(int kind, void *dst, const void *src, size_t size);

/* bench_batch() - copies per sample for @size: enough to make a sample >= ~2 us. */
long bench_batch(size_t size);

#endif /* BENCH_FLOORS_H */
