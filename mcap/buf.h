/* buf.h - the MCAP library's growable byte buffer and little-endian encoders (internal). */
#ifndef SHMBUS_MCAP_BUF_H
#define SHMBUS_MCAP_BUF_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct mcap__buf {
  uint8_t *p;
  size_t n, cap;
  int err; /* sticky -ENOMEM: the encoders below become no-ops after a failed growth */
};

static inline int mcap__reserve(struct mcap__buf *b, size_t more) {
  size_t cap;
  uint8_t *np;
  if (b->err) return b->err;
  if (b->n + more <= b->cap) return 0;
  cap = b->cap ? b->cap : 256;
  while (cap < b->n + more) cap *= 2;
  if ((np = realloc(b->p, cap)) == NULL) return b->err = -ENOMEM;
  b->p = np;
  b->cap = cap;
  return 0;
}

static inline void mcap__put(struct mcap__buf *b, const void *d, size_t n) {
  if (n == 0 || mcap__reserve(b, n) < 0) return;
  memcpy(b->p + b->n, d, n);
  b->n += n;
}

static inline void mcap__put_le(struct mcap__buf *b, uint64_t v, int bytes) {
  uint8_t t[8];
  int i;
  for (i = 0; i < bytes; i++) t[i] = (uint8_t)(v >> (8 * i));
  mcap__put(b, t, (size_t)bytes);
}

static inline void mcap__u8(struct mcap__buf *b, uint8_t v) { mcap__put_le(b, v, 1); }
static inline void mcap__u16(struct mcap__buf *b, uint16_t v) { mcap__put_le(b, v, 2); }
static inline void mcap__u32(struct mcap__buf *b, uint32_t v) { mcap__put_le(b, v, 4); }
static inline void mcap__u64(struct mcap__buf *b, uint64_t v) { mcap__put_le(b, v, 8); }

/* A String: u32 length + bytes. NULL is "". */
static inline void mcap__str(struct mcap__buf *b, const char *s) {
  size_t n = s ? strlen(s) : 0;
  mcap__u32(b, (uint32_t)n);
  mcap__put(b, s, n);
}

/* mcap__begin() - opcode + a length placeholder; returns where the body starts. */
static inline size_t mcap__begin(struct mcap__buf *b, uint8_t op) {
  mcap__u8(b, op);
  mcap__u64(b, 0);
  return b->n;
}

/* mcap__end() - patch the length of the record whose body started at @start. */
static inline void mcap__end(struct mcap__buf *b, size_t start) {
  uint64_t len = b->n - start;
  int i;
  if (b->err) return;
  for (i = 0; i < 8; i++) b->p[start - 8 + i] = (uint8_t)(len >> (8 * i));
}

static inline uint64_t mcap__get_le(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  int i;
  for (i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

#endif /* SHMBUS_MCAP_BUF_H */
