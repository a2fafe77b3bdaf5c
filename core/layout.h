/* layout.h - the shared-memory layout of a bus (internal). docs/PROTOCOL.md is its prose form;
 * the static_asserts below pin every offset named there. */
#ifndef SHMBUS_LAYOUT_H
#define SHMBUS_LAYOUT_H

#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/shmbus.h"

#define SHMBUS__MAGIC "SHMBUS\0\1"
/* Version 2 (this library): the header as in version 1; the wake page is an eventcount word
 * plus a reader registry (docs/PROTOCOL.md, Wait/wake and Reader registry). Version 1 buses
 * (an older writer) stay readable: their readers poll at the tick instead of being woken. */
#define SHMBUS__LAYOUT_VERSION 2u
static_assert(SHMBUS__LAYOUT_VERSION == SHMBUS_LAYOUT_VERSION, "one version number");
#define SHMBUS__LAYOUT_VERSION_V1 1u
#define SHMBUS__HEADER_SIZE 4096u
#define SHMBUS__SLOT_HEADER_SIZE 64u
#define SHMBUS__WAKE_SIZE 65536u                           /* layout 2; layout 1's page was 4096 */
#define SHMBUS__READERS ((SHMBUS__WAKE_SIZE - 128u) / 64u) /* registry entries: 1022 */
#define SHMBUS__SPIN_SLOTS 8u /* leases of the hybrid wait's spin phase (core/wait.c) */
#define SHMBUS__FLAG_REPLACED 1u

enum { SHMBUS__WRITER_NONE = 0, SHMBUS__WRITER_RUNNING = 1, SHMBUS__WRITER_CLOSED = 2 };

struct shmbus__header {
  unsigned char magic[8];           /* 0 */
  uint32_t layout_version;          /* 8 */
  uint32_t header_size;             /* 12 */
  uint32_t slot_count;              /* 16 */
  uint32_t slot_header_size;        /* 20 */
  uint64_t capacity;                /* 24 */
  uint64_t slot_stride;             /* 32 */
  uint64_t total_size;              /* 40 */
  uint64_t created_ns;              /* 48 */
  _Atomic uint32_t flags;           /* 56 */
  uint32_t reserved0;               /* 60 */
  char type[32];                    /* 64 */
  unsigned char pad0[32];           /* 96 */
  _Atomic uint64_t latest;          /* 128: own cache line, read by every reader */
  _Atomic uint32_t futex;           /* 136 */
  unsigned char pad1[52];           /* 140 */
  _Atomic uint32_t writer_pid;      /* 192 */
  _Atomic uint32_t writer_state;    /* 196 */
  _Atomic uint64_t writer_start;    /* 200 */
  _Atomic uint64_t last_publish_ns; /* 208 */
  _Atomic int32_t wake_shmid;       /* 216: System V id of the wake page, -1 none */
  _Atomic int32_t wake_key;         /* 220: its (random) System V key: ids get recycled */
  uint64_t schema_size;             /* 224: bytes of the schema block; 0 = untyped */
  uint64_t schema_hash;             /* 232: shmbus_schema_hash(); 0 = untyped */
};

/* The schema block of a typed bus, at SHMBUS__HEADER_SIZE, written once by the creator before
 * the object is linked into place (docs/PROTOCOL.md, Schema block). */
#define SHMBUS__SCHEMA_MAGIC "SHMBSCH\0"
struct shmbus__schema_block {
  unsigned char magic[8];        /* 0 */
  uint32_t name_len;             /* 8: 1..SHMBUS_TYPE_NAME_MAX */
  uint32_t schema_encoding_len;  /* 12: 0..SHMBUS_ENCODING_MAX */
  uint32_t message_encoding_len; /* 16: 1..SHMBUS_ENCODING_MAX */
  uint32_t text_len;             /* 20: 0..SHMBUS_SCHEMA_MAX */
  uint64_t hash;                 /* 24: == header's schema_hash */
  unsigned char data[]; /* 32: name NUL schema-encoding NUL message-encoding NUL text NUL */
};
/* The largest schema block: its fixed part, the three names and the text with their NULs,
 * rounded up to a page. */
#define SHMBUS__SCHEMA_BLOCK_MAX                                                              \
  ((32u + SHMBUS_TYPE_NAME_MAX + 2u * SHMBUS_ENCODING_MAX + SHMBUS_SCHEMA_MAX + 4u + 4095u) & \
   ~4095u)

struct shmbus__slot {
  _Atomic uint64_t seq;          /* 0: 2v-1 writing v, 2v holds v, 0 never written */
  _Atomic uint64_t version;      /* 8 */
  _Atomic uint64_t length;       /* 16 */
  _Atomic uint64_t timestamp_ns; /* 24 */
  unsigned char pad[32];         /* 32 */
  _Atomic uint64_t payload[];    /* 64 */
};

/* One reader in the registry: one cache line, written only by that reader (and cleared by
 * whoever reaps it after its death). Advisory: any reader may scribble on any entry, so every
 * consumer bounds what it reads (core/registry.c). */
