/* segment.c - the records object: geometry, validation by readers, creation by the writer. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/copy.h"
#include "core/internal.h"

/* shmbus__geom_make() - derive stride, slot offset and size from slots, capacity and the
 * schema block's size, checking bounds. Return: 0; -EINVAL. */
int shmbus__geom_make(uint32_t slots, uint64_t capacity, uint64_t schema_size,
                      struct shmbus__geom *g) {
  if (slots < 2 || slots > SHMBUS_MAX_SLOTS) return -EINVAL;
  if (capacity < 1 || capacity > SHMBUS_MAX_CAPACITY) return -EINVAL;
  if (schema_size % 4096u != 0 || schema_size > SHMBUS__SCHEMA_BLOCK_MAX) return -EINVAL;
  g->slots = slots;
  g->capacity = capacity;
  g->stride = SHMBUS__SLOT_HEADER_SIZE + shmbus__round64(capacity);
  g->schema_size = schema_size;
  g->slots_off = SHMBUS__HEADER_SIZE + schema_size;
  /* <= 65536 x (2^30 + 128) + ~1 MiB: fits easily in 64 bits. */
  g->total_size = g->slots_off + (uint64_t)slots * g->stride;
  return 0;
}

/* shmbus__validate() - check that @fd is a shmbus bus whose header is consistent and whose
 * real size covers it, touching no byte the object does not have. Fills @g and @st.
 * The fixed part of the header is copied out of the mapping once, as relaxed 64-bit atomic
 * loads (core/copy.h), and every check and @g are made on that copy: the object's owner can
 * rewrite the header while we look, and checks made on fields read one by one from the live
 * mapping (or re-read by the compiler) could pass on values other than those @g is built from.
 * Return: 0; -EPROTO; -EPROTONOSUPPORT; another negative errno. */
int shmbus__validate(int fd, struct shmbus__geom *g, struct stat *st) {
  /* The fields up to `type` inclusive, and the schema fields: written once at creation, never
   * by a writer after. */
  enum { FIXED = offsetof(struct shmbus__header, pad0) };
  enum { SCHEMA0 = offsetof(struct shmbus__header, schema_size) };
  enum { SCHEMA1 = offsetof(struct shmbus__header, schema_hash) + 8 };
  static_assert(FIXED % 8 == 0 && SCHEMA0 % 8 == 0, "whole words");
  union {
    struct shmbus__header h;
    unsigned char bytes[sizeof(struct shmbus__header)];
  } copy;
  const struct shmbus__header *h;
  int rc = 0;
  if (fstat(fd, st) < 0) return -errno;
  if (!S_ISREG(st->st_mode) || st->st_size < (off_t)SHMBUS__HEADER_SIZE) return -EPROTO;
  h = mmap(NULL, SHMBUS__HEADER_SIZE, PROT_READ, MAP_SHARED, fd, 0);
  if (h == MAP_FAILED) return -errno;
  memset(&copy, 0, sizeof copy);
  {
    /* Word by word (not shmbus__copy_out(): with a constant length GCC 12 -O2 warns of an
     * impossible iteration in its unrolled loop, -Waggressive-loop-optimizations). */
    const _Atomic uint64_t *src = (const _Atomic uint64_t *)(const void *)h;
    size_t i;
    for (i = 0; i < SCHEMA1 / 8; i++) {
      uint64_t w;
      if (i == FIXED / 8) i = SCHEMA0 / 8; /* skip the fields a writer changes */
      w = atomic_load_explicit(&src[i], memory_order_relaxed);
      memcpy(copy.bytes + 8 * i, &w, 8);
    }
  }
  munmap((void *)h, SHMBUS__HEADER_SIZE);
  shmbus__step(120); /* test hook: the header is copied; the live one may change now */
  if (memcmp(copy.h.magic, SHMBUS__MAGIC, 8) != 0) {
    rc = -EPROTO;
  } else if (copy.h.layout_version != SHMBUS__LAYOUT_VERSION &&
             copy.h.layout_version != SHMBUS__LAYOUT_VERSION_V1) {
    rc = -EPROTONOSUPPORT;
  } else if (copy.h.header_size != SHMBUS__HEADER_SIZE ||
             copy.h.slot_header_size != SHMBUS__SLOT_HEADER_SIZE ||
             shmbus__geom_make(copy.h.slot_count, copy.h.capacity,
                               copy.h.layout_version >= 2 ? copy.h.schema_size : 0, g) < 0 ||
             copy.h.slot_stride != g->stride || copy.h.total_size != g->total_size ||
             g->total_size > (uint64_t)st->st_size || memchr(copy.h.type, '\0', 32) == NULL) {
    rc = -EPROTO;
  }
  g->layout = copy.h.layout_version;
  g->schema_hash = copy.h.layout_version >= 2 ? copy.h.schema_hash : 0;
  return rc;
}

/* shmbus__create() - build a new bus under a temporary name ("shmbus.NAME~PID-RANDOM"),
 * allocate all of it, write the
 * header, then link it into place (@replace = 0: fails with -EEXIST if the name is taken) or
 * rename it over the old one (@replace = 1). Readers never see a half-made header.
 * Return: 0; -EEXIST; -ENOSPC; another negative errno. */
