/* internal.h - what the core's files share (not installed). */
#ifndef SHMBUS_INTERNAL_H
#define SHMBUS_INTERNAL_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/layout.h"
#include "core/shmbus.h"

#define SHMBUS__DIR "/dev/shm/"
#define SHMBUS__PREFIX_BUS "shmbus."
#define SHMBUS__PREFIX_LOCK "shmbus-lock."
#define SHMBUS__PATH_MAX 256
#define SHMBUS__TICK_NS 10000000LL      /* longest FUTEX_WAIT: bounds a hostile flag-clearer */
#define SHMBUS__LIVENESS_NS 100000000LL /* how often a sleeper checks liveness and renames */
#define SHMBUS__HYBRID_SPIN_NS 20000LL
#define SHMBUS__NO_DEADLINE INT64_MAX
/* No writer reaches version 2^62 (146 years at 10^9 publishes/s): a larger `latest` is
 * corruption. Below it, 2v and v + N never overflow, so the reader's arithmetic cannot wrap. */
#define SHMBUS__VERSION_MAX (1ull << 62)
/* read_latest() retries while the writer laps it; a slot that stays ahead of a `latest` that
 * does not move for this many retries is corruption, not a writer (whose stores to `latest`
 * precede, in its program order, its next store to that slot). */
#define SHMBUS__STUCK_MAX (1u << 16)

/* Geometry a reader validated once and then trusts over the shared copy. */
struct shmbus__geom {
  uint32_t layout; /* layout version (set by shmbus__validate()) */
  uint32_t slots;
  uint64_t capacity;
  uint64_t stride;
  uint64_t schema_size; /* bytes of the schema block (0 = untyped) */
  uint64_t slots_off;   /* where slot 0 starts: the header, then the schema block */
  uint64_t schema_hash; /* the header's (set by shmbus__validate()) */
  uint64_t total_size;
};

/* A schema as a bus holds it, copied out and checked (core/schema.c): one allocation, the
 * strings NUL-terminated in it. */
struct shmbus__schema_copy {
  struct shmbus_schema pub; /* pointers into data[] */
  size_t block_size;        /* bytes of the block it came from, or would make */
  unsigned char data[];
};

/* The slot that holds (or will hold) @version, located with validated geometry only. */
static inline struct shmbus__slot *shmbus__slot_at(const void *base, const struct shmbus__geom *g,
                                                   uint64_t version) {
  return (struct shmbus__slot *)((char *)base + g->slots_off + (version % g->slots) * g->stride);
}

struct shmbus_pub {
  int fd, lock_fd;
  struct shmbus__header *h;
  struct shmbus__wake *wake;
  struct shmbus__geom g;
  uint64_t version;                   /* last published */
  struct shmbus__slot *rslot;         /* reserved slot, NULL when none */
  struct shmbus__schema_copy *schema; /* the bus's schema, NULL when untyped */
  uint64_t rlen;
  char name[SHMBUS_NAME_MAX + 1];
};

struct shmbus_sub {
  int fd;
  const struct shmbus__header *h;
  struct shmbus__wake *wake; /* NULL when we may not attach the wake page */
  struct shmbus__geom g;
  uint64_t cursor;       /* next version next() returns; wait() waits for latest >= it */
  uint64_t lost_pending; /* records skipped but not yet reported in info->lost */
  uint64_t seen_latest;  /* the largest `latest` this reader loaded (shmbus__sub_latest()) */
  int64_t last_check_ns; /* last liveness/rename check (monotonic) */
  dev_t dev;
  ino_t ino;
  struct shmbus__pollfd *pfd;         /* NULL until shmbus_sub_fd() */
  struct shmbus__reader *reg;         /* our registry entry on the wake page, NULL when none */
  uint64_t lost_total;                /* every info->lost reported so far (for the registry) */
  uint32_t layout;                    /* the bus's layout version: 1 (read-only support) or 2 */
  struct shmbus__schema_copy *schema; /* private copy of the bus's schema, NULL when untyped */
  char name[SHMBUS_NAME_MAX + 1];
};

/* Test hooks: compiled in only for //core:shmbus_testing; inline no-ops otherwise, so call
 * sites carry no #ifdef. */
#ifdef SHMBUS_TESTING
extern void (*shmbus__step_hook)(int step);
extern int shmbus__broken_writer;
static inline void shmbus__step(int n) {
  if (shmbus__step_hook) shmbus__step_hook(n);
}
static inline int shmbus__broken(void) { return shmbus__broken_writer; }
extern int64_t shmbus__tick_ns;   /* SHMBUS__TICK_NS; a test sets hours: only wakes then count */
extern long shmbus__spin_rounds;  /* batches of 64 loads in wait()'s spin phase */
extern long shmbus__latest_loads; /* loads of `latest` by readers (shmbus__sub_latest()) */
#define SHMBUS__TICK() shmbus__tick_ns
static inline void shmbus__spun(void) { shmbus__spin_rounds++; }
static inline void shmbus__latest_loaded(void) { /* atomic: readers may be threads */
  __atomic_fetch_add(&shmbus__latest_loads, 1, __ATOMIC_RELAXED);
}
#else
#define SHMBUS__TICK() SHMBUS__TICK_NS
static inline void shmbus__spun(void) {}
static inline void shmbus__latest_loaded(void) {}
static inline void shmbus__step(int n) { (void)n; }
static inline int shmbus__broken(void) { return 0; }
#endif

