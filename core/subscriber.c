/* subscriber.c - a reader: open read-only, validate, copy out consistent records. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/copy.h"
#include "core/internal.h"
#include "core/seqslot.h"

/* open_sub() - shmbus_sub_open() and shmbus_sub_open_owner(); @owner (uid_t)-1 = anyone.
 * Registers in the bus's reader registry when @join (administrative looks, shmbus_stat() and
 * shmbus_readers(), do not). */
static int open_sub(const char *name, uid_t owner, int flags, int join, shmbus_sub **out) {
  char path[SHMBUS__PATH_MAX];
  struct stat st;
  shmbus_sub *s;
  void *h;
  int rc;

  if (out == NULL || flags != 0) return -EINVAL;
  *out = NULL;
  rc = shmbus__path(path, SHMBUS__PREFIX_BUS, name);
  if (rc < 0) return rc;
  s = calloc(1, sizeof *s);
  if (s == NULL) return -ENOMEM;
  snprintf(s->name, sizeof s->name, "%s", name);
  /* Never blocks (a FIFO planted at the path is -EPROTO at once), never follows a symlink. */
  s->fd = shmbus__open_file(path, O_RDONLY, 0, &st);
  if (s->fd < 0) {
    rc = s->fd == -ELOOP ? -EPROTO : s->fd;
    goto fail;
  }
  if (owner != (uid_t)-1 && st.st_uid != owner) { /* before we trust a byte of it */
    rc = -EPERM;
    goto fail;
  }
  rc = shmbus__validate(s->fd, &s->g, &st);
  if (rc < 0) goto fail;
  s->dev = st.st_dev;
  s->ino = st.st_ino;
  h = mmap(NULL, s->g.total_size, PROT_READ, MAP_SHARED | MAP_POPULATE, s->fd, 0);
  if (h == MAP_FAILED) {
    rc = -errno;
    goto fail;
  }
  s->h = h;
  s->layout = s->g.layout;
  rc = shmbus__schema_load(h, &s->g, s->g.schema_hash, &s->schema);
  if (rc < 0) {
    munmap(h, s->g.total_size);
    goto fail;
  }
  /* The wake page: optional. Without it (or on a layout-1 bus, whose wake page we do not
   * use) we poll at the tick when we sleep. */
  if (s->layout >= 2) s->wake = shmbus__wake_attach(s->h, st.st_uid);
  s->cursor = shmbus__sub_latest(s, memory_order_acquire);
  if (s->cursor == 0) s->cursor = 1;
  if (join) shmbus__registry_join(s);
  *out = s;
  return 0;
fail:
  if (s->fd >= 0) close(s->fd);
  free(s);
  return rc;
}

int shmbus_sub_open(const char *name, int flags, shmbus_sub **out) {
  return open_sub(name, (uid_t)-1, flags, 1, out);
}

int shmbus__sub_open(const char *name, int flags, int join, shmbus_sub **out) {
  return open_sub(name, (uid_t)-1, flags, join, out);
}

int shmbus_sub_open_owner(const char *name, uid_t owner, int flags, shmbus_sub **out) {
  if (owner == (uid_t)-1) {
    if (out) *out = NULL;
    return -EINVAL;
  }
  return open_sub(name, owner, flags, 1, out);
}

void shmbus_sub_close(shmbus_sub *s) {
  if (s == NULL) return;
  shmbus__pollfd_stop(s);
  shmbus__registry_leave(s);
  shmbus__wake_detach(s->wake);
  munmap((void *)s->h, s->g.total_size);
  close(s->fd);
  free(s->schema);
  free(s);
}

enum { READ_OK = 0, READ_MISSING = 1, READ_LAPPED = 2 };

/* try_read() - the seqlock read of version @v (docs/PROTOCOL.md, Read side). With @bw (a
 * borrow, core/borrow.c) nothing is copied: the slot's header is read and checked as a copy
 * would be, and the slot and its seq are handed to @bw for the borrower's later checks.
 * Return: READ_OK (copied or borrowed, *len set), READ_MISSING (slot holds an older version),
 * READ_LAPPED (overwritten or torn), -ENOBUFS (*len = size needed), -EBADMSG. */
static int try_read(shmbus_sub *s, uint64_t v, void *buf, size_t cap, uint64_t *len, uint64_t *ts,
                    struct shmbus__borrowed *bw) {
  const struct shmbus__slot *slot = shmbus__slot_at(s->h, &s->g, v);
  uint64_t s1, n, t;
  s1 = shmbus__seq_read_begin(slot);
  if (s1 != 2 * v) return s1 < 2 * v - 1 ? READ_MISSING : READ_LAPPED;
  n = atomic_load_explicit(&slot->length, memory_order_relaxed);
  t = atomic_load_explicit(&slot->timestamp_ns, memory_order_relaxed);
  if (bw == NULL && n <= s->g.capacity && n <= cap) shmbus__copy_out(buf, slot->payload, n);
  if (shmbus__seq_read_retry(slot, s1)) return READ_LAPPED; /* copy, fence, seq again */
  *len = n;
  *ts = t;
  if (n > s->g.capacity) return -EBADMSG;
  if (bw != NULL) {
    bw->slot = slot;
    bw->seq = s1;
    return READ_OK;
  }
  if (n > cap) return -ENOBUFS;
  return READ_OK;
}

