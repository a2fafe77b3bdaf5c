/* field.c - one field of a record by path (shmbus_type_field, shmbus_type_field_number):
 * member names dotted, array elements indexed: "acc[2]", "pose.position.x", "m[1][0]", "m[1]". */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "types/internal.h"

/* Where a path leads: field @f of the struct at @base, its elements from @first over dims
 * from @dim on (dim == f->ndims: one element). */
struct target {
  const struct st_field *f;
  const unsigned char *base;
  size_t dim, first;
};

static int no_field(const char *path, const char *what, char *err, size_t errlen) {
  return st_err(err, errlen, -ENOENT, "%s: %s", path, what);
}

/* Index "[N]" at *@p into dimension @t->dim; advances *@p. */
static int take_index(const char **p, struct target *t, const char *path, char *err,
                      size_t errlen) {
  char *end;
  if (t->dim == t->f->ndims)
    return no_field(path,
                    t->f->chars ? "a char array is one string; it has no elements"
                                : "too many indices",
                    err, errlen);
  if ((*p)[1] < '0' || (*p)[1] > '9')
    return no_field(path, "expected a number after [", err, errlen);
  unsigned long long i = strtoull(*p + 1, &end, 10);
  if (*end != ']') return no_field(path, "expected ] after the index", err, errlen);
  if (i >= t->f->dims[t->dim]) return no_field(path, "index out of range", err, errlen);
  t->first += (size_t)i * st_stride(t->f, t->dim);
  t->dim++;
  *p = end + 1;
  return 0;
}

static int resolve(const shmbus_type *ty, const unsigned char *rec, const char *path,
                   struct target *t, char *err, size_t errlen) {
  const struct st_struct *s = ty->root;
  const char *p = path;
  for (;;) {
    size_t n = strcspn(p, ".[");
    t->f = NULL;
    for (size_t i = 0; i < s->nfields && t->f == NULL; i++)
      if (strlen(s->fields[i].name) == n && strncmp(s->fields[i].name, p, n) == 0)
        t->f = &s->fields[i];
    if (t->f == NULL) return no_field(path, "no such field", err, errlen);
    t->base = rec + t->f->offset;
    t->dim = 0;
    t->first = 0;
    p += n;
    while (*p == '[') {
      int rc = take_index(&p, t, path, err, errlen);
      if (rc < 0) return rc;
    }
    if (*p == '\0') return 0;
    if (*p != '.' || t->dim != t->f->ndims || t->f->kind != ST_STRUCT)
      return no_field(path, "only a struct element has members", err, errlen);
    s = t->f->st;
    rec = t->base + t->first * t->f->elem_size;
    p++;
  }
}

ssize_t shmbus_type_field(const shmbus_type *t, const void *rec, size_t len, const char *path,
                          char **out, char *err, size_t errlen) {
  struct target x;
  if (len != t->root->size)
    return st_err(err, errlen, -EMSGSIZE, "the record is %zu bytes; a %s is %zu", len,
                  t->root->name, t->root->size);
  int rc = resolve(t, rec, path, &x, err, errlen);
  if (rc < 0) return rc;
  struct st_buf b = {0};
  st_put_value(&b, x.f, x.base, x.dim, x.first);
  ssize_t n = st_buf_finish(&b, out);
  if (n < 0) st_err(err, errlen, (int)n, "out of memory");
  return n;
}

int shmbus_type_field_number(const shmbus_type *t, const void *rec, size_t len, const char *path,
                             double *out, char *err, size_t errlen) {
  struct target x;
  if (len != t->root->size)
    return st_err(err, errlen, -EMSGSIZE, "the record is %zu bytes; a %s is %zu", len,
                  t->root->name, t->root->size);
  int rc = resolve(t, rec, path, &x, err, errlen);
  if (rc < 0) return rc;
  const struct st_field *f = x.f;
  if (x.dim != f->ndims || f->chars || f->kind == ST_STRUCT || f->kind == ST_CHAR)
    return st_err(err, errlen, -EINVAL, "%s is not a number, a boolean or an enum", path);
  const unsigned char *p = x.base + x.first * f->elem_size;
  union {
    int8_t i8;
    uint8_t u8;
    int16_t i16;
    uint16_t u16;
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    float f32;
    double f64;
  } v;
  memcpy(&v, p, st_kind_size(f->kind));
  switch (f->kind) {
    case ST_INT8: *out = v.i8; break;
    case ST_UINT8:
    case ST_OCTET: *out = v.u8; break;
    case ST_BOOL: *out = v.u8 != 0; break;
    case ST_INT16: *out = v.i16; break;
    case ST_UINT16: *out = v.u16; break;
    case ST_INT32: *out = v.i32; break;
    case ST_UINT32:
    case ST_ENUM: *out = v.u32; break;
    case ST_INT64: *out = (double)v.i64; break;
    case ST_UINT64: *out = (double)v.u64; break;
    case ST_FLOAT32: *out = v.f32; break;
    default: *out = v.f64; break;
  }
  return 0;
}
