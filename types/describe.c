/* describe.c - the layout of a type as JSON (shmbus_type_describe), for bindings. */
#include <errno.h>
#include <inttypes.h>

#include "types/internal.h"

static void describe_fields(struct st_buf *b, const struct st_struct *s);

static void describe_type(struct st_buf *b, const struct st_field *f) {
  if (f->chars) {
    st_buf_printf(b, "{\"chars\":%zu}", f->chars);
  } else if (f->kind == ST_ENUM) {
    st_buf_printf(b, "{\"enum\":\"%s\",\"size\":4,\"values\":{", f->en->name);
    for (size_t i = 0; i < f->en->n; i++)
      st_buf_printf(b, "%s\"%s\":%" PRIu32, i ? "," : "", f->en->v[i].name, f->en->v[i].value);
    st_buf_puts(b, "}}");
  } else if (f->kind == ST_STRUCT) {
    st_buf_printf(b, "{\"struct\":\"%s\",\"size\":%zu,\"align\":%zu,", f->st->name, f->st->size,
                  f->st->align);
    describe_fields(b, f->st);
    st_buf_puts(b, "}");
  } else {
    st_buf_printf(b, "\"%s\"", st_kind_name(f->kind));
  }
}

static void describe_fields(struct st_buf *b, const struct st_struct *s) {
  st_buf_puts(b, "\"fields\":[");
  for (size_t i = 0; i < s->nfields; i++) {
    const struct st_field *f = &s->fields[i];
    st_buf_printf(b, "%s{\"name\":\"%s\",\"offset\":%zu,\"type\":", i ? "," : "", f->name,
                  f->offset);
    describe_type(b, f);
    st_buf_puts(b, ",\"dims\":[");
    for (size_t d = 0; d < f->ndims; d++) st_buf_printf(b, "%s%" PRIu32, d ? "," : "", f->dims[d]);
    st_buf_puts(b, "]}");
  }
  st_buf_puts(b, "]");
}

ssize_t shmbus_type_describe(const shmbus_type *t, char **out) {
  struct st_buf b = {0};
  st_buf_printf(&b, "{\"name\":\"%s\",\"size\":%zu,\"align\":%zu,", t->root->name, t->root->size,
                t->root->align);
  describe_fields(&b, t->root);
  st_buf_puts(&b, "}");
  return st_buf_finish(&b, out);
}
