/* publisher.c - the single writer: lock, adopt/create/replace, publish, reserve/commit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/copy.h"
#include "core/internal.h"
#include "core/seqslot.h"
#include "core/wake.h"

#ifdef SHMBUS_TESTING
void (*shmbus__step_hook)(int step);
int shmbus__broken_writer;
#endif

void shmbus_pub_opts_init(struct shmbus_pub_opts *o) {
  memset(o, 0, sizeof *o);
  o->gid = (gid_t)-1;
}

static int check_opts(const struct shmbus_pub_opts *o) {
  size_t i;
  if (o->flags & ~(uint32_t)SHMBUS_PUB_CREATE) return -EINVAL;
  if (o->slots != 0 && (o->slots < 2 || o->slots > SHMBUS_MAX_SLOTS)) return -EINVAL;
  if (o->capacity > SHMBUS_MAX_CAPACITY) return -EINVAL;
  if (o->mode != 0 && shmbus_mode_check(o->mode) < 0) return -EINVAL;
  if (o->type) {
    if (strlen(o->type) > SHMBUS_TYPE_MAX) return -EINVAL;
    for (i = 0; o->type[i]; i++)
      if (o->type[i] < ' ' || o->type[i] > '~') return -EINVAL;
  }
  return 0;
}

/* The wake page's mode: every read bit of the bus doubled into a write bit. */
static mode_t wake_mode(mode_t bus_mode) { return bus_mode | ((bus_mode & 0044) >> 1); }

/* take_lock() - open (or create) bus @name's lock object and take its flock, the one writer
 * per bus. shmbus_unlink() takes the same lock before it removes the bus and unlinks the lock
 * object while holding it; a lock taken on an object that is no longer at the path (we opened
 * it before such an unlink and locked it after) keeps nobody out, so after flock() we check
 * that the path still names our file, and start again otherwise.
 * Return: the locked descriptor; -EBUSY (a live writer or a remove holds it); -EPERM; -EAGAIN
 *         (the lock object kept disappearing under us); another negative errno. */
static int take_lock(const char *name) {
  char path[SHMBUS__PATH_MAX], pid[16];
  int fd, attempt, rc = shmbus__path(path, SHMBUS__PREFIX_LOCK, name), n;
  if (rc < 0) return rc;
  for (attempt = 0;; attempt++) {
    if (attempt == 16) return -EAGAIN;
    fd = shmbus__open_owned(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0) return fd;
    shmbus__step(101); /* test hook: the lock object is open, not locked yet */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
      rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
      close(fd);
      return rc;
    }
    rc = shmbus__lock_check(fd, path);
    if (rc == 0) break;
    close(fd); /* removed between our open and our flock: that lock guards nothing */
    if (rc != -ESTALE) return rc;
  }
  if (fchmod(fd, 0600) < 0) { /* nobody else may open it, so nobody else can flock it */
    rc = -errno;
    close(fd);
    return rc;
  }
  n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
    rc = -errno;
    close(fd);
    return rc;
  }
  return fd;
}

/* Whether the bus mapped at p->h (its schema copied into @have) fits @o and @want (the schema
 * asked for: NULL untyped; ignored when o->schema is NULL, "adopt whatever it has"). */
static int fits(const shmbus_pub *p, const struct shmbus_pub_opts *o,
                const struct shmbus__schema_copy *want, const struct shmbus__schema_copy *have) {
  return (o->slots == 0 || o->slots == p->g.slots) &&
         (o->capacity == 0 || o->capacity == p->g.capacity) &&
         (o->type == NULL || strncmp(o->type, p->h->type, sizeof p->h->type) == 0) &&
         (o->schema == NULL || (want ? want->pub.hash : 0) == (have ? have->pub.hash : 0)) &&
         p->g.layout == SHMBUS__LAYOUT_VERSION && !shmbus__replaced(p->h, memory_order_seq_cst);
}

/* Open the records object read-write: adopt it if it fits @o, else create or replace it.
 * @want: the schema asked for (see fits()). On success p->schema holds the bus's schema. */
