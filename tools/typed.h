/* typed.h - what the tools do with a typed bus (docs/TYPES.md): shmsub prints its records as
 * fields (JSON, text, one field), shmpub turns JSON lines into records. A thin layer over
 * types/shmbus_types.h (C-struct records described in OMG IDL) and jansson (JSON records). */
#ifndef SHMBUS_TOOLS_TYPED_H
#define SHMBUS_TOOLS_TYPED_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/shmbus.h"
#include "tools/format.h"
#include "types/shmbus_types.h"

enum typed_kind {
  TYPED_NONE,    /* untyped: records are bytes */
  TYPED_CSTRUCT, /* omgidl + x-shmbus-cstruct: decoded through the parsed IDL */
  TYPED_JSON,    /* message encoding json: records are JSON texts */
  TYPED_OPAQUE,  /* any other encoding: carried and shown as bytes */
};

struct typed {
  enum typed_kind kind;
  shmbus_type *type; /* TYPED_CSTRUCT */
  char name[SHMBUS_TYPE_NAME_MAX + 1];
  char encoding[SHMBUS_ENCODING_MAX + 1]; /* the message encoding */
};

/* typed_open() - what @sc (NULL: untyped) says the records are. An omgidl + x-shmbus-cstruct
 * schema that does not parse is an error (-EINVAL, @err says why). Return: 0; -EINVAL;
 * -ENOMEM. */
int typed_open(const struct shmbus_schema *sc, struct typed *t, char *err, size_t errlen);
void typed_close(struct typed *t);

/* typed_field_check() - whether @field names a field of @t's records (C-struct buses; any
 * name passes for JSON records). Return: 0; -ENOENT with a message; -ENOMEM. */
int typed_field_check(const struct typed *t, const char *field, char *err, size_t errlen);

/* typed_print() - one record of a typed bus as fields: FMT_JSON an object per line (-v: inside
 * the record's envelope, as "data"), FMT_TEXT field=value pairs (-v: the usual prefix); with
 * @field, that field's value alone. Records that do not decode (wrong length, JSON that is not
 * JSON) are printed as untyped ones and counted in *@bad. Return: 0; -EIO (write error). */
int typed_print(FILE *f, const struct typed *t, enum out_format fmt, int verbose, const char *field,
                const struct out_record *r, uint64_t *bad);

/* typed_encode() - one JSON text (@len bytes) as a record of a typed bus into @buf (@cap
 * bytes): a C struct, or (json buses) the JSON text compacted. Return: the record's length;
 * -EINVAL with a message naming the field; -EMSGSIZE; -ENOTSUP (the bus's encoding has no JSON
 * form); -ENOMEM. */
ssize_t typed_encode(const struct typed *t, const char *json, size_t len, void *buf, size_t cap,
                     char *err, size_t errlen);

/* typed_guess_encodings() - the schema and message encodings that go with a schema file, from
 * its name and an explicit --schema-encoding (NULL: from the name). Return: 0; -EINVAL. */
int typed_guess_encodings(const char *path, const char *schema_encoding, const char **senc,
                          const char **menc);

#endif /* SHMBUS_TOOLS_TYPED_H */
