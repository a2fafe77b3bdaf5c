/* typed.c - typed buses in the tools: decode records for shmsub, encode JSON lines for shmpub
 * (tools/typed.h, docs/TYPES.md). */
#include "tools/typed.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tools/common.h"

static void say(char *err, size_t n, const char *msg) {
  if (err && n) snprintf(err, n, "%s", msg);
}

int typed_open(const struct shmbus_schema *sc, struct typed *t, char *err, size_t errlen) {
  memset(t, 0, sizeof *t);
  if (sc == NULL) return 0;
  snprintf(t->name, sizeof t->name, "%s", sc->type_name);
  snprintf(t->encoding, sizeof t->encoding, "%s", sc->message_encoding);
  if (strcmp(sc->message_encoding, SHMBUS_MSG_CSTRUCT) == 0) {
    if (strcmp(sc->schema_encoding, "omgidl") != 0) {
      say(err, errlen, "C-struct records need an omgidl schema");
      return -EINVAL;
    }
    t->kind = TYPED_CSTRUCT;
    return shmbus_type_parse(sc->text, sc->text_len, sc->type_name, &t->type, err, errlen);
  }
  t->kind = strcmp(sc->message_encoding, "json") == 0 ? TYPED_JSON : TYPED_OPAQUE;
  return 0;
}

int typed_field_check(const struct typed *t, const char *field, char *err, size_t errlen) {
  void *zero;
  char *out = NULL;
  ssize_t n;
  if (t->kind != TYPED_CSTRUCT) return 0; /* JSON records: each has its own fields */
  zero = calloc(1, shmbus_type_size(t->type) ? shmbus_type_size(t->type) : 1);
  if (zero == NULL) return -ENOMEM;
  n = shmbus_type_field(t->type, zero, shmbus_type_size(t->type), field, &out, err, errlen);
  free(zero);
  free(out);
  return n < 0 ? (int)n : 0;
}

void typed_close(struct typed *t) {
  shmbus_type_free(t->type);
  t->type = NULL;
}

/* The record as the untyped formats show it, or its decoded form in *@out (malloc'd). */
static ssize_t decode(const struct typed *t, enum out_format fmt, const char *field,
                      const struct out_record *r, char **out) {
  if (t->kind == TYPED_CSTRUCT) {
    if (field) return shmbus_type_field(t->type, r->data, r->length, field, out, NULL, 0);
    if (fmt == FMT_TEXT) return shmbus_type_to_text(t->type, r->data, r->length, out, NULL, 0);
    return shmbus_type_to_json(t->type, r->data, r->length, out, NULL, 0);
  }
  if (t->kind == TYPED_JSON) { /* shown compact, one line; a field picked with a JSON path */
    json_error_t e;
    json_t *v = json_loadb(r->data, r->length, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e), *pick = v;
    ssize_t n;
    if (v == NULL) return -EBADMSG;
    if (field) pick = json_object_get(v, field);
    *out = pick ? json_dumps(pick, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (*out == NULL) return pick ? -ENOMEM : -ENOENT;
    n = (ssize_t)strlen(*out);
    return n;
  }
  return -ENOTSUP;
}

static void envelope(FILE *f, const struct typed *t, const struct out_record *r) {
  fputs("{\"bus\":", f);
  json_quote(f, r->bus, strlen(r->bus));
  fprintf(f,
          ",\"version\":%llu,\"timestamp_ns\":%lld,\"latency_ns\":%lld,\"length\":%zu,"
          "\"skipped\":%llu,\"type\":",
          (unsigned long long)r->version, (long long)r->timestamp_ns, (long long)r->latency_ns,
          r->length, (unsigned long long)r->skipped);
  json_quote(f, t->name, strlen(t->name));
  fputs(",\"data\":", f);
}

int typed_print(FILE *f, const struct typed *t, enum out_format fmt, int verbose, const char *field,
                const struct out_record *r, uint64_t *bad) {
  char *text = NULL;
  ssize_t n;
  if (t->kind == TYPED_NONE || t->kind == TYPED_OPAQUE || (fmt != FMT_JSON && fmt != FMT_TEXT))
    return print_record(f, fmt, verbose, r);
  n = decode(t, fmt, field, r, &text);
  if (n < 0) { /* shown as bytes, counted: shmsub reports it once */
    (*bad)++;
    free(text);
    return print_record(f, fmt, verbose, r);
  }
  if (fmt == FMT_JSON && verbose) {
    envelope(f, t, r);
    fwrite(text, 1, (size_t)n, f);
    fputs("}\n", f);
  } else { /* text, with the record's own prefix under -v */
    if (verbose) print_prefix(f, r);
    fwrite(text, 1, (size_t)n, f);
    fputc('\n', f);
  }
  free(text);
  return ferror(f) ? -EIO : 0;
}

ssize_t typed_encode(const struct typed *t, const char *json, size_t len, void *buf, size_t cap,
                     char *err, size_t errlen) {
  if (t->kind == TYPED_CSTRUCT)
    return shmbus_type_from_json(t->type, json, len, buf, cap, err, errlen);
  if (t->kind == TYPED_JSON) {
    json_error_t e;
    json_t *v = json_loadb(json, len, JSON_DECODE_ANY, &e);
    char *text;
    size_t n;
    if (v == NULL) {
      if (err && errlen) snprintf(err, errlen, "not JSON: %s (column %d)", e.text, e.column);
      return -EINVAL;
    }
    text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (text == NULL) return -ENOMEM;
    n = strlen(text);
    if (n > cap) {
      free(text);
      return -EMSGSIZE;
    }
    memcpy(buf, text, n);
    free(text);
    return (ssize_t)n;
  }
  say(err, errlen,
      t->kind == TYPED_NONE ? "the bus carries no schema: give --schema FILE --type NAME"
                            : "the bus's message encoding has no JSON form in shmbus");
  return -ENOTSUP;
}

/* Schema encodings of the MCAP registry, and the message encoding each implies. */
static const struct {
  const char *suffix, *schema, *message;
} kinds[] = {
    {".idl", "omgidl", SHMBUS_MSG_CSTRUCT}, {".msg", "ros2msg", "cdr"},
    {".json", "jsonschema", "json"},        {".proto", "protobuf", "protobuf"},
    {".bfbs", "flatbuffer", "flatbuffer"},  {".fbs", "flatbuffer", "flatbuffer"},
};

int typed_guess_encodings(const char *path, const char *schema_encoding, const char **senc,
                          const char **menc) {
  size_t i, pl = strlen(path);
  for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    size_t sl = strlen(kinds[i].suffix);
    int by_name = pl > sl && strcmp(path + pl - sl, kinds[i].suffix) == 0;
    if (schema_encoding ? strcmp(schema_encoding, kinds[i].schema) == 0 : by_name) {
      *senc = kinds[i].schema;
      *menc = kinds[i].message;
      return 0;
    }
  }
  if (schema_encoding && strcmp(schema_encoding, "ros2idl") == 0) {
    *senc = "ros2idl";
    *menc = "cdr";
    return 0;
  }
  return -EINVAL;
}