struct shmbus__reader {
  _Atomic uint64_t owner;     /* 0: pid | start time << 22 (SHMBUS__OWNER); 0 = free entry */
  _Atomic uint32_t state;     /* SHMBUS__RS_* bits, written by the subscriber's own thread */
  _Atomic uint32_t notifier;  /* SHMBUS__RS_* bits of its pollable descriptor's thread */
  _Atomic uint64_t cursor;    /* the reader's cursor when it last waited */
  _Atomic uint64_t lost;      /* records it lost so far (info->lost summed) */
  _Atomic uint64_t active_ns; /* CLOCK_REALTIME of its last wait */
  _Atomic uint64_t opened_ns; /* CLOCK_REALTIME of its shmbus_sub_open() */
  unsigned char pad[16];
};
enum {
  SHMBUS__RS_MODE = 3u,     /* last wait's mode (enum shmbus_wait_mode) */
  SHMBUS__RS_ASLEEP = 4u,   /* announced in the wake word, in or about to enter FUTEX_WAIT */
  SHMBUS__RS_SPINNING = 8u, /* in a wait's spin phase */
  SHMBUS__RS_POLLFD = 16u,  /* has a pollable descriptor (a notifier thread) */
};

/* The wake page of layout 2: a System V segment of SHMBUS__WAKE_SIZE bytes (core/wakepage.c).
 * Readers may write all of it. */
struct shmbus__wake {
  /* 0: the eventcount (core/wake.h): bit 0 = "a sleeper may be queued", bit 1 = T (the
   * writer's tree-mode hint), bits 2-31 = epoch.
   * Sleepers FUTEX_WAIT on this very word. */
  _Atomic uint32_t word;
  unsigned char pad0[60];
  /* 64: spin leases, CLOCK_MONOTONIC ns until which a hybrid waiter spins, 0 = free: a hybrid
   * wait spins only with a lease, and there are as many as the machine has cores but one. */
  _Atomic uint64_t spin_until[SHMBUS__SPIN_SLOTS];
  struct shmbus__reader readers[SHMBUS__READERS]; /* 128: the registry */
};

/* The wake page of layout 1 (read-only support: never written by this library's writer). */
struct shmbus__wake_v1 {
  _Atomic uint32_t flag; /* 0: 1 = some reader announced it sleeps */
};

static_assert(offsetof(struct shmbus__header, layout_version) == 8, "layout");
static_assert(offsetof(struct shmbus__header, slot_count) == 16, "layout");
static_assert(offsetof(struct shmbus__header, capacity) == 24, "layout");
static_assert(offsetof(struct shmbus__header, total_size) == 40, "layout");
static_assert(offsetof(struct shmbus__header, flags) == 56, "layout");
static_assert(offsetof(struct shmbus__header, type) == 64, "layout");
static_assert(offsetof(struct shmbus__header, latest) == 128, "layout");
static_assert(offsetof(struct shmbus__header, futex) == 136, "layout");
static_assert(offsetof(struct shmbus__header, writer_pid) == 192, "layout");
static_assert(offsetof(struct shmbus__header, writer_start) == 200, "layout");
static_assert(offsetof(struct shmbus__header, last_publish_ns) == 208, "layout");
static_assert(offsetof(struct shmbus__header, wake_shmid) == 216, "layout");
static_assert(offsetof(struct shmbus__header, wake_key) == 220, "layout");
static_assert(offsetof(struct shmbus__header, schema_size) == 224, "layout");
static_assert(offsetof(struct shmbus__header, schema_hash) == 232, "layout");
static_assert(offsetof(struct shmbus__schema_block, hash) == 24, "layout");
static_assert(offsetof(struct shmbus__schema_block, data) == 32, "layout");
static_assert(sizeof(struct shmbus__header) <= SHMBUS__HEADER_SIZE, "header fits its page");
static_assert(offsetof(struct shmbus__slot, length) == 16, "layout");
static_assert(sizeof(struct shmbus__reader) == 64, "one cache line per reader");
static_assert(offsetof(struct shmbus__wake, spin_until) == 64, "layout");
static_assert(offsetof(struct shmbus__wake, readers) == 128, "layout");
static_assert(sizeof(struct shmbus__wake) <= SHMBUS__WAKE_SIZE, "wake page fits");
static_assert(offsetof(struct shmbus__slot, timestamp_ns) == 24, "layout");
static_assert(offsetof(struct shmbus__slot, payload) == SHMBUS__SLOT_HEADER_SIZE, "layout");
/* Shared memory is accessed by other processes: the atomics must not hide a lock. */
static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
static_assert(sizeof(_Atomic uint64_t) == 8 && sizeof(_Atomic uint32_t) == 4, "atomic sizes");

static inline uint64_t shmbus__round64(uint64_t n) { return (n + 63u) & ~(uint64_t)63u; }

#endif /* SHMBUS_LAYOUT_H */
