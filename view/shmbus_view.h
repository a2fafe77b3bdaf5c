/* shmbus_view - in-process fan-out of a bus's snapshots to many threads, with RCU.
 *
 * A process whose threads all want the latest record of one bus (16 controller workers reading
 * one robot state, every planning thread reading one 4 MiB map) opens one view instead of one
 * shmbus_sub per thread. The view's follower thread waits on the bus, copies each new record
 * ONCE out of shared memory into a heap snapshot and publishes the snapshot as an RCU-protected
 * pointer. Reader threads get the latest snapshot in place, without copying, inside an RCU
 * read-side critical section. docs/LOCAL-VIEW.md explains the design; this header is the
 * contract.
 *
 * Invariant: a snapshot a reader obtains inside a read-side critical section is immutable and
 * stays allocated, with exactly the bytes the writer published for its version, until that
 * critical section ends (or until shmbus_view_release() for one the reader held).
 *
 * RCU flavour: liburcu's "memb" (urcu/urcu-memb.h). Its read side is a thread-local counter
 * store and a compiler barrier: no atomic read-modify-write, no fence, no shared cache line, so
 * readers scale with the number of threads. The grace-period side pays instead, with one
 * membarrier(2) system call (MEMBARRIER_CMD_PRIVATE_EXPEDITED) per grace period; it runs in
 * liburcu's call_rcu thread, never in a reader. Unlike the "signal" flavour it reserves no
 * signal, unlike "qsbr" readers need not announce quiescent states, and unlike "bp" it has no
 * per-read registration check. (On a kernel without membarrier liburcu falls back to a fence in
 * every read_lock; still correct, slower.)
 *
 * Cost (bench/view/README.md, 2 vCPUs): a read (lock, latest, unlock) takes ~12 ns for any
 * record size and 1 to 64 threads; a thread copying with shmbus_sub_read_latest() pays ~10 ns
 * at 64 B, ~160 ns at 4 KiB, ~38 us at 1 MiB. Most of the 12 ns is liburcu's shared library
 * finding its thread-local state; building with -DSHMBUS_VIEW_LGPL_INLINE inlines liburcu's
 * (LGPL) read side and brings a read to ~4.4 ns. The follower pays one copy per publish.
 *
 * Lifecycle:
 *   shmbus_view_open(bus)                              starts the follower thread
 *   every reader thread:
 *     shmbus_view_thread_register()                    once, before its first read
 *     shmbus_view_read_lock();
 *       s = shmbus_view_latest(v);                     NULL until the first record
 *       ... use s->data, s->length, s->version ...     no copy; never write to it
 *     shmbus_view_read_unlock();                       s may be freed from here on
 *     shmbus_view_thread_unregister()                  once, before the thread exits
 *   shmbus_view_stop(v)                                optional: freeze, wake waiters
 *   shmbus_view_close(v)                               once no thread will call with v again
 *
 * Thread registration: a thread calls shmbus_view_thread_register() before its first
 * shmbus_view_read_lock() and shmbus_view_thread_unregister() before it exits. Registration is
 * per thread, not per view: one registration serves every view of the process. Calls nest
 * (counted). Use these two, not urcu_memb_register_thread() directly, in threads that use views
 * (a thread registered only through liburcu is not known to the view; read_lock aborts with a
 * message rather than run an unprotected reader). The thread that calls shmbus_view_open(),
 * _stop() and _close() need not be registered, and must not be inside a read-side critical
 * section on close.
 *
 * What a reader may keep after shmbus_view_read_unlock(): values it copied (version, seq,
 * timestamp_ns, length, any bytes it copied out of data). Never the snapshot pointer, nor any
 * pointer into data: the snapshot may be freed as soon as the critical section ends. To keep a
 * snapshot longer without holding a critical section open (a long computation on a big map),
 * take a reference with shmbus_view_hold() inside the critical section and drop it with
 * shmbus_view_release() when done. A long critical section does not block the follower, but
 * every snapshot retired during it stays in memory until it ends.
 *
 * Concurrency: any number of registered threads read concurrently; no reader ever waits for the
 * follower or for another reader, and the follower never waits for a reader (retired snapshots
 * are freed later through call_rcu). Read-side critical sections nest. Inside one, a thread must
 * not call shmbus_view_close() or shmbus_view_wait(), nor block for long.
 */
