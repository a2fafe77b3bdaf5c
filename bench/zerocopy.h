/* zerocopy.h - shmbus zero-copy rows (issue 17): a reserve/store/commit writer and a
 * borrowing reader, run by the same harness next to the copying rows (benchmarks only). */
#ifndef BENCH_ZEROCOPY_H
#define BENCH_ZEROCOPY_H

#include <stdio.h>

#include "bench/harness.h"
#include "bench/report.h"

/* Latency: one bus of 8 slots whose capacity is the record size. The writer reserves the
 * record, stores only the harness's 16 header bytes (t0 and the record number) with
 * shmbus_pub_store() and commits @size bytes: the payload is produced in place, as a
 * zero-copy producer does. The reader waits in the run's mode, borrows the record
 * (shmbus_sub_borrow(), next mode), copies the 16 header bytes out with shmbus_borrow_copy(),
 * checks shmbus_sub_borrow_valid() and releases: it holds the record, checked, without
 * copying it. Transport name "shmbus-zc". */
extern const struct transport shmbus_zc_transport;

/* zc_targets() - issue 17's zero-copy targets from @r's rows of this run, as a Markdown table
 * to @f: zero-copy p50 at 1 MiB <= 2x zero-copy at 64 B (spin and sleep); a Unix socket >= 10x
 * slower than zero-copy sleep at 1 MiB; and the zero-copy / copying ratios per size. */
void zc_targets(const struct report *r, FILE *f);

#endif /* BENCH_ZEROCOPY_H */
