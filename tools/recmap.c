/* recmap.c - how a bus maps to MCAP and back (see recmap.h). */
#include "tools/recmap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int is_cstruct(const char *senc, const char *menc) {
  return senc && !strcmp(senc, "omgidl") && menc && !strcmp(menc, SHMBUS_MSG_CSTRUCT);
}

int rec_bus_encoding(const struct shmbus_schema *sc, struct rec_encoding *e, char *err,
                     size_t errlen) {
  int rc;
  memset(e, 0, sizeof *e);
  e->message_encoding = REC_RAW_ENCODING;
  if (sc == NULL) return 0;
  e->bus_encoding = sc->message_encoding;
  e->message_encoding = sc->message_encoding; /* passed through, schema and all */
  if (sc->schema_encoding[0]) {
    e->schema_name = sc->type_name;
    e->schema_encoding = sc->schema_encoding;
    e->schema = sc->text;
    e->schema_len = sc->text_len;
  }
  if (!is_cstruct(sc->schema_encoding, sc->message_encoding)) return 0;
  if ((rc = shmbus_type_parse(sc->text, sc->text_len, sc->type_name, &e->type, err, errlen)) < 0) {
    e->type = NULL;
    return rc;
  }
  e->message_encoding = "cdr";
  return 0;
}

void rec_encoding_free(struct rec_encoding *e) {
  shmbus_type_free(e->type);
  e->type = NULL;
}

size_t rec_message_cap(const struct rec_encoding *e, uint64_t capacity) {
  return e->type ? shmbus_type_cdr_size(e->type) : (size_t)capacity;
}

ssize_t rec_convert(const struct rec_encoding *e, const void *rec, size_t len, void *out,
                    size_t cap, const void **msg) {
  if (e->type == NULL) {
    *msg = rec;
    return (ssize_t)len;
  }
  *msg = out;
  return shmbus_type_to_cdr(e->type, rec, len, out, cap);
}

/* A name a bus can carry: 1..@max printable ASCII characters (@min 0: may be empty). */
static int printable(const char *s, size_t min, size_t max) {
  size_t n = strlen(s), i;
  if (n < min || n > max) return 0;
  for (i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] > 0x7e) return 0;
  return 1;
}

int rec_channel_bus(const char *menc, const char *sname, const char *senc, const void *sdata,
                    size_t slen, struct rec_channel *c, char *note, size_t notelen) {
  char err[256];
  int rc;
  memset(c, 0, sizeof *c);
  if (note && notelen) note[0] = 0;
  if (senc == NULL) senc = "";
  if (senc[0] == 0 && (sname == NULL || sname[0] == 0 || !strcmp(menc, REC_RAW_ENCODING)))
    return 0; /* no schema and no type name: bytes (x-shmbus-raw, or a foreign channel) */
  if (!printable(sname, 1, SHMBUS_TYPE_NAME_MAX) || !printable(senc, 0, SHMBUS_ENCODING_MAX) ||
      !printable(menc, 1, SHMBUS_ENCODING_MAX) || slen > SHMBUS_SCHEMA_MAX) {
    if (note)
      snprintf(note, notelen,
               "its schema cannot be carried by a bus (a name or an "
               "encoding too long or not printable, or over 1 MiB): "
               "played as bytes");
    return 0;
  }
  c->has_schema = 1;
  c->schema = (struct shmbus_schema){sname, senc, menc, sdata, slen, 0};
  if (strcmp(senc, "omgidl") || strcmp(menc, "cdr")) return 0; /* passed through */
  rc = shmbus_type_parse(sdata, slen, sname, &c->type, err, sizeof err);
  if (rc == -ENOMEM) return rc;
  if (rc < 0) { /* kept as omgidl + cdr: the bytes go through as they are */
    c->type = NULL;
    if (note)
      snprintf(note, notelen,
               "its omgidl type is not one shmbus types read (%s): "
               "played as CDR bytes",
               err);
    return 0;
  }
  c->schema.message_encoding = SHMBUS_MSG_CSTRUCT;
  return 0;
}

void rec_channel_free(struct rec_channel *c) {
  shmbus_type_free(c->type);
  c->type = NULL;
}

ssize_t rec_unconvert(const struct rec_channel *c, const void *msg, size_t len, void *out,
                      size_t cap, const void **rec, char *err, size_t errlen) {
  if (c->type == NULL) {
    *rec = msg;
    return (ssize_t)len;
  }
  *rec = out;
  return shmbus_type_from_cdr(c->type, msg, len, out, cap, err, errlen);
}

int rec_topic_to_bus(const char *topic, char *buf, size_t n) {
  size_t i;
  if (topic[0] == '/') topic++;
  if (snprintf(buf, n, "%s", topic) >= (int)n) return -ENAMETOOLONG;
  for (i = 0; buf[i]; i++)
    if (buf[i] == '/') buf[i] = '.';
  return shmbus_name_check(buf);
}