/* shmbus__replaced() - has a newer bus taken this one's name (SHMBUS__FLAG_REPLACED in @h)?
 * @order: the load's memory order; each caller says what it pairs with. */
static inline int shmbus__replaced(const struct shmbus__header *h, memory_order order) {
  return (atomic_load_explicit(&h->flags, order) & SHMBUS__FLAG_REPLACED) != 0;
}

/* shmbus__sub_latest() - a reader's load of `latest`, remembered in s->seen_latest (the
 * evidence read_next() needs before it calls a missing slot corruption). @order: the caller
 * says what it pairs with. `latest` is the one line of the header the writer stores to on
 * every publish: a reader that loads it once per record makes each publish fetch it back
 * (bench/README.md, "Small-record fast path"), so the per-record paths avoid it. */
static inline uint64_t shmbus__sub_latest(struct shmbus_sub *s, memory_order order) {
  uint64_t l = atomic_load_explicit(&s->h->latest, order);
  shmbus__latest_loaded();
  if (l > s->seen_latest) s->seen_latest = l;
  return l;
}

/* shmbus__same_file() - is @st the file of device @dev and inode @ino? A bus name that leads
 * to another file than the one opened was removed or renamed over. */
static inline int shmbus__same_file(const struct stat *st, dev_t dev, ino_t ino) {
  return st->st_dev == dev && st->st_ino == ino;
}

/* names.c */
int shmbus__path(char *buf, const char *prefix, const char *name);
int shmbus__open_owned(const char *path, int flags, mode_t mode);
int shmbus__open_file(const char *path, int flags, mode_t mode, struct stat *st);
int shmbus__lock_check(int fd, const char *path);

/* segment.c */
int shmbus__validate(int fd, struct shmbus__geom *g, struct stat *st);
int shmbus__create(const char *name, const struct shmbus__geom *g, const char *type,
                   const struct shmbus__schema_copy *schema, mode_t mode, gid_t gid, int replace);
int shmbus__geom_make(uint32_t slots, uint64_t capacity, uint64_t schema_size,
                      struct shmbus__geom *g);
void shmbus__fill_info(const struct shmbus__header *h, const struct shmbus__geom *g,
                       const struct stat *st, const struct shmbus__wake *wake,
                       const struct shmbus__schema_copy *schema, struct shmbus_bus_info *info);

/* schema.c */
int shmbus__schema_make(const struct shmbus_schema *in, struct shmbus__schema_copy **out);
int shmbus__schema_load(const void *base, const struct shmbus__geom *g, uint64_t header_hash,
                        struct shmbus__schema_copy **out);
void shmbus__schema_store(void *base, const struct shmbus__schema_copy *c);

/* subscriber.c */
int shmbus__sub_open(const char *name, int flags, int join, shmbus_sub **out);
/* What a borrow keeps of the slot it read (core/borrow.c). */
struct shmbus__borrowed {
  const struct shmbus__slot *slot;
  uint64_t seq; /* 2v, as loaded (acquire) before the slot's header was read */
};
ssize_t shmbus__sub_borrow(shmbus_sub *s, int latest, struct shmbus_record_info *info,
                           struct shmbus__borrowed *bw);

/* registry.c */
void shmbus__registry_join(shmbus_sub *s);
void shmbus__registry_leave(shmbus_sub *s);
int shmbus__registry_list(const struct shmbus__wake *w, struct shmbus_reader_info *out, size_t n);
void shmbus__registry_counts(const struct shmbus__wake *w, int *readers, int *asleep);

/* wakepage.c */
struct shmbus__wake *shmbus__wake_attach(const struct shmbus__header *h, uid_t owner);
void shmbus__wake_detach(struct shmbus__wake *w);
int shmbus__wake_open(struct shmbus__header *h, ino_t ino, mode_t mode, gid_t gid,
                      struct shmbus__wake **out);
int32_t shmbus__wake_key(const struct shmbus__header *h, ino_t ino);
void shmbus__wake_remove(const struct shmbus__header *h, uid_t owner);
void shmbus__wake_remove_ids(int id, int32_t key, uid_t owner);

/* wait.c */
int shmbus__stale(shmbus_sub *s, int64_t now, int64_t *last);
void shmbus__kick(struct shmbus__header *h, uid_t owner);

/* pollfd.c */
int shmbus__pollfd_death_seen(shmbus_sub *s);
void shmbus__pollfd_sync(shmbus_sub *s);
void shmbus__pollfd_seen(shmbus_sub *s, int wait_rc);
void shmbus__pollfd_stop(shmbus_sub *s);

/* admin.c */
int shmbus__remove_temporaries(const char *name);

/* liveness.c */
int shmbus__proc_start_time(pid_t pid, uint64_t *start);
int shmbus__writer_alive(const struct shmbus__header *h);

static inline void shmbus__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif /* SHMBUS_INTERNAL_H */