#ifndef SHMBUS_VIEW_H
#define SHMBUS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "core/shmbus.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SHMBUS_VIEW_MAX_HISTORY 1024u

typedef struct shmbus_view shmbus_view;

/* One record as the view holds it. Immutable once a reader can see it. */
struct shmbus_view_snap {
  uint64_t version;      /* the bus's version of the record */
  uint64_t seq;          /* the view's own count: 1, 2, 3, ...; grows even when the bus is
                            replaced and its versions start again */
  uint64_t timestamp_ns; /* CLOCK_REALTIME when the writer published it */
  uint64_t length;       /* bytes at data */
  const void *data;      /* the record, 64-byte aligned; valid as the snapshot is */
};

/* View options. Initialise with shmbus_view_opts_init(), then set what differs. */
struct shmbus_view_opts {
  unsigned history; /* snapshots kept, newest first (1..SHMBUS_VIEW_MAX_HISTORY); default 1 */
  int wait_mode;    /* the follower's shmbus_sub_wait() mode; default SHMBUS_WAIT_HYBRID */
};

/* shmbus_view_opts_init() - fill @o with the defaults (latest only, hybrid wait). */
void shmbus_view_opts_init(struct shmbus_view_opts *o);

/* shmbus_view_open() - open bus @name read-only and start following it.
 * Starts the follower thread, which waits on the bus and publishes a snapshot of each newer
 * record (it takes the latest: records published faster than it copies are skipped, as with
 * shmbus_sub_read_latest()). A record already on the bus is published at once. When the bus is
 * replaced or removed (-ESTALE) the follower reopens it by name every 10 ms; when its writer
 * dies the snapshots stay and the view follows the next writer. @opts may be NULL.
 * Context: any thread. Return: 0 and *@out; the errors of shmbus_sub_open() (the bus must exist
 * when the view opens); -EINVAL (bad @opts); -ENOMEM; -EAGAIN (no thread could be created).
 */
int shmbus_view_open(const char *name, const struct shmbus_view_opts *opts, shmbus_view **out);

/* shmbus_view_stop() - stop following: the follower thread exits, the snapshots stay readable
 * (frozen), shmbus_view_wait() returns -ESHUTDOWN at once in every thread. Idempotent; NULL is a
 * harmless no-op. Readers may keep running during and after it.
 */
void shmbus_view_stop(shmbus_view *v);

/* shmbus_view_close() - stop, retire every snapshot, wait until every reader that might still
 * see one has left its critical section and the snapshots are freed (snapshots held with
 * shmbus_view_hold() are freed by their last shmbus_view_release()), then free the view.
 * Readers may be inside a critical section on a snapshot of @v while it runs (it waits for
 * them), but no thread may call any function with @v once close has begun: stop the view and
 * join or quiesce the readers first. NULL is a harmless no-op.
 * Every kept snapshot is unlinked first, so shmbus_view_older() of a held one returns NULL.
 * Context: not inside a read-side critical section (it would wait for itself forever; it
 * aborts with a message instead).
 */
void shmbus_view_close(shmbus_view *v);

/* shmbus_view_thread_register() / _unregister() - see "Thread registration" above.
 * Return: 0 (liburcu aborts the process when it cannot allocate its per-thread state).
 */
int shmbus_view_thread_register(void);
void shmbus_view_thread_unregister(void);

/* shmbus_view_read_lock() / _unlock() - begin / end a read-side critical section. Wait-free:
 * a thread-local store and a compiler barrier (memb flavour). Nest. The thread must be
 * registered (else it aborts with a message: running unprotected would free memory under it).
 */
void shmbus_view_read_lock(void);
void shmbus_view_read_unlock(void);

/* shmbus_view_latest() - the newest snapshot, or NULL if none yet.
 * Context: inside a read-side critical section; the result is valid until it ends. One acquire
 * load (a plain load on x86-64).
 */
