/* text.c - a record as "field=value" pairs (shmbus_type_to_text): nested names dotted, array
 * elements indexed, values as in JSON (strings quoted, enums by name). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "types/internal.h"

struct text {
  struct st_buf *b;
  char path[1024];
  size_t plen;
  bool first;
};

static size_t advance(struct text *x, int n) {
  size_t mark = x->plen;
  if (n > 0 && (size_t)n < sizeof x->path - x->plen) x->plen += (size_t)n;
  x->path[x->plen] = '\0';
  return mark;
}

static size_t push_name(struct text *x, const char *s) {
  return advance(x, snprintf(x->path + x->plen, sizeof x->path - x->plen, "%s", s));
}

static size_t push_index(struct text *x, uint32_t i) {
  return advance(x, snprintf(x->path + x->plen, sizeof x->path - x->plen, "[%" PRIu32 "]", i));
}

static void text_struct(struct text *x, const struct st_struct *s, const unsigned char *rec);

static void text_value(struct text *x, const struct st_field *f, const unsigned char *base,
                       size_t dim, size_t first) {
  if (dim < f->ndims) {
    size_t stride = st_stride(f, dim);
    for (uint32_t i = 0; i < f->dims[dim] && !x->b->failed; i++) {
      size_t mark = push_index(x, i);
      text_value(x, f, base, dim + 1, first + i * stride);
      x->plen = mark;
      x->path[mark] = '\0';
    }
    return;
  }
  const unsigned char *p = base + first * f->elem_size;
  if (f->kind == ST_STRUCT && !f->chars) {
    size_t mark = push_name(x, ".");
    text_struct(x, f->st, p);
    x->plen = mark;
    x->path[mark] = '\0';
    return;
  }
  st_buf_printf(x->b, "%s%s=", x->first ? "" : " ", x->path);
  x->first = false;
  if (f->chars) st_put_latin1(x->b, p, f->chars);
  else st_put_scalar(x->b, f, p);
}

static void text_struct(struct text *x, const struct st_struct *s, const unsigned char *rec) {
  for (size_t i = 0; i < s->nfields; i++) {
    size_t mark = push_name(x, s->fields[i].name);
    text_value(x, &s->fields[i], rec + s->fields[i].offset, 0, 0);
    x->plen = mark;
    x->path[mark] = '\0';
  }
}

ssize_t shmbus_type_to_text(const shmbus_type *t, const void *rec, size_t len, char **out,
                            char *err, size_t errlen) {
  if (len != t->root->size)
    return st_err(err, errlen, -EMSGSIZE, "the record is %zu bytes; a %s is %zu", len,
                  t->root->name, t->root->size);
  struct st_buf b = {0};
  struct text x = {.b = &b, .first = true};
  text_struct(&x, t->root, rec);
  ssize_t n = st_buf_finish(&b, out);
  if (n < 0) st_err(err, errlen, (int)n, "out of memory");
  return n;
}
