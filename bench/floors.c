/* floors.c - spin and futex ping-pong floors, memcpy; see floors.h. */
#include "bench/floors.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* One cache line shared by writer and reader. */
struct line {
  _Atomic uint32_t word; /* sequence; the futex word of the futex floor */
  uint32_t pad;
  _Atomic uint64_t stamp;
} __attribute__((aligned(64)));

struct floor_state {
  struct line *l;
  uint32_t last; /* reader: the last sequence it saw (each process has its own copy) */
};

static int floor_setup(void **st, const struct lat_cfg *c, struct bench_ctl *ctl) {
  struct floor_state *s = calloc(1, sizeof *s);
  (void)c;
  (void)ctl;
  if (s == NULL) return -ENOMEM;
  s->l = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s->l == MAP_FAILED) {
    free(s);
    return -ENOMEM;
  }
  *st = s;
  return 0;
}

static int floor_reader_open(void *st, int idx, const struct lat_cfg *c) {
  struct floor_state *s = st;
  (void)idx;
  (void)c;
  s->last = atomic_load(&s->l->word);
  return 0;
}

static int floor_writer_open(void *st, const struct lat_cfg *c) {
  (void)st;
  (void)c;
  return 0;
}

static void floor_teardown(void *st) {
  struct floor_state *s = st;
  munmap(s->l, 4096);
  free(s);
}

static int floor_spin_send(void *st, const void *buf, size_t size) {
  struct floor_state *s = st;
  uint64_t t;
  (void)size;
  memcpy(&t, buf, 8);
  atomic_store_explicit(&s->l->stamp, t, memory_order_relaxed);
  /* release: the stamp is visible before the new sequence */
  atomic_fetch_add_explicit(&s->l->word, 1, memory_order_release);
  return 0;
}

static int floor_spin_recv(void *st, int idx, void *buf, size_t size, int mode) {
  struct floor_state *s = st;
  uint32_t w;
  uint64_t t;
  (void)idx;
  (void)size;
  (void)mode;
  /* acquire: pairs with the writer's release, so the stamp read below is the new one */
  while ((w = atomic_load_explicit(&s->l->word, memory_order_acquire)) == s->last) bench_relax();
  s->last = w;
  t = atomic_load_explicit(&s->l->stamp, memory_order_relaxed);
  memcpy(buf, &t, 8);
  return 0;
}

static int floor_futex_send(void *st, const void *buf, size_t size) {
  floor_spin_send(st, buf, size);
  bench_futex_wake(&((struct floor_state *)st)->l->word, INT_MAX);
  return 0;
}

static int floor_futex_recv(void *st, int idx, void *buf, size_t size, int mode) {
  struct floor_state *s = st;
  uint32_t w;
  uint64_t t;
  (void)idx;
  (void)size;
  (void)mode;
  /* acquire as above; FUTEX_WAIT returns at once if the word already moved */
  while ((w = atomic_load_explicit(&s->l->word, memory_order_acquire)) == s->last)
    bench_futex_wait(&s->l->word, s->last, 100000000);
  s->last = w;
  t = atomic_load_explicit(&s->l->stamp, memory_order_relaxed);
  memcpy(buf, &t, 8);
  return 0;
}

const struct transport floor_spin = {
    .name = "spin-floor",
    .max_readers = 1,
    .setup = floor_setup,
    .reader_open = floor_reader_open,
    .recv = floor_spin_recv,
    .writer_open = floor_writer_open,
    .send = floor_spin_send,
    .teardown = floor_teardown,
};

const struct transport floor_futex = {
    .name = "futex-floor",
    .max_readers = 1,
    .setup = floor_setup,
    .reader_open = floor_reader_open,
    .recv = floor_futex_recv,
    .writer_open = floor_writer_open,
    .send = floor_futex_send,
    .teardown = floor_teardown,
};

/* The relaxed 64-bit atomic load loop, one word per round (core/copy.h's first version),
 * written out here to time it alone. */
static void copy_atomic64(void *dst, const _Atomic uint64_t *src, size_t len) {
  unsigned char *d = dst;
  size_t i;
  for (i = 0; i < len / 8; i++) {
    uint64_t w = atomic_load_explicit(&src[i], memory_order_relaxed);
    memcpy(d + 8 * i, &w, 8);
  }
}

/* The same, four words per round, as core/copy.h does now: every load issued before the
 * stores, so the loop is bound by one store per cycle rather than by its own bookkeeping. */
static void copy_atomic64_x4(void *dst, const _Atomic uint64_t *src, size_t len) {
  unsigned char *d = dst;
  size_t i, words = len / 8;
  for (i = 0; i + 4 <= words; i += 4) {
    uint64_t w0 = atomic_load_explicit(&src[i], memory_order_relaxed);
    uint64_t w1 = atomic_load_explicit(&src[i + 1], memory_order_relaxed);
    uint64_t w2 = atomic_load_explicit(&src[i + 2], memory_order_relaxed);
    uint64_t w3 = atomic_load_explicit(&src[i + 3], memory_order_relaxed);
    memcpy(d + 8 * i, &w0, 8); /* four 8-byte stores: a stack array would be spilled */
    memcpy(d + 8 * i + 8, &w1, 8);
    memcpy(d + 8 * i + 16, &w2, 8);
    memcpy(d + 8 * i + 24, &w3, 8);
  }
  for (; i < words; i++) {
    uint64_t w = atomic_load_explicit(&src[i], memory_order_relaxed);
    memcpy(d + 8 * i, &w, 8);
  }
}

long bench_batch(size_t size) {
  long b = (long)(16384 / size);
  return b < 1 ? 1 : b;
}

void copy_kernel(int kind, void *dst, const void *src, size_t size) {
  if (kind == COPY_MEMCPY) memcpy(dst, src, size);
  else if (kind == COPY_ATOMIC64) copy_atomic64(dst, (const _Atomic uint64_t *)src, size);
  else copy_atomic64_x4(dst, (const _Atomic uint64_t *)src, size);
  __asm__ __volatile__("" : : "r"(dst), "r"(src) : "memory"); /* keep every copy */
}