static int open_records(shmbus_pub *p, const struct shmbus_pub_opts *o,
                        const struct shmbus__schema_copy *want, mode_t *mode_out) {
  char path[SHMBUS__PATH_MAX];
  struct shmbus__geom g;
  struct shmbus__schema_copy *have = NULL;
  const struct shmbus__schema_copy *keep;
  struct stat st;
  int attempt, created = 0, rc = shmbus__path(path, SHMBUS__PREFIX_BUS, p->name);
  int create_only = (o->flags & SHMBUS_PUB_CREATE) != 0;
  if (rc < 0) return rc;
  for (attempt = 0; attempt < 3; attempt++) {
    p->fd = shmbus__open_owned(path, O_RDWR, 0);
    if (p->fd == -ENOENT) {
      mode_t mode = o->mode ? o->mode : 0600;
      rc = shmbus__geom_make(o->slots ? o->slots : SHMBUS_DEFAULT_SLOTS,
                             o->capacity ? o->capacity : SHMBUS_DEFAULT_CAPACITY,
                             want ? want->block_size : 0, &g);
      if (rc < 0) return rc;
      rc = shmbus__create(p->name, &g, o->type, want, mode, o->gid, 0);
      if (rc < 0 && (rc != -EEXIST || create_only)) return rc;
      created = rc == 0;
      continue; /* open what we (or a racing creator) made */
    }
    if (p->fd < 0) return p->fd;
    if (create_only && !created) return -EEXIST; /* somebody else's: neither adopt nor replace */
    rc = shmbus__validate(p->fd, &p->g, &st);
    if (rc < 0) return rc; /* a foreign or corrupt object: never overwrite it silently */
    p->h = mmap(NULL, p->g.total_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, p->fd, 0);
    if (p->h == MAP_FAILED) {
      p->h = NULL;
      return -errno;
    }
    rc = shmbus__schema_load(p->h, &p->g, p->g.schema_hash, &have);
    if (rc < 0) return rc; /* corrupt: as above */
    *mode_out = o->mode ? o->mode : (st.st_mode & 0777);
    if (fits(p, o, want, have)) {
      p->schema = have;
      if ((o->mode && fchmod(p->fd, o->mode) < 0) ||
          (o->gid != (gid_t)-1 && fchown(p->fd, (uid_t)-1, o->gid) < 0))
        return -errno;
      return 0; /* adopted */
    }
    /* Replace: new geometry, type, schema or layout version (a layout-1 bus of an older writer
     * is replaced by a layout-2 one). Old readers are told, then the name moves on. */
    keep = o->schema ? want : have;
    rc = shmbus__geom_make(o->slots ? o->slots : p->g.slots,
                           o->capacity ? o->capacity : p->g.capacity, keep ? keep->block_size : 0,
                           &g);
    if (rc == 0)
      rc = shmbus__create(p->name, &g, o->type ? o->type : p->h->type, keep, *mode_out,
                          o->gid != (gid_t)-1 ? o->gid : st.st_gid, 1);
    free(have);
    have = NULL;
    if (rc < 0) return rc;
    atomic_fetch_or_explicit(&p->h->flags, SHMBUS__FLAG_REPLACED, memory_order_release);
    shmbus__kick(p->h, geteuid());
    shmbus__wake_remove(p->h, geteuid()); /* old readers keep it attached until they reopen */
    munmap(p->h, p->g.total_size);
    p->h = NULL;
    close(p->fd);
    p->fd = -1;
  }
  return -EAGAIN; /* the name kept changing under us */
}

