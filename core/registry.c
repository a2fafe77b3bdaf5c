/* registry.c - who is connected: one cache line per reader on the wake page (layout 2).
 *
 * A reader claims a free entry when it opens the bus and frees it when it closes. The entry's
 * `owner` word names the process (pid and /proc start time, so a recycled pid is not mistaken
 * for it); entries of dead processes are reclaimed by the next reader that needs one, and are
 * never reported. Every field is advisory: any reader may write the whole wake page, so every
 * consumer bounds what it reads and checks liveness itself. Readers update their own entry
 * only on the slow path of a wait (nothing new yet), never while reading a record.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"

#define OWNER_PID_BITS 22 /* pid_max is at most 2^22 */
#define OWNER_PID_MASK ((1ull << OWNER_PID_BITS) - 1)

/* This process's owner word (pid | start time << 22), or 0 if /proc could not tell. */
static uint64_t self_owner(void) {
  uint64_t start = 0;
  pid_t pid = getpid();
  if (shmbus__proc_start_time(pid, &start) < 0) return 0;
  return (uint64_t)pid | (start << OWNER_PID_BITS);
}

/* 1 if @owner names a live process (same pid, same start time), else 0. */
static int owner_alive(uint64_t owner) {
  uint64_t start = 0;
  pid_t pid = (pid_t)(owner & OWNER_PID_MASK);
  int rc;
  if (owner == 0 || pid <= 0) return 0;
  rc = shmbus__proc_start_time(pid, &start);
  if (rc == -ENOENT || rc == -ESRCH) return 0;
  if (rc < 0) return 1; /* hidepid: we cannot tell, so we do not reap */
  return start == owner >> OWNER_PID_BITS;
}

static void init_entry(struct shmbus__reader *r, uint64_t cursor) {
  int64_t now = shmbus__now(CLOCK_REALTIME);
  atomic_store_explicit(&r->state, 0, memory_order_relaxed);
  atomic_store_explicit(&r->notifier, 0, memory_order_relaxed);
  atomic_store_explicit(&r->cursor, cursor, memory_order_relaxed);
  atomic_store_explicit(&r->lost, 0, memory_order_relaxed);
  atomic_store_explicit(&r->active_ns, (uint64_t)now, memory_order_relaxed);
  atomic_store_explicit(&r->opened_ns, (uint64_t)now, memory_order_relaxed);
}

/* shmbus__registry_join() - claim an entry for subscriber @s (s->wake must be a layout-2
 * wake page). A free entry first; failing that, one whose process is dead. With every entry
 * taken by live readers (SHMBUS__READERS of them), @s goes unregistered: it works as any
 * reader, it is just not listed.
 * Context: shmbus_sub_open(). Concurrent joins claim entries with a CAS, so two readers never
 * share one. */
void shmbus__registry_join(shmbus_sub *s) {
  uint64_t me = self_owner(), seen;
  unsigned i, pass;
  s->reg = NULL;
  if (s->wake == NULL || me == 0) return;
  for (pass = 0; pass < 2; pass++) {
    for (i = 0; i < SHMBUS__READERS; i++) {
      struct shmbus__reader *r = &s->wake->readers[i];
      seen = atomic_load_explicit(&r->owner, memory_order_relaxed);
      if (pass == 0 ? seen != 0 : owner_alive(seen)) continue;
      if (atomic_compare_exchange_strong_explicit(&r->owner, &seen, me, memory_order_relaxed,
                                                  memory_order_relaxed)) {
        init_entry(r, s->cursor);
        s->reg = r;
        return;
      }
    }
  }
}

/* shmbus__registry_leave() - free @s's entry (if it still holds it: a CAS, so an entry that
 * a hostile reader took over is left alone). Context: shmbus_sub_close(). */
void shmbus__registry_leave(shmbus_sub *s) {
  struct shmbus__reader *r = s->reg;
  uint64_t mine;
  if (r == NULL) return;
  mine = atomic_load_explicit(&r->owner, memory_order_relaxed);
  if ((pid_t)(mine & OWNER_PID_MASK) == getpid())
    atomic_compare_exchange_strong_explicit(&r->owner, &mine, 0, memory_order_relaxed,
                                            memory_order_relaxed);
  s->reg = NULL;
}

/* One entry, bounded: 1 and *@out if it names a live process, else 0. */
static int read_entry(const struct shmbus__reader *r, struct shmbus_reader_info *out) {
  uint64_t owner = atomic_load_explicit(&r->owner, memory_order_relaxed);
  uint32_t st, nt;
  if (!owner_alive(owner)) return 0;
  st = atomic_load_explicit(&r->state, memory_order_relaxed);
  nt = atomic_load_explicit(&r->notifier, memory_order_relaxed);
  memset(out, 0, sizeof *out);
  out->pid = (pid_t)(owner & OWNER_PID_MASK);
  out->mode = (int)(st & SHMBUS__RS_MODE);
  if (out->mode == SHMBUS_WAIT_MODE_MASK) out->mode = SHMBUS_WAIT_HYBRID; /* scribbled */
  out->asleep = ((st | nt) & SHMBUS__RS_ASLEEP) != 0;
  out->spinning = (st & SHMBUS__RS_SPINNING) != 0;
  out->pollfd = ((st | nt) & SHMBUS__RS_POLLFD) != 0;
  out->cursor = atomic_load_explicit(&r->cursor, memory_order_relaxed);
  out->lost = atomic_load_explicit(&r->lost, memory_order_relaxed);
  out->active_ns = atomic_load_explicit(&r->active_ns, memory_order_relaxed);
  out->opened_ns = atomic_load_explicit(&r->opened_ns, memory_order_relaxed);
  return 1;
}

/* shmbus__registry_list() - the live readers of wake page @w: up to @n into @out (may be
 * NULL when @n is 0). Return: how many there are (possibly more than @n). */
int shmbus__registry_list(const struct shmbus__wake *w, struct shmbus_reader_info *out, size_t n) {
  struct shmbus_reader_info one;
  unsigned i;
  int count = 0;
  if (w == NULL) return 0;
  for (i = 0; i < SHMBUS__READERS; i++) {
    if (!read_entry(&w->readers[i], &one)) continue;
    if ((size_t)count < n) out[count] = one;
    count++;
  }
  return count;
}

/* shmbus__registry_counts() - the numbers shmbus_bus_info carries. */
void shmbus__registry_counts(const struct shmbus__wake *w, int *readers, int *asleep) {
  struct shmbus_reader_info one;
  unsigned i;
  *readers = *asleep = 0;
  if (w == NULL) return;
  for (i = 0; i < SHMBUS__READERS; i++) {
    if (!read_entry(&w->readers[i], &one)) continue;
    (*readers)++;
    if (one.asleep) (*asleep)++;
  }
}

int shmbus_readers(const char *name, struct shmbus_reader_info *out, size_t n) {
  shmbus_sub *s;
  int rc;
  if (out == NULL && n > 0) return -EINVAL;
  rc = shmbus__sub_open(name, 0, 0, &s);
  if (rc < 0) return rc;
  rc = s->wake ? shmbus__registry_list(s->wake, out, n) : -ENOTSUP;
  shmbus_sub_close(s);
  return rc;
}