const struct shmbus_view_snap *shmbus_view_latest(shmbus_view *v);

/* shmbus_view_older() - the snapshot the view published before @s, or NULL when the view keeps
 * no older one (opts.history reached, or history 1). Walking from shmbus_view_latest() gives at
 * most opts.history snapshots, newest first, each older than the one before (a consistent
 * chain: the follower cuts the oldest off before it publishes a new one).
 * Context: inside the critical section in which @s was obtained, or, for a snapshot held with
 * shmbus_view_hold(), inside any critical section (a link is NULL or leads to a snapshot still
 * in the chain; a retired or closed snapshot's link is NULL).
 */
const struct shmbus_view_snap *shmbus_view_older(const struct shmbus_view_snap *s);

/* shmbus_view_hold() - take a reference on @s so it outlives the critical section.
 * Context: inside the critical section in which @s was obtained. One atomic increment on the
 * snapshot's header (a shared cache line: for long uses, not for every read).
 * Return: @s, valid until shmbus_view_release(@s).
 */
const struct shmbus_view_snap *shmbus_view_hold(const struct shmbus_view_snap *s);

/* shmbus_view_release() - drop a reference taken by shmbus_view_hold(); the last one frees the
 * snapshot. Context: any thread, registered or not, inside a critical section or not; also
 * after shmbus_view_close(). NULL is a harmless no-op.
 */
void shmbus_view_release(const struct shmbus_view_snap *s);

/* shmbus_view_copy_latest() - copy the newest snapshot's record into @buf (@cap bytes), for a
 * reader that wants its own copy: read_lock, latest, copy, read_unlock. The thread must be
 * registered. @info may be NULL (info->lost is 0).
 * Return: the length; -ENODATA (nothing yet); -ENOBUFS (info->length = the size needed).
 */
ssize_t shmbus_view_copy_latest(shmbus_view *v, void *buf, size_t cap,
                                struct shmbus_record_info *info);

/* shmbus_view_seq() - the seq of the newest snapshot (0 = none yet). Any thread, no critical
 * section needed.
 */
uint64_t shmbus_view_seq(const shmbus_view *v);

/* shmbus_view_wait() - sleep until the view holds a snapshot with seq > @seen, for at most
 * @timeout_ns (< 0: forever; 0: just check). Re-checks after every wakeup.
 * Context: any thread, outside a read-side critical section (waiting inside one would hold back
 * every retired snapshot's memory). The follower's cost: one FUTEX_WAKE per snapshot, only while
 * some thread waits.
 * Return: 0 (newer snapshot: read it; also after a stop, so the last one is not missed);
 *         -ETIMEDOUT; -ESHUTDOWN (the view was stopped and holds nothing newer than @seen).
 */
int shmbus_view_wait(shmbus_view *v, uint64_t seen, int64_t timeout_ns);

#ifdef SHMBUS_VIEW_TESTING
/* Tests only (//view:shmbus_view_testing): 1 = retire snapshots by poisoning them at once,
 * without a grace period (the negative control); 0 = the real call_rcu path. */
void shmbus_view__testing_early_free(int on);
#endif

/* The follower's state, for monitoring. */
struct shmbus_view_stats {
  uint64_t published; /* snapshots published */
  uint64_t skipped;   /* bus versions never published (writer faster than the follower) */
  uint64_t reopens;   /* times the bus was reopened after -ESTALE */
  uint64_t errors;    /* failed reads or allocations (retried after 10 ms) */
  int state;          /* 0 following; -EOWNERDEAD writer gone (snapshots stay, the next writer
                         is followed); -ESTALE bus gone, reopening; -ESHUTDOWN stopped */
};

/* shmbus_view_stats() - fill @st. Any thread. A snapshot is counted before it becomes
 * visible: after a thread saw snapshot version V (shmbus_view_latest(), shmbus_view_seq()),
 * published + skipped covers every bus version up to V. Return: 0; -EINVAL. */
int shmbus_view_stats(const shmbus_view *v, struct shmbus_view_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_VIEW_H */