int shmbus_pub_open(const char *name, const struct shmbus_pub_opts *opts, shmbus_pub **out) {
  struct shmbus_pub_opts defaults;
  struct shmbus__schema_copy *want = NULL;
  uint64_t start = 0, off;
  mode_t mode = 0600;
  shmbus_pub *p;
  int rc;

  if (out == NULL) return -EINVAL;
  *out = NULL;
  rc = shmbus_name_check(name);
  if (rc < 0) return rc;
  if (opts == NULL) {
    shmbus_pub_opts_init(&defaults);
    opts = &defaults;
  }
  rc = check_opts(opts);
  if (rc == 0 && opts->schema) rc = shmbus__schema_make(opts->schema, &want);
  if (rc < 0) return rc;
  p = calloc(1, sizeof *p);
  if (p == NULL) {
    free(want);
    return -ENOMEM;
  }
  p->fd = -1;
  snprintf(p->name, sizeof p->name, "%s", name);

  p->lock_fd = take_lock(name);
  if (p->lock_fd < 0) {
    rc = p->lock_fd;
    p->lock_fd = -1;
    goto fail;
  }
  shmbus__remove_temporaries(name); /* a predecessor killed while creating; we hold the lock */
  rc = open_records(p, opts, want, &mode);
  free(want);
  want = NULL;
  if (rc < 0) goto fail;
  shmbus__step(130); /* test hook: the bus exists under its name; the open is not over */
  {
    struct stat st;
    if (fstat(p->fd, &st) < 0) {
      rc = -errno;
      goto fail;
    }
    /* The records object's group, not opts->gid: a replacement keeps the old bus's group
     * when opts->gid is -1, and its new wake page must get it too. */
    rc = shmbus__wake_open(p->h, st.st_ino, wake_mode(mode), st.st_gid, &p->wake);
  }
  if (rc < 0) goto fail;
  /* Pre-fault for writing: an atomic add of 0 changes nothing a reader could see. */
  for (off = 0; off < p->g.total_size; off += 4096)
    atomic_fetch_add_explicit((_Atomic uint32_t *)((char *)p->h + off), 0, memory_order_relaxed);
  rc = shmbus__proc_start_time(getpid(), &start);
  if (rc < 0) goto fail;
  p->version = atomic_load_explicit(&p->h->latest, memory_order_acquire);
  /* A writer killed between its seq = 2v and its store of latest = v left record v complete,
   * and seq = 2v is what commits a record (readers of the next record may already hold it:
   * docs/PROTOCOL.md, Read side). Adopt it: latest catches up, versions go on after it. */
  if (p->version + 1 < SHMBUS__VERSION_MAX &&
      shmbus__seq_read_begin(shmbus__slot_at(p->h, &p->g, p->version + 1)) ==
          2 * (p->version + 1)) {
    p->version++;
    atomic_store_explicit(&p->h->latest, p->version, memory_order_seq_cst);
  }
  atomic_store_explicit(&p->h->writer_pid, (uint32_t)getpid(), memory_order_relaxed);
  atomic_store_explicit(&p->h->writer_start, start, memory_order_relaxed);
  atomic_store_explicit(&p->h->writer_state, SHMBUS__WRITER_RUNNING, memory_order_release);
  shmbus__kick(p->h, geteuid());
  *out = p;
  return 0;
fail:
  if (p->h) munmap(p->h, p->g.total_size);
  free(p->schema);
  shmbus__wake_detach(p->wake);
  if (p->fd >= 0) close(p->fd);
  if (p->lock_fd >= 0) close(p->lock_fd);
  free(p);
  return rc;
}

/* Everything after the payload: complete the slot, move latest, wake sleepers if any. */
static void publish_complete(shmbus_pub *p, struct shmbus__slot *s, uint64_t v, uint64_t len) {
  uint64_t now = (uint64_t)shmbus__now(CLOCK_REALTIME);
  atomic_store_explicit(&s->length, len, memory_order_relaxed);
  atomic_store_explicit(&s->timestamp_ns, now, memory_order_relaxed);
  shmbus__step(3);
  if (!shmbus__broken()) shmbus__seq_write_end(s, v); /* the record is complete */
  shmbus__step(4);
  atomic_store_explicit(&p->h->last_publish_ns, now, memory_order_relaxed);
  /* Now readers look at it. seq_cst: a release (pairs with every reader's acquire load of
   * latest, so the slot is complete for whoever sees v), and the writer's first half of the
   * Dekker pair with a sleeper's announcement (core/wake.h): one xchg on x86-64, stlr on
   * aarch64, which the seq_cst load of the wake word in shmbus__wake_publish() completes. */
  if (!shmbus__broken()) atomic_store_explicit(&p->h->latest, v, memory_order_seq_cst);
  p->version = v;
  shmbus__step(5);
  shmbus__wake_publish(p->wake);
  shmbus__step(6);
}

/* Mark slot of @v as being written. */
static struct shmbus__slot *slot_write_begin(shmbus_pub *p, uint64_t v) {
  struct shmbus__slot *s = shmbus__slot_at(p->h, &p->g, v);
  if (shmbus__broken()) {
    /* Negative control: publish first, write after. Readers must catch the tearing. */
    atomic_store_explicit(&s->seq, 2 * v, memory_order_release);
    atomic_store_explicit(&p->h->latest, v, memory_order_release);
    return s;
  }
  shmbus__seq_write_begin(s, v);
  shmbus__step(1);
  atomic_store_explicit(&s->version, v, memory_order_relaxed);
  return s;
}

