/* shmbus_lat.h - shmbus under the harness: latency transport, writer throughput, copy cost,
 * syscall count of publish (benchmarks only). */
#ifndef BENCH_SHMBUS_LAT_H
#define BENCH_SHMBUS_LAT_H

#include <stddef.h>
#include <stdint.h>

#include "bench/harness.h"

/* Latency: one bus of 8 slots whose capacity is the record size; readers wait with the run's
 * mode (spin, sleep, spin-then-sleep) then shmbus_sub_next() into their buffer. */
extern const struct transport shmbus_transport;

/* run_throughput() - the writer publishes @size-byte records back to back for @duration_ns
 * while @readers readers (0..BENCH_MAX_READERS) follow in @mode (BENCH_SPIN or BENCH_SLEEP).
 * @cost gets the writer's time per publish (mean over batches of 32 calls); *@per_s the
 * publish rate; *@seen the fraction of records the readers copied out (1 = every one).
 * Return: 0; a negative errno with a sentence in @err.
 */
int run_throughput(size_t size, int readers, int mode, int64_t duration_ns, struct hist *cost,
                   double *per_s, double *seen, char *err, size_t errlen);

/* run_copy_compare() - in one process, caches hot: time @samples batches (bench_batch()) of
 * each copy variant of @size bytes, round robin, into @h[variant]: the enum copy_kind
 * kernels, then COPY_SHMBUS_READ, shmbus_sub_read_latest() of a published record.
 * Return: 0; a negative errno with a sentence in @err. */
#define COPY_SHMBUS_READ 3
#define COPY_VARIANTS 4
int run_copy_compare(size_t size, long samples, struct hist h[COPY_VARIANTS], char *err,
                     size_t errlen);

/* count_publish_syscalls() - system calls the kernel counted for this thread during @n
 * publishes of @size bytes with no reader, via perf_event_open on the raw_syscalls:sys_enter
 * tracepoint. Return: the count (>= 0); a negative errno when the tracepoint is unavailable. */
long long count_publish_syscalls(size_t size, long n);

/* publish_only() - open a bus, publish @n records of @size bytes, close and remove it: the
 * loop that `strace -c` or `perf stat` is pointed at from outside. Return: 0 or -errno. */
int publish_only(size_t size, long n);

#endif /* BENCH_SHMBUS_LAT_H */
