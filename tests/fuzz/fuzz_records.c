/* fuzz_records.c - fuzz target 2: the reader's record path over arbitrary slot contents.
 *
 * A real writer makes a valid bus (geometry from the first two input bytes: 2-5 slots, 1 B to
 * 4 KiB capacity; one bus per geometry and process, made once). Each input then overwrites the
 * whole ring and `latest` with its bytes, opens a reader, and runs a small program of reader
 * calls interleaved with changes to the shared memory: versions going backwards or jumping,
 * lengths beyond capacity, odd or foreign sequence counts, writer state. Layout offsets are
 * the ones docs/PROTOCOL.md documents.
 *
 * Input: [slots][capacity][P][P program bytes][latest: 8][ring bytes...]
 * Checks: no crash, no out-of-bounds access, no hang (libFuzzer -timeout; the replay test's
 * alarm), every call returns a length or a documented error, and every record handed out is
 * exactly the bytes its slot holds with seq == 2 x version, length <= capacity and <= buffer,
 * and next() never returns a version twice or out of order between seeks. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "tests/fuzz/fuzz_common.h"

/* docs/PROTOCOL.md, "Memory layout". */
#define HDR 4096u
#define OFF_LATEST 128u
#define OFF_FUTEX 136u
#define OFF_WRITER_PID 192u
#define OFF_WRITER_STATE 196u
#define SLOT_SEQ 0u
#define SLOT_VERSION 8u
#define SLOT_LENGTH 16u
#define SLOT_PAYLOAD 64u

static const uint64_t kCaps[8] = {1, 7, 8, 63, 64, 65, 200, 4096};

struct bus {
  char name[64];
  unsigned char *mem; /* our own read-write mapping */
  uint32_t slots;
  uint64_t capacity, stride, total;
};
static struct bus buses[32];

static void remove_buses(void) {
  for (size_t i = 0; i < sizeof buses / sizeof buses[0]; i++)
    if (buses[i].mem) shmbus_unlink(buses[i].name, 1);
}

static struct bus *get_bus(uint32_t slots, unsigned cap_sel) {
  struct bus *b = &buses[(slots - 2) * 8 + cap_sel];
  struct shmbus_pub_opts o;
  shmbus_pub *p;
  char kind[16], path[128];
  int fd, rc;
  static int registered;
  if (b->mem) return b;
  if (!registered) atexit(remove_buses); /* the buses outlive inputs; removed at exit */
  registered = 1;
  snprintf(kind, sizeof kind, "rec%u-%u", slots, cap_sel);
  fuzz_name(b->name, sizeof b->name, kind);
  shmbus_unlink(b->name, 1);
  shmbus_pub_opts_init(&o);
  o.slots = slots;
  o.capacity = kCaps[cap_sel];
  rc = shmbus_pub_open(b->name, &o, &p);
  if (rc != 0) fuzz_fail("cannot create bus %s: %s", b->name, shmbus_strerror(rc));
  shmbus_pub_close(p);
  b->slots = slots;
  b->capacity = kCaps[cap_sel];
  b->stride = SLOT_PAYLOAD + ((b->capacity + 63) & ~(uint64_t)63);
  b->total = HDR + slots * b->stride;
  snprintf(path, sizeof path, "/dev/shm/shmbus.%s", b->name);
  fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) fuzz_fail("cannot open %s", path);
  b->mem = mmap(NULL, b->total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (b->mem == MAP_FAILED) fuzz_fail("cannot map %s", path);
  return b;
}

static _Atomic uint64_t *u64(struct bus *b, uint64_t off) {
  return (_Atomic uint64_t *)(b->mem + off);
}
static _Atomic uint32_t *u32(struct bus *b, uint64_t off) {
  return (_Atomic uint32_t *)(b->mem + off);
}
static uint64_t slot_off(struct bus *b, uint64_t v) { return HDR + (v % b->slots) * b->stride; }

/* The program's operand stream. */
struct prog {
  const uint8_t *p;
  size_t n, i;
};
static uint8_t take(struct prog *pr) { return pr->i < pr->n ? pr->p[pr->i++] : 0; }

static unsigned char buf[4096 + 64];