static void set_record_info(struct shmbus_record_info *info, uint64_t v, uint64_t len, uint64_t ts,
                            uint64_t lost) {
  if (info == NULL) return;
  info->version = v;
  info->length = len;
  info->timestamp_ns = ts;
  info->lost = lost;
}

static ssize_t read_latest(shmbus_sub *s, void *buf, size_t cap, struct shmbus_record_info *info,
                           struct shmbus__borrowed *bw) {
  uint64_t l, v, prev = 0, prev_l = 0, len = 0, ts = 0;
  unsigned stuck = 0;
  int rc;
  if (shmbus__replaced(s->h, memory_order_acquire)) return -ESTALE;
  for (;;) {
    l = shmbus__sub_latest(s, memory_order_acquire);
    /* A writer only ever moves `latest` forward, and loads of one atomic object never go
     * back in its modification order: a smaller value than our previous round's is
     * corruption. Without this check a `latest` toggling between two values whose slots
     * disagree would reset `stuck` on every round and keep us here forever. */
    if (l < prev_l) return -EBADMSG;
    prev_l = l;
    v = l;
    if (v < s->cursor && s->cursor < SHMBUS__VERSION_MAX) {
      /* The cursor's slot may already hold its record complete while `latest` lags (the
       * writer's next store, or a writer killed between the two): seq = 2v commits a record
       * (docs/PROTOCOL.md, Read side), so it is newer than v and ours. */
      rc = try_read(s, s->cursor, buf, cap, &len, &ts, bw);
      if (rc == READ_OK) {
        v = s->cursor;
        break;
      }
      if (rc == -ENOBUFS) set_record_info(info, s->cursor, len, ts, 0);
      if (rc < 0) return rc;
      /* Never older than a record already handed out from its slot before `latest` moved
       * (cursor - 1 was committed: every cursor move is to at most one past one). */
      if (v + 1 < s->cursor) v = s->cursor - 1;
    }
    if (v == 0) return -ENODATA;
    if (v >= SHMBUS__VERSION_MAX) return -EBADMSG;
    rc = try_read(s, v, buf, cap, &len, &ts, bw);
    if (rc == READ_OK) break;
    if (rc == -ENOBUFS) {
      set_record_info(info, v, len, ts, 0);
      return rc;
    }
    if (rc < 0) return rc;
    /* The acquire load of latest == v guarantees its slot reached seq 2v, so an older slot
     * (READ_MISSING) is corruption. A newer one means the writer moved on: retry with the
     * newer latest. If latest stays at v while its slot disagrees, the segment is corrupt
     * too: give up after a bound instead of spinning forever. (Not at once: the writer's
     * relaxed seq store for v + N may become visible before its release store of
     * latest = v + N - 1.) */
    stuck = v == prev ? stuck + 1 : 0;
    if (rc == READ_MISSING || stuck > SHMBUS__STUCK_MAX) return -EBADMSG;
    prev = v;
    shmbus__cpu_relax();
    shmbus__step(110); /* test hook: about to load `latest` again */
  }
  if (v >= s->cursor) {
    /* Everything between the cursor and v is skipped, plus what read_next() skipped before. */
    set_record_info(info, v, len, ts, v - s->cursor + s->lost_pending);
    s->lost_total += v - s->cursor + s->lost_pending;
    s->lost_pending = 0;
    s->cursor = v + 1;
  } else {
    set_record_info(info, v, len, ts, 0);
  }
  return (ssize_t)len;
}

