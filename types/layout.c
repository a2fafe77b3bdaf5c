/* layout.c - the C layout of a record (x-shmbus-cstruct, docs/TYPES.md).
 *
 * Natural alignment, as the x86-64 and aarch64 Linux ABIs (System V, AAPCS64) lay out a plain
 * struct: every primitive is aligned to its size (int64/uint64/double to 8 on both), an enum
 * is 4 bytes, boolean, char and octet 1 byte; an array has its element's alignment; a struct
 * has its strictest member's alignment and its sizeof is rounded up to it (trailing padding). */
#include <errno.h>

#include "types/internal.h"

size_t st_kind_size(enum st_kind k) {
  switch (k) {
    case ST_INT8:
    case ST_UINT8:
    case ST_BOOL:
    case ST_CHAR:
    case ST_OCTET: return 1;
    case ST_INT16:
    case ST_UINT16: return 2;
    case ST_INT32:
    case ST_UINT32:
    case ST_FLOAT32:
    case ST_ENUM: return 4;
    case ST_INT64:
    case ST_UINT64:
    case ST_FLOAT64: return 8;
    case ST_STRUCT: return 0;
  }
  return 0;
}

const char *st_kind_name(enum st_kind k) {
  static const char *const names[] = {
      [ST_INT8] = "int8",       [ST_UINT8] = "uint8",   [ST_INT16] = "int16",
      [ST_UINT16] = "uint16",   [ST_INT32] = "int32",   [ST_UINT32] = "uint32",
      [ST_INT64] = "int64",     [ST_UINT64] = "uint64", [ST_FLOAT32] = "float32",
      [ST_FLOAT64] = "float64", [ST_BOOL] = "bool",     [ST_CHAR] = "char",
      [ST_OCTET] = "octet",     [ST_ENUM] = "enum",     [ST_STRUCT] = "struct"};
  return names[k];
}

static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

int st_layout(struct st_struct *s, char *err, size_t errlen) {
  size_t off = 0, align = 1;
  for (size_t i = 0; i < s->nfields; i++) {
    struct st_field *f = &s->fields[i];
    if (f->kind == ST_STRUCT) {
      f->elem_size = f->st->size;
      f->elem_align = f->st->align;
    } else {
      f->elem_align = st_kind_size(f->kind);
      f->elem_size = f->chars ? f->chars : f->elem_align;
    }
    off = round_up(off, f->elem_align);
    f->offset = off;
    if (f->count > (ST_MAX_SIZE - off) / f->elem_size)
      return st_err(err, errlen, -EINVAL, "struct %s is larger than %llu bytes (at member %s)",
                    s->name, (unsigned long long)ST_MAX_SIZE, f->name);
    off += f->count * f->elem_size;
    if (f->elem_align > align) align = f->elem_align;
  }
  s->align = align;
  s->size = round_up(off, align);
  return 0;
}

size_t st_stride(const struct st_field *f, size_t dim) {
  size_t n = 1;
  for (size_t i = dim + 1; i < f->ndims; i++) n *= f->dims[i];
  return n;
}
