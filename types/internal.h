/* internal.h - the type tree shared by the files of types/ (not installed, not public).
 *
 * shmbus_type_parse() (idl.c) turns Cyclone's IDL tree into this small tree, computes the C
 * layout (layout.c) and drops Cyclone's tree. Every other file walks only this tree.
 *
 * Ownership: a shmbus_type owns every st_struct and st_enum in its tables (a struct used by
 * several members, or by several structs, is there once); st_field points at them without
 * owning. All names are malloc'd copies. Nothing changes after shmbus_type_parse() returns. */
#ifndef SHMBUS_TYPES_INTERNAL_H
#define SHMBUS_TYPES_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types/shmbus_types.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "x-shmbus-cstruct records are little-endian; this library reads them in place"
#endif

#define ST_MAX_DIMS 8            /* array dimensions of one member, typedefs included */
#define ST_MAX_DEPTH 32          /* structs nested in structs */
#define ST_MAX_SIZE (1ull << 30) /* largest record (SHMBUS_MAX_CAPACITY) */
#define ST_IDL_MAX (1u << 20)    /* longest IDL text (SHMBUS_SCHEMA_MAX) */

enum st_kind {
  ST_INT8,
  ST_UINT8,
  ST_INT16,
  ST_UINT16,
  ST_INT32,
  ST_UINT32,
  ST_INT64,
  ST_UINT64,
  ST_FLOAT32,
  ST_FLOAT64,
  ST_BOOL,
  ST_CHAR,
  ST_OCTET,
  ST_ENUM,
  ST_STRUCT
};

struct st_enumerator {
  char *name;
  uint32_t value;
};

struct st_enum {
  char *name; /* fully qualified, "sensors::Mode" */
  size_t n;
  struct st_enumerator *v;
};

struct st_field;

struct st_struct {
  char *name;  /* fully qualified */
  size_t size; /* sizeof, a multiple of align */
  size_t align;
  size_t nfields;
  struct st_field *fields;
  /* CDR bytes of one such struct starting at a position p, by p % 8 (cdr.c) */
  size_t cdr_delta[8];
  bool cdr_ready;
};

/* One member: an element type, repeated over dims (row-major). A char array whose innermost
 * dimension is shown as a string has chars = that dimension, and dims exclude it. */
struct st_field {
  char *name;
  enum st_kind kind;
  const struct st_enum *en;   /* ST_ENUM */
  const struct st_struct *st; /* ST_STRUCT */
  size_t offset;              /* in the enclosing struct */
  size_t ndims;
  uint32_t dims[ST_MAX_DIMS];
  size_t chars;     /* 0, or the length of each char string */
  size_t count;     /* elements: the product of dims (1 for a scalar) */
  size_t elem_size; /* bytes of one element (chars bytes for a string) */
  size_t elem_align;
};

struct shmbus_type {
  const struct st_struct *root;
  struct st_struct **structs;
  size_t nstructs;
  struct st_enum **enums;
  size_t nenums;
  size_t cdr_size;
};

/* layout.c */
size_t st_kind_size(enum st_kind k);      /* 0 for ST_STRUCT */
const char *st_kind_name(enum st_kind k); /* "int8" ... "octet", "enum", "struct" */
/* Offsets, size and alignment of @s, whose fields' element sizes are known. -EINVAL with a
 * message when the record would exceed ST_MAX_SIZE. */
int st_layout(struct st_struct *s, char *err, size_t errlen);

/* cdr.c: fills cdr_delta of @s (whose nested structs are ready); the CDR size of a record. */
void st_cdr_prepare(struct st_struct *s);
size_t st_cdr_size(const struct st_struct *s);

/* errors.c: a formatted one-line message into @err (when not NULL). Returns @rc. */
int st_err(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* buf.c: a growable output string. On allocation failure .failed is set and writes stop. */
struct st_buf {
  char *p;
  size_t len, cap;
  bool failed;
};
void st_buf_put(struct st_buf *b, const char *s, size_t n);
void st_buf_puts(struct st_buf *b, const char *s);
void st_buf_printf(struct st_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string to *@out and returns its length, or -ENOMEM (and frees it). */
ssize_t st_buf_finish(struct st_buf *b, char **out);

/* json_out.c: one element's value as JSON text. */
/* The shortest decimal (%g) that reads back as exactly @v (finite). */
void st_shortest(char *s, size_t n, double v, bool is_float32);
void st_put_float(struct st_buf *b, double v, bool is_float32); /* shortest exact; NaN etc. */
void st_put_latin1(struct st_buf *b, const unsigned char *s, size_t n); /* a JSON string */
/* A scalar element of a non-struct kind at @p as JSON (enum by name, char as a string). */
void st_put_scalar(struct st_buf *b, const struct st_field *f, const unsigned char *p);
/* The whole value of @f (all its dims) starting at element @first of its flattened elements,
 * over dims from @dim on: nested arrays of scalars, strings or objects. */
void st_put_value(struct st_buf *b, const struct st_field *f, const unsigned char *base, size_t dim,
                  size_t first);
void st_put_struct(struct st_buf *b, const struct st_struct *s, const unsigned char *rec);
/* Stride (in elements) of dimension @dim of @f: the product of the dims after it. */
size_t st_stride(const struct st_field *f, size_t dim);

#endif /* SHMBUS_TYPES_INTERNAL_H */