/* A forced-out writer (shmbus rm --force, or a replacement) learns it here: one relaxed load
 * of the header's first cache line, which no reader writes (so it stays in our cache). */
static int forced_out(const shmbus_pub *p) { return shmbus__replaced(p->h, memory_order_relaxed); }

int shmbus_pub_publish(shmbus_pub *p, const void *data, size_t len) {
  struct shmbus__slot *s;
  uint64_t v, half;
  if (p == NULL || (data == NULL && len > 0)) return -EINVAL;
  if (len > p->g.capacity) return -EMSGSIZE;
  if (forced_out(p)) return -ESTALE;
  p->rslot = NULL;
  v = p->version + 1;
  s = slot_write_begin(p, v);
  half = (len / 16) * 8; /* two halves, so a test can kill the writer between them */
  shmbus__copy_in(s->payload, data, half);
  shmbus__step(2);
  shmbus__copy_in(s->payload + half / 8, (const char *)data + half, len - half);
  publish_complete(p, s, v, len);
  return 0;
}

int shmbus_pub_reserve(shmbus_pub *p, size_t len, void **data) {
  if (p == NULL || data == NULL) return -EINVAL;
  if (len > p->g.capacity) return -EMSGSIZE;
  if (forced_out(p)) return -ESTALE;
  p->rslot = slot_write_begin(p, p->version + 1);
  p->rlen = len;
  *data = (void *)p->rslot->payload;
  return 0;
}

int shmbus_pub_commit(shmbus_pub *p, size_t len) {
  if (p == NULL || p->rslot == NULL || len > p->rlen) return -EINVAL;
  publish_complete(p, p->rslot, p->version + 1, len);
  p->rslot = NULL;
  return 0;
}

uint64_t shmbus_pub_version(const shmbus_pub *p) { return p ? p->version : 0; }

int shmbus_pub_info(const shmbus_pub *p, struct shmbus_bus_info *info) {
  struct stat st;
  if (p == NULL || info == NULL) return -EINVAL;
  if (fstat(p->fd, &st) < 0) return -errno;
  shmbus__fill_info(p->h, &p->g, &st, p->wake, p->schema, info);
  return 0;
}

void shmbus_pub_close(shmbus_pub *p) {
  if (p == NULL) return;
  atomic_store_explicit(&p->h->writer_state, SHMBUS__WRITER_CLOSED, memory_order_release);
  shmbus__kick(p->h, geteuid());
  munmap(p->h, p->g.total_size);
  shmbus__wake_detach(p->wake);
  close(p->fd);
  close(p->lock_fd); /* releases the flock */
  free(p->schema);
  free(p);
}

/* shmbus_pub_store() stores with relaxed 64-bit atomic stores (core/copy.h), the same stores
 * shmbus_pub_publish() makes: a word only partly inside [@offset, @offset + @len) is loaded,
 * merged and stored back, which is safe because only the writer ever stores to a slot. */
int shmbus_pub_store(shmbus_pub *p, size_t offset, const void *data, size_t len) {
  const unsigned char *from = data;
  _Atomic uint64_t *w;
  size_t head, n;
  uint64_t word;
  if (p == NULL || p->rslot == NULL || (data == NULL && len > 0)) return -EINVAL;
  if (offset > p->rlen || len > p->rlen - offset) return -EINVAL;
  w = p->rslot->payload + offset / 8;
  head = offset % 8;
  if (head != 0 && len > 0) { /* the first word, from byte @head */
    n = len < 8 - head ? len : 8 - head;
    word = atomic_load_explicit(w, memory_order_relaxed);
    memcpy((unsigned char *)&word + head, from, n);
    atomic_store_explicit(w, word, memory_order_relaxed);
    w++;
    from += n;
    len -= n;
  }
  shmbus__copy_in(w, from, len - len % 8);
  if (len % 8 != 0) { /* the last word, up to byte len % 8 */
    w += len / 8;
    word = atomic_load_explicit(w, memory_order_relaxed);
    memcpy(&word, from + (len - len % 8), len % 8);
    atomic_store_explicit(w, word, memory_order_relaxed);
  }
  return 0;
}
