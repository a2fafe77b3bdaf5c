/* cdr.c - a record as XCDR1 (plain CDR), little-endian (shmbus_type_to_cdr).
 *
 * After the 4-byte encapsulation header {0x00, 0x01, 0x00, 0x00} (CDR_LE), members follow in
 * declaration order, arrays element by element (row-major), nested structs inline with no
 * alignment of their own; every primitive is aligned to its size (8-byte types to 8) relative
 * to the first byte after the header, padding is zero. An enum is a uint32, a boolean one byte
 * (0 or 1), char and octet one byte. The size is fixed for a type (no sequences or strings),
 * but depends on where each primitive falls, so it is computed by the same walk.
 *
 * shmbus_type_from_cdr() walks the same way backwards, over untrusted bytes: the length is
 * checked against the type's fixed CDR size before anything is read or written, and every
 * read is bounded again by the walk itself. */
#include <errno.h>
#include <string.h>

#include "types/internal.h"

struct cdr {
  unsigned char *out; /* NULL: only count */
  size_t pos;         /* relative to the byte after the header */
};

static void put(struct cdr *c, const unsigned char *p, size_t n) {
  size_t pad = (n - c->pos % n) % n;
  if (c->out != NULL) {
    memset(c->out + c->pos, 0, pad);
    memcpy(c->out + c->pos + pad, p, n);
  }
  c->pos += pad + n;
}

static void cdr_struct(struct cdr *c, const struct st_struct *s, const unsigned char *rec);

/* Counting only: the CDR bytes of @f's elements without visiting each one. A primitive array
 * is aligned once; an array of structs advances by cdr_delta[pos % 8], which repeats with a
 * period of at most 8 elements, so whole periods are skipped. */
static void count_field(struct cdr *c, const struct st_field *f) {
  if (f->chars) {
    c->pos += f->count * f->chars;
  } else if (f->kind != ST_STRUCT) {
    size_t n = st_kind_size(f->kind);
    c->pos += (n - c->pos % n) % n + f->count * n;
  } else {
    size_t seen_at[8], seen_pos[8];
    memset(seen_at, 0xff, sizeof seen_at);
    for (size_t e = 0; e < f->count; e++) {
      size_t r = c->pos % 8;
      if (seen_at[r] != (size_t)-1) {
        size_t period = e - seen_at[r], adv = c->pos - seen_pos[r], k = (f->count - e) / period;
        c->pos += k * adv;
        e += k * period;
        memset(seen_at, 0xff, sizeof seen_at);
        if (e >= f->count) break;
        r = c->pos % 8;
      }
      seen_at[r] = e;
      seen_pos[r] = c->pos;
      c->pos += f->st->cdr_delta[r];
    }
  }
}

/* A field whose elements lie back to back, unchanged, in both forms: char strings and
 * primitives other than boolean (aligned once, then count x size bytes). */
static int contiguous(const struct st_field *f) {
  return f->chars ||
         (f->kind != ST_STRUCT && f->kind != ST_BOOL && f->elem_size == st_kind_size(f->kind));
}

static void cdr_field(struct cdr *c, const struct st_field *f, const unsigned char *base) {
  if (c->out == NULL && (f->kind != ST_STRUCT || f->st->cdr_ready)) {
    count_field(c, f);
    return;
  }
  size_t n = f->kind == ST_STRUCT ? 0 : st_kind_size(f->kind);
  if (c->out != NULL && contiguous(f)) { /* one copy: a 1 MiB image is not 1 Mi calls */
    size_t a = f->chars ? 1 : n, pad = (a - c->pos % a) % a;
    memset(c->out + c->pos, 0, pad);
    memcpy(c->out + c->pos + pad, base, f->count * f->elem_size);
    c->pos += pad + f->count * f->elem_size;
    return;
  }
  for (size_t e = 0; e < f->count; e++) {
    const unsigned char *p = base ? base + e * f->elem_size : NULL;
    if (f->kind == ST_STRUCT) {
      cdr_struct(c, f->st, p);
    } else if (f->chars) {
      memcpy(c->out + c->pos, p, f->chars);
      c->pos += f->chars;
    } else if (f->kind == ST_BOOL) {
      unsigned char v = *p != 0;
      put(c, &v, 1);
    } else {
      put(c, p, n);
    }
  }
}

static void cdr_struct(struct cdr *c, const struct st_struct *s, const unsigned char *rec) {
  for (size_t i = 0; i < s->nfields; i++)
    cdr_field(c, &s->fields[i], rec ? rec + s->fields[i].offset : NULL);
}

void st_cdr_prepare(struct st_struct *s) {
  for (size_t r = 0; r < 8; r++) {
    struct cdr c = {.pos = r};
    cdr_struct(&c, s, NULL);
    s->cdr_delta[r] = c.pos - r;
  }
  s->cdr_ready = true;
}

