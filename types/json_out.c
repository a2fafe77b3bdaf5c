/* json_out.c - a record as JSON (shmbus_type_to_json) and the value formatting the text and
 * field calls share.
 *
 * Written here rather than through jansson's encoder, which cannot say what a record holds:
 * json_integer() is a long long (no uint64 above INT64_MAX), json_real() refuses NaN and the
 * infinities, and jansson prints a double with a fixed precision (0.1f would come out as
 * 0.10000000149011612). jansson reads JSON (json_in.c); output is this small writer. */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "types/internal.h"

/* The fewest significant digits that read back (strtod/strtof) as exactly @v. For a normal
 * number, rounding to DBL_DIG (FLT_DIG) digits already gives the shortest such decimal when
 * one that short exists (%g drops the trailing zeros), so the search starts there; a
 * subnormal has fewer significant bits and starts at 1 digit (5e-324, not 4.94...e-324). */
void st_shortest(char *s, size_t n, double v, bool is_float32) {
  bool sub = is_float32 ? fpclassify((float)v) == FP_SUBNORMAL : fpclassify(v) == FP_SUBNORMAL;
  for (int prec = sub ? 1 : is_float32 ? FLT_DIG : DBL_DIG; prec <= 17; prec++) {
    snprintf(s, n, "%.*g", prec, v);
    if (is_float32 ? strtof(s, NULL) == (float)v : strtod(s, NULL) == v) return;
  }
}

void st_put_float(struct st_buf *b, double v, bool is_float32) {
  char s[40];
  if (isnan(v)) st_buf_puts(b, "\"NaN\"");
  else if (isinf(v)) st_buf_puts(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  else if (v == 0) st_buf_puts(b, signbit(v) ? "-0.0" : "0");
  else {
    st_shortest(s, sizeof s, v, is_float32);
    st_buf_puts(b, s);
  }
}

/* Bytes as a JSON string: IDL char is ISO 8859-1 (Latin-1), so byte b is code point U+00bb,
 * written in UTF-8; control characters escaped. */
void st_put_latin1(struct st_buf *b, const unsigned char *s, size_t n) {
  st_buf_put(b, "\"", 1);
  for (size_t i = 0; i < n && s[i] != 0; i++) {
    unsigned char c = s[i];
    char u[8];
    if (c == '"' || c == '\\') {
      u[0] = '\\';
      u[1] = (char)c;
      st_buf_put(b, u, 2);
    } else if (c < 0x20) {
      snprintf(u, sizeof u, "\\u%04x", c);
      st_buf_put(b, u, 6);
    } else if (c >= 0x80) {
      u[0] = (char)(0xC0 | (c >> 6));
      u[1] = (char)(0x80 | (c & 0x3F));
      st_buf_put(b, u, 2);
    } else {
      st_buf_put(b, (const char *)&c, 1);
    }
  }
  st_buf_put(b, "\"", 1);
}

static void put_enum(struct st_buf *b, const struct st_enum *e, uint32_t v) {
  for (size_t i = 0; i < e->n; i++)
    if (e->v[i].value == v) {
      st_buf_printf(b, "\"%s\"", e->v[i].name);
      return;
    }
  st_buf_printf(b, "%" PRIu32, v);
}

void st_put_scalar(struct st_buf *b, const struct st_field *f, const unsigned char *p) {
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
    case ST_INT8: st_buf_printf(b, "%" PRId8, v.i8); break;
    case ST_UINT8:
    case ST_OCTET: st_buf_printf(b, "%" PRIu8, v.u8); break;
    case ST_INT16: st_buf_printf(b, "%" PRId16, v.i16); break;
    case ST_UINT16: st_buf_printf(b, "%" PRIu16, v.u16); break;
    case ST_INT32: st_buf_printf(b, "%" PRId32, v.i32); break;
    case ST_UINT32: st_buf_printf(b, "%" PRIu32, v.u32); break;
    case ST_INT64: st_buf_printf(b, "%" PRId64, v.i64); break;
    case ST_UINT64: st_buf_printf(b, "%" PRIu64, v.u64); break;
    case ST_FLOAT32: st_put_float(b, v.f32, true); break;
    case ST_FLOAT64: st_put_float(b, v.f64, false); break;
    case ST_BOOL: st_buf_puts(b, v.u8 ? "true" : "false"); break;
    case ST_CHAR: st_put_latin1(b, p, 1); break;
    case ST_ENUM: put_enum(b, f->en, v.u32); break;
    case ST_STRUCT: break;
  }
}

void st_put_value(struct st_buf *b, const struct st_field *f, const unsigned char *base, size_t dim,
                  size_t first) {
  if (dim == f->ndims) {
    const unsigned char *p = base + first * f->elem_size;
    if (f->chars) st_put_latin1(b, p, f->chars);
    else if (f->kind == ST_STRUCT) st_put_struct(b, f->st, p);
    else st_put_scalar(b, f, p);
    return;
  }
  size_t stride = st_stride(f, dim);
  st_buf_put(b, "[", 1);
  for (uint32_t i = 0; i < f->dims[dim] && !b->failed; i++) {
    if (i) st_buf_put(b, ",", 1);
    st_put_value(b, f, base, dim + 1, first + i * stride);
  }
  st_buf_put(b, "]", 1);
}

void st_put_struct(struct st_buf *b, const struct st_struct *s, const unsigned char *rec) {
  st_buf_put(b, "{", 1);
  for (size_t i = 0; i < s->nfields; i++) {
    const struct st_field *f = &s->fields[i];
    st_buf_printf(b, "%s\"%s\":", i ? "," : "", f->name);
    st_put_value(b, f, rec + f->offset, 0, 0);
  }
  st_buf_put(b, "}", 1);
}

ssize_t shmbus_type_to_json(const shmbus_type *t, const void *rec, size_t len, char **out,
                            char *err, size_t errlen) {
  if (len != t->root->size)
    return st_err(err, errlen, -EMSGSIZE, "the record is %zu bytes; a %s is %zu", len,
                  t->root->name, t->root->size);
  struct st_buf b = {0};
  st_put_struct(&b, t->root, rec);
  ssize_t n = st_buf_finish(&b, out);
  if (n < 0) st_err(err, errlen, (int)n, "out of memory");
  return n;
}