/* A record handed out must be exactly what its slot holds (nobody writes concurrently). */
static void check_record(struct bus *b, ssize_t r, size_t cap, const struct shmbus_record_info *in,
                         const char *what) {
  uint64_t off = slot_off(b, in->version);
  fuzz_check_result(r, cap, what);
  if (r < 0) return;
  if (in->length != (uint64_t)r)
    fuzz_fail("%s: info.length %llu != returned %zd", what, (unsigned long long)in->length, r);
  if ((uint64_t)r > b->capacity) fuzz_fail("%s: length %zd beyond capacity", what, r);
  if (atomic_load(u64(b, off + SLOT_SEQ)) != 2 * in->version)
    fuzz_fail("%s: handed out version %llu from a slot whose seq is %llu", what,
              (unsigned long long)in->version, (unsigned long long)atomic_load(u64(b, off)));
  if (atomic_load(u64(b, off + SLOT_LENGTH)) != (uint64_t)r)
    fuzz_fail("%s: length differs from the slot's", what);
  if (memcmp(buf, b->mem + off + SLOT_PAYLOAD, (size_t)r) != 0)
    fuzz_fail("%s: bytes differ from the slot's", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct shmbus_record_info info;
  struct prog pr;
  struct bus *b;
  shmbus_sub *s;
  uint64_t latest, last_next = 0, ring, n;
  int have_next = 0, rc;
  size_t plen, step;

  if (size < 3) return 0;
  b = get_bus(2 + (data[0] & 3), data[1] & 7);
  plen = data[2] & 31;
  if (size < 3 + plen + 8) return 0;
  pr.p = data + 3;
  pr.n = plen;
  pr.i = 0;
  memcpy(&latest, data + 3 + plen, 8);
  data += 3 + plen + 8;
  size -= 3 + plen + 8;

  /* The ring: the rest of the input, then zeros. Header stays the writer's (valid). */
  ring = b->total - HDR;
  n = size < ring ? size : ring;
  memcpy(b->mem + HDR, data, n);
  memset(b->mem + HDR + n, 0, ring - n);
  atomic_store(u64(b, OFF_LATEST), latest);
  atomic_store(u32(b, OFF_FUTEX), (uint32_t)latest);

  rc = shmbus_sub_open(b->name, 0, &s);
  if (rc != 0) fuzz_fail("sub_open of a valid bus failed: %s", shmbus_strerror(rc));
  for (step = 0; step < 64 && pr.i < pr.n; step++) {
    uint8_t op = take(&pr), d;
    size_t cap = b->capacity;
    ssize_t r;
    switch (op % 10) {
      case 2: cap = op >> 4; /* fall through */
      case 0:
        r = shmbus_sub_read_latest(s, buf, cap, &info);
        check_record(b, r, cap, &info, "read_latest");
        break;
      case 3: cap = op >> 4; /* fall through */
      case 1:
        r = shmbus_sub_next(s, buf, cap, &info);
        check_record(b, r, cap, &info, "next");
        if (r >= 0) {
          if (have_next && info.version <= last_next)
            fuzz_fail("next() returned version %llu after %llu", (unsigned long long)info.version,
                      (unsigned long long)last_next);
          have_next = 1;
          last_next = info.version;
        }
        break;
      case 4:
        rc = shmbus_sub_seek(s, (op >> 4) & 3);
        if (rc != (((op >> 4) & 3) == 3 ? -EINVAL : 0)) fuzz_fail("seek returned %d", rc);
        have_next = 0;
        break;
      case 5:
        rc = shmbus_sub_wait(s, 0,
                             (op & 0x10) ? SHMBUS_WAIT_SLEEP | SHMBUS_WAIT_THROUGH_DEATH
                                         : SHMBUS_WAIT_SLEEP);
        if (rc != 0 && rc != -ETIMEDOUT && rc != -EOWNERDEAD && rc != -ESTALE)
          fuzz_fail("wait returned undocumented %d", rc);
        break;
      case 6: /* versions go backwards or jump forward a little */
        d = take(&pr);
        latest += (uint64_t)(int64_t)(int8_t)d;
        atomic_store(u64(b, OFF_LATEST), latest);
        break;
      case 7: /* versions jump far: flip one bit */
        latest ^= 1ull << (take(&pr) & 63);
        atomic_store(u64(b, OFF_LATEST), latest);
        break;
      case 8: { /* poke one field of one slot, relative to latest or capacity */
        uint64_t off = HDR + (take(&pr) % b->slots) * b->stride;
        int8_t e = (int8_t)take(&pr);
        switch ((op >> 4) & 3) {
          case 0: atomic_store(u64(b, off + SLOT_SEQ), 2 * latest + (uint64_t)(int64_t)e); break;
          case 1:
            atomic_store(u64(b, off + SLOT_LENGTH), b->capacity + (uint64_t)(int64_t)e);
            break;
          case 2: atomic_store(u64(b, off + SLOT_VERSION), latest + (uint64_t)(int64_t)e); break;
          default: atomic_store(u64(b, off + SLOT_SEQ), (uint64_t)(int64_t)e); break;
        }
        break;
      }
      default: /* 9: the writer's state and pid */
        d = take(&pr);
        atomic_store(u32(b, OFF_WRITER_STATE), d & 3);
        atomic_store(u32(b, OFF_WRITER_PID), (d & 4) ? (uint32_t)getpid() : (uint32_t)d << 8);
        break;
    }
  }
  shmbus_sub_close(s);
  return 0;
}