int shmbus__create(const char *name, const struct shmbus__geom *g, const char *type,
                   const struct shmbus__schema_copy *schema, mode_t mode, gid_t gid, int replace) {
  char path[SHMBUS__PATH_MAX], tmp[SHMBUS__PATH_MAX + 32];
  uint64_t nonce = 0;
  int attempt;
  struct shmbus__header *h;
  uint64_t off;
  int fd, rc;

  rc = shmbus__path(path, SHMBUS__PREFIX_BUS, name);
  if (rc < 0) return rc;
  /* An unpredictable temporary name: another user cannot squat it in the sticky /dev/shm. */
  for (attempt = 0;; attempt++) {
    if (getrandom(&nonce, sizeof nonce, 0) != sizeof nonce)
      nonce ^= (uint64_t)shmbus__now(CLOCK_MONOTONIC);
    snprintf(tmp, sizeof tmp, "%s~%d-%016llx", path, (int)getpid(), (unsigned long long)nonce);
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) break;
    if (errno != EEXIST || attempt == 8) return -errno;
  }
  if (fchmod(fd, mode) < 0 || (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0)) {
    rc = -errno;
    goto fail;
  }
  rc = posix_fallocate(fd, 0, (off_t)g->total_size);
  if (rc != 0) {
    rc = rc == EFBIG ? -ENOSPC : -rc;
    goto fail;
  }
  h = mmap(NULL, g->total_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (h == MAP_FAILED) {
    rc = -errno;
    goto fail;
  }
  memcpy(h->magic, SHMBUS__MAGIC, 8);
  h->layout_version = SHMBUS__LAYOUT_VERSION;
  h->header_size = SHMBUS__HEADER_SIZE;
  h->slot_count = g->slots;
  h->slot_header_size = SHMBUS__SLOT_HEADER_SIZE;
  h->capacity = g->capacity;
  h->slot_stride = g->stride;
  h->total_size = g->total_size;
  h->created_ns = (uint64_t)shmbus__now(CLOCK_REALTIME);
  snprintf(h->type, sizeof h->type, "%s", type ? type : "");
  if (schema) { /* geometry made with schema->block_size (the caller's duty) */
    h->schema_size = g->schema_size;
    h->schema_hash = schema->pub.hash;
    shmbus__schema_store(h, schema);
  }
  atomic_store_explicit(&h->wake_shmid, -1, memory_order_relaxed); /* the writer makes it */
  /* The creator is the writer (it holds the lock): name it now, so that a reader opening the
   * bus before shmbus_pub_open() returns sees a running writer, not "never had one"; should the
   * creator die first, its pid and start time say so. */
  {
    uint64_t start = 0;
    if (shmbus__proc_start_time(getpid(), &start) == 0) {
      atomic_store_explicit(&h->writer_pid, (uint32_t)getpid(), memory_order_relaxed);
      atomic_store_explicit(&h->writer_start, start, memory_order_relaxed);
      atomic_store_explicit(&h->writer_state, SHMBUS__WRITER_RUNNING, memory_order_relaxed);
    }
  }
  /* fallocate gave zeroed pages; write one byte per page so every page is present. */
  for (off = 0; off < g->total_size; off += 4096) ((volatile char *)h)[off] = ((char *)h)[off];
  munmap(h, g->total_size);
  if (replace) {
    rc = rename(tmp, path) < 0 ? -errno : 0;
  } else {
    rc = link(tmp, path) < 0 ? -errno : 0;
    unlink(tmp);
  }
  close(fd);
  if (rc < 0 && replace) unlink(tmp);
  return rc;
fail:
  close(fd);
  unlink(tmp);
  return rc;
}

void shmbus__fill_info(const struct shmbus__header *h, const struct shmbus__geom *g,
                       const struct stat *st, const struct shmbus__wake *wake,
                       const struct shmbus__schema_copy *schema, struct shmbus_bus_info *info) {
  memset(info, 0, sizeof *info);
  if (schema) {
    snprintf(info->type_name, sizeof info->type_name, "%s", schema->pub.type_name);
    snprintf(info->schema_encoding, sizeof info->schema_encoding, "%s",
             schema->pub.schema_encoding);
    snprintf(info->message_encoding, sizeof info->message_encoding, "%s",
             schema->pub.message_encoding);
    info->schema_len = schema->pub.text_len;
    info->schema_hash = schema->pub.hash;
  }
  memcpy(info->type, h->type, sizeof info->type);
  info->type[SHMBUS_TYPE_MAX] = '\0';
  info->slots = g->slots;
  info->capacity = g->capacity;
  info->total_size = g->total_size;
  info->latest = atomic_load_explicit(&h->latest, memory_order_acquire);
  info->last_publish_ns = atomic_load_explicit(&h->last_publish_ns, memory_order_relaxed);
  info->created_ns = h->created_ns;
  info->writer_pid = (pid_t)atomic_load_explicit(&h->writer_pid, memory_order_relaxed);
  info->writer_alive = shmbus__writer_alive(h);
  info->writer_closed =
      atomic_load_explicit(&h->writer_state, memory_order_relaxed) == SHMBUS__WRITER_CLOSED;
  info->replaced = shmbus__replaced(h, memory_order_acquire);
  info->layout_version = h->layout_version;
  info->readers = -1;
  if (wake && h->layout_version >= 2)
    shmbus__registry_counts(wake, &info->readers, &info->sleepers);
  info->uid = st->st_uid;
  info->gid = st->st_gid;
  info->mode = st->st_mode & 07777;
}
