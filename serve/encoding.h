/* encoding.h - how a bus is advertised over the Foxglove WebSocket protocol, and how its
 * records become messages (serve/encoding.c): the one place that knows about typed buses.
 *
 *   untyped bus (no schema)       encoding "x-shmbus-raw" (as `shmbus record` writes it),
 *                                 schemaName = the bus's type tag, no schema: the record's bytes
 *   "omgidl" + "x-shmbus-cstruct" encoding "cdr", schemaName = the type name, schemaEncoding
 *                                 "omgidl", schema = the IDL: each record converted to CDR
 *                                 (types/shmbus_types.h); "layout" = its field layout as JSON
 *                                 (shmbus_type_describe()), for the page
 *   any other schema              as it is: its message encoding, schema encoding, name, text;
 *                                 the record's bytes */
#ifndef SHMBUS_SERVE_ENCODING_H
#define SHMBUS_SERVE_ENCODING_H

#include <stddef.h>
#include <sys/types.h>

#include "core/shmbus.h"

#define SERVE_RAW_ENCODING "x-shmbus-raw" /* the MCAP recorder's name for opaque bytes */

struct serve_encoding {
  char encoding[SHMBUS_ENCODING_MAX + 1];
  char schema_encoding[SHMBUS_ENCODING_MAX + 1]; /* "": none */
  char schema_name[SHMBUS_TYPE_NAME_MAX + 1];
  char *schema; /* malloc'd, schema_len bytes (+ NUL), or NULL */
  size_t schema_len;
  char *layout; /* malloc'd JSON object (typed C-struct buses), or NULL */
  void *type;   /* the converter's state (a shmbus_type), or NULL: records sent as they are */
  int cstruct;  /* records are C structs of @type (publishing converts JSON to them) */
};

/* serve_encoding_of() - the encoding of the bus @s reads (@bi its info). A schema the
 * converter refuses is advertised as it is, and @warn (when not NULL) gets one sentence.
 * Return: 0; -ENOMEM. */
int serve_encoding_of(shmbus_sub *s, const struct shmbus_bus_info *bi, struct serve_encoding *e,
                      char *warn, size_t warnlen);
void serve_encoding_free(struct serve_encoding *e);

/* serve_encoding_size() - the largest message one record of @len bytes becomes. */
size_t serve_encoding_size(const struct serve_encoding *e, size_t len);

/* serve_encoding_convert() - record @rec (@len bytes) as the message to send, into @out (@cap
 * bytes, at least serve_encoding_size()). Return: its length; -EMSGSIZE (a typed record of the
 * wrong size: not sent). */
ssize_t serve_encoding_convert(const struct serve_encoding *e, const void *rec, size_t len,
                               void *out, size_t cap);

/* serve_encoding_from_json() - for clientPublish on a C-struct bus: JSON @json (@len bytes)
 * into a record at @rec (@cap bytes). Return: the record's length; -EINVAL with a sentence in
 * @err; -ENOTSUP (no converter). */
ssize_t serve_encoding_from_json(const struct serve_encoding *e, const char *json, size_t len,
                                 void *rec, size_t cap, char *err, size_t errlen);

#endif /* SHMBUS_SERVE_ENCODING_H */