size_t st_cdr_size(const struct st_struct *s) { return s->cdr_delta[0]; }

ssize_t shmbus_type_to_cdr(const shmbus_type *t, const void *rec, size_t len, void *out,
                           size_t cap) {
  if (len != t->root->size || cap < t->cdr_size) return -EMSGSIZE;
  unsigned char *o = out;
  o[0] = 0x00;
  o[1] = 0x01;
  o[2] = 0x00;
  o[3] = 0x00;
  struct cdr c = {.out = o + 4};
  cdr_struct(&c, t->root, rec);
  return (ssize_t)(c.pos + 4);
}

/* ---------------------------------------------------------------- CDR -> record */

struct cdr_in {
  const unsigned char *in; /* the payload: the byte after the header */
  size_t len, pos;         /* bytes of payload; the read position in it */
  int swap;                /* CDR_BE: every primitive byte-swapped */
  int over;                /* a read would have passed the end (not reached: length checked) */
};

static void get(struct cdr_in *c, unsigned char *p, size_t n) {
  size_t at = c->pos + (n - c->pos % n) % n;
  if (c->over || at > c->len || c->len - at < n) {
    c->over = 1;
    return;
  }
  if (c->swap)
    for (size_t i = 0; i < n; i++) p[i] = c->in[at + n - 1 - i];
  else memcpy(p, c->in + at, n);
  c->pos = at + n;
}

static void from_struct(struct cdr_in *c, const struct st_struct *s, unsigned char *rec);

static void from_field(struct cdr_in *c, const struct st_field *f, unsigned char *base) {
  size_t n = f->kind == ST_STRUCT ? 0 : st_kind_size(f->kind);
  if (contiguous(f) && (!c->swap || f->chars || n == 1)) { /* one bounded copy */
    size_t a = f->chars ? 1 : n, at = c->pos + (a - c->pos % a) % a,
           bytes = f->count * f->elem_size;
    if (c->over || at > c->len || c->len - at < bytes) {
      c->over = 1;
      return;
    }
    memcpy(base, c->in + at, bytes);
    c->pos = at + bytes;
    return;
  }
  for (size_t e = 0; e < f->count && !c->over; e++) {
    unsigned char *p = base + e * f->elem_size;
    if (f->kind == ST_STRUCT) {
      from_struct(c, f->st, p);
    } else if (f->kind == ST_BOOL) {
      unsigned char v = 0;
      get(c, &v, 1);
      *p = v != 0; /* any non-zero byte is true; the record holds a C bool: 0 or 1 */
    } else {
      get(c, p, n);
    }
  }
}

static void from_struct(struct cdr_in *c, const struct st_struct *s, unsigned char *rec) {
  for (size_t i = 0; i < s->nfields && !c->over; i++)
    from_field(c, &s->fields[i], rec + s->fields[i].offset);
}

ssize_t shmbus_type_from_cdr(const shmbus_type *t, const void *cdr, size_t len, void *rec,
                             size_t cap, char *err, size_t errlen) {
  const unsigned char *in = cdr;
  size_t want = t->cdr_size;
  if (cap < t->root->size)
    return st_err(err, errlen, -EMSGSIZE, "the record needs %zu bytes, the buffer has %zu",
                  t->root->size, cap);
  if (len < 4)
    return st_err(err, errlen, -EBADMSG, "%zu bytes: too short for a CDR encapsulation header",
                  len);
  if (in[0] != 0x00 || in[1] > 0x0b)
    return st_err(err, errlen, -EBADMSG, "not CDR: the encapsulation header is %02x %02x", in[0],
                  in[1]);
  if (in[1] > 0x01)
    return st_err(err, errlen, -ENOTSUP,
                  "the encapsulation 00 %02x (%s) is not plain CDR (XCDR1), the only one read",
                  in[1],
                  in[1] <= 3   ? "parameter-list CDR"
                  : in[1] >= 6 ? "XCDR2"
                               : "unknown");
  if (len < want)
    return st_err(err, errlen, -EBADMSG,
                  "%zu bytes of CDR, but every %s is %zu: the message is truncated", len,
                  t->root->name, want);
  if (len - want > 3)
    return st_err(err, errlen, -EBADMSG,
                  "%zu bytes of CDR, but every %s is %zu: not a message of this type", len,
                  t->root->name, want);
  struct cdr_in c = {.in = in + 4, .len = len - 4, .swap = in[1] == 0x00};
  memset(rec, 0, t->root->size); /* padding is zero, as shmbus_type_from_json() leaves it */
  from_struct(&c, t->root, rec);
  if (c.over) /* cannot happen after the length check; kept as the last line of defence */
    return st_err(err, errlen, -EBADMSG, "the CDR ends inside %s", t->root->name);
  return (ssize_t)t->root->size;
}
