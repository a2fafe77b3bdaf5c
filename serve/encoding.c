/* encoding.c - a bus's advertisement and record conversion (see encoding.h). */
#include "serve/encoding.h"

#include "types/shmbus_types.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src ? src : ""); }

/* A type tag from a bus header: printable ASCII only (a hostile header could hold anything). */
static void copy_printable(char *dst, size_t n, const char *src) {
  size_t i;
  for (i = 0; src[i] && i + 1 < n; i++) dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
  dst[i] = 0;
}

/* The typed C-struct case: CDR with the IDL as its schema. 0, or -EINVAL (the converter
 * refused the schema: the caller advertises it as it is). */
static int typed(const struct shmbus_schema *sc, struct serve_encoding *e, char *warn,
                 size_t warnlen) {
  shmbus_type *t;
  char err[256];
  if (shmbus_type_parse(sc->text, sc->text_len, sc->type_name, &t, err, sizeof err) < 0) {
    if (warn) snprintf(warn, warnlen, "its schema cannot be converted (%s)", err);
    return -EINVAL;
  }
  if (shmbus_type_describe(t, &e->layout) < 0) {
    shmbus_type_free(t);
    e->layout = NULL;
    return -EINVAL;
  }
  if ((e->schema = malloc(sc->text_len + 1)) == NULL) {
    shmbus_type_free(t);
    free(e->layout);
    e->layout = NULL;
    return -EINVAL;
  }
  memcpy(e->schema, sc->text, sc->text_len);
  e->schema[sc->text_len] = 0;
  e->schema_len = sc->text_len;
  copy(e->encoding, sizeof e->encoding, "cdr");
  copy(e->schema_encoding, sizeof e->schema_encoding, "omgidl");
  copy(e->schema_name, sizeof e->schema_name, shmbus_type_name(t));
  e->type = t;
  e->cstruct = 1;
  return 0;
}

int serve_encoding_of(shmbus_sub *s, const struct shmbus_bus_info *bi, struct serve_encoding *e,
                      char *warn, size_t warnlen) {
  struct shmbus_schema sc;
  memset(e, 0, sizeof *e);
  if (warn && warnlen) warn[0] = 0;
  if (shmbus_sub_schema(s, &sc) < 0) { /* untyped: the bytes */
    copy(e->encoding, sizeof e->encoding, SERVE_RAW_ENCODING);
    copy_printable(e->schema_name, sizeof e->schema_name, bi->type);
    return 0;
  }
  if (!strcmp(sc.schema_encoding, "omgidl") && !strcmp(sc.message_encoding, SHMBUS_MSG_CSTRUCT) &&
      typed(&sc, e, warn, warnlen) == 0)
    return 0;
  copy(e->encoding, sizeof e->encoding, sc.message_encoding);
  copy(e->schema_encoding, sizeof e->schema_encoding, sc.schema_encoding);
  copy(e->schema_name, sizeof e->schema_name, sc.type_name);
  if ((e->schema = malloc(sc.text_len + 1)) == NULL) return -ENOMEM;
  memcpy(e->schema, sc.text, sc.text_len);
  e->schema[sc.text_len] = 0;
  e->schema_len = sc.text_len;
  return 0;
}

void serve_encoding_free(struct serve_encoding *e) {
  free(e->schema);
  free(e->layout);
  shmbus_type_free(e->type);
  e->schema = e->layout = NULL;
  e->type = NULL;
}

size_t serve_encoding_size(const struct serve_encoding *e, size_t len) {
  return e->type ? shmbus_type_cdr_size(e->type) : len;
}

ssize_t serve_encoding_convert(const struct serve_encoding *e, const void *rec, size_t len,
                               void *out, size_t cap) {
  if (e->type) return shmbus_type_to_cdr(e->type, rec, len, out, cap);
  if (len > cap) return -EMSGSIZE;
  memcpy(out, rec, len);
  return (ssize_t)len;
}

ssize_t serve_encoding_from_json(const struct serve_encoding *e, const char *json, size_t len,
                                 void *rec, size_t cap, char *err, size_t errlen) {
  if (e->type == NULL) {
    snprintf(err, errlen, "the bus has no C-struct type to convert JSON to");
    return -ENOTSUP;
  }
  return shmbus_type_from_json(e->type, json, len, rec, cap, err, errlen);
}