static ssize_t read_next(shmbus_sub *s, void *buf, size_t cap, struct shmbus_record_info *info,
                         struct shmbus__borrowed *bw) {
  uint64_t latest, len = 0, ts = 0, lost = 0, c;
  int rc;
  if (shmbus__replaced(s->h, memory_order_acquire)) return -ESTALE;
  /* The fast path: the cursor's slot holds its record complete, so `latest` need not be
   * loaded (one cache line fewer for a reader that spun on that slot, core/wait.c). A slot
   * still holding an older version (READ_MISSING: seq < 2c - 1) means no record c yet: latest
   * >= c would mean that slot reached 2c, and seq never goes back. So "nothing new" needs no
   * `latest` either, unless this reader saw a latest >= c before (a corrupt mapping: the path
   * below reports it). Anything else (being written, lapped) takes the path below. */
  c = s->cursor;
  if (c < SHMBUS__VERSION_MAX) {
    rc = try_read(s, c, buf, cap, &len, &ts, bw);
    if (rc == READ_OK) goto done;
    if (rc == -ENOBUFS) set_record_info(info, c, len, ts, s->lost_pending);
    if (rc < 0) return rc;
    if (rc == READ_MISSING && s->seen_latest < c) return -EAGAIN;
  }
  for (;;) {
    c = s->cursor;
    latest = shmbus__sub_latest(s, memory_order_acquire);
    if (latest >= SHMBUS__VERSION_MAX) {
      s->lost_pending += lost;
      return -EBADMSG; /* corrupt; c + 1 must not wrap */
    }
    if (latest < c) {
      s->lost_pending += lost; /* reported with the next record */
      return -EAGAIN;
    }
    if (latest - c >= s->g.slots) { /* lapped before we even looked: oldest still held */
      lost += latest - s->g.slots + 2 - c;
      s->cursor = latest - s->g.slots + 2;
      continue;
    }
    rc = try_read(s, c, buf, cap, &len, &ts, bw);
    if (rc == READ_OK) break;
    if (rc < 0 || rc == READ_MISSING) {
      /* The records skipped so far are skipped for good (the cursor moved past them):
       * report them with the next record, and preview the count on -ENOBUFS, whose retry
       * with a bigger buffer returns this very record. */
      s->lost_pending += lost;
      if (rc == -ENOBUFS) set_record_info(info, c, len, ts, s->lost_pending);
      return rc == READ_MISSING ? -EBADMSG : rc; /* MISSING: latest >= c, slot never held c */
    }
    lost += 1; /* lapped while we looked: skip it */
    s->cursor = c + 1;
  }
done:
  set_record_info(info, c, len, ts, lost + s->lost_pending);
  s->lost_total += lost + s->lost_pending;
  s->lost_pending = 0;
  s->cursor = c + 1;
  return (ssize_t)len;
}

static int seek(shmbus_sub *s, int whence) {
  uint64_t latest;
  latest = shmbus__sub_latest(s, memory_order_acquire);
  /* A seek chooses what to skip: nothing skipped before it is reported after it. */
  if (whence >= SHMBUS_SEEK_LATEST && whence <= SHMBUS_SEEK_OLDEST) s->lost_pending = 0;
  switch (whence) {
    case SHMBUS_SEEK_LATEST: s->cursor = latest ? latest : 1; return 0;
    case SHMBUS_SEEK_NEW: s->cursor = latest + 1; return 0;
    case SHMBUS_SEEK_OLDEST:
      /* The slot after latest's may be mid-write: the oldest safe one is latest - N + 2. */
      s->cursor = latest + 2 > s->g.slots ? latest + 2 - s->g.slots : 1;
      return 0;
    default: return -EINVAL;
  }
}

/* The public calls: each moves the cursor, then keeps the pollable descriptor (pollfd.c) in
 * step with it when there is one. */
ssize_t shmbus_sub_read_latest(shmbus_sub *s, void *buf, size_t cap,
                               struct shmbus_record_info *info) {
  ssize_t rc;
  if (s == NULL || (buf == NULL && cap > 0)) return -EINVAL;
  rc = read_latest(s, buf, cap, info, NULL);
  if (s->pfd) shmbus__pollfd_sync(s);
  return rc;
}

ssize_t shmbus_sub_next(shmbus_sub *s, void *buf, size_t cap, struct shmbus_record_info *info) {
  ssize_t rc;
  if (s == NULL || (buf == NULL && cap > 0)) return -EINVAL;
  rc = read_next(s, buf, cap, info, NULL);
  if (s->pfd) shmbus__pollfd_sync(s);
  return rc;
}

int shmbus_sub_seek(shmbus_sub *s, int whence) {
  int rc;
  if (s == NULL) return -EINVAL;
  rc = seek(s, whence);
  if (s->pfd) shmbus__pollfd_sync(s);
  return rc;
}

/* shmbus__sub_borrow() - read_next() (@latest 0) or read_latest() (@latest 1) without the copy:
 * the same cursor moves and lost counts, then the pollable descriptor's sync. */
ssize_t shmbus__sub_borrow(shmbus_sub *s, int latest, struct shmbus_record_info *info,
                           struct shmbus__borrowed *bw) {
  ssize_t rc = latest ? read_latest(s, NULL, 0, info, bw) : read_next(s, NULL, 0, info, bw);
  if (s->pfd) shmbus__pollfd_sync(s);
  return rc;
}

uint64_t shmbus_sub_latest(const shmbus_sub *s) {
  return s ? atomic_load_explicit(&s->h->latest, memory_order_acquire) : 0;
}

uint64_t shmbus_sub_capacity(const shmbus_sub *s) { return s ? s->g.capacity : 0; }

int shmbus_sub_info(shmbus_sub *s, struct shmbus_bus_info *info) {
  struct stat st;
  if (s == NULL || info == NULL) return -EINVAL;
  if (fstat(s->fd, &st) < 0) return -errno;
  shmbus__fill_info(s->h, &s->g, &st, s->wake, s->schema, info);
  return 0;
}
