/* recmap.h - how a bus maps to MCAP and back, shared by `shmbus record` and `shmbus play`.
 *
 * The one place that decides a bus's MCAP encodings (rec_bus_encoding()) and a channel's bus
 * (rec_channel_bus()):
 * - an untyped bus: no schema (schema id 0), the message encoding REC_RAW_ENCODING. The MCAP
 *   registry of well-known message encodings (ros1, cdr, protobuf, flatbuffer, cbor, json) has
 *   none for opaque bytes and asks custom values to start with "x-", hence "x-shmbus-raw";
 * - a C-struct bus (omgidl + SHMBUS_MSG_CSTRUCT, docs/TYPES.md): a Schema "omgidl" (name = the
 *   type name, data = the IDL text) and the message encoding "cdr", each record converted with
 *   shmbus_type_to_cdr(), so Foxglove, Lichtblick and DDS tools decode it natively; played
 *   back, CDR becomes the C struct again (shmbus_type_from_cdr()) on a C-struct bus;
 * - any other schema: passed through (type name, schema encoding, text, message encoding). */
#ifndef SHMBUS_TOOLS_RECMAP_H
#define SHMBUS_TOOLS_RECMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/shmbus.h"
#include "types/shmbus_types.h"

#define REC_RAW_ENCODING "x-shmbus-raw"
#define REC_LOST_TOPIC "/shmbus/lost" /* '/' is not allowed in a bus name: no clash */

/* A bus's encodings in MCAP. The strings point into the shmbus_schema given to
 * rec_bus_encoding() (a subscriber's copy: valid while it is open). */
struct rec_encoding {
  const char *schema_name; /* NULL: no schema (the channel's schema id is 0) */
  const char *schema_encoding;
  const void *schema;
  size_t schema_len;
  const char *message_encoding; /* the channel's */
  const char *bus_encoding;     /* the bus's message encoding; NULL for an untyped bus */
  shmbus_type *type;            /* not NULL: records are C structs, converted to CDR */
};

/* rec_bus_encoding() - the MCAP encodings of a bus whose schema is @sc (NULL: untyped).
 * Return: 0; -EINVAL: a C-struct schema that does not parse (@err says why; *@e then passes
 * the records through as they are, with their schema); -ENOMEM. */
int rec_bus_encoding(const struct shmbus_schema *sc, struct rec_encoding *e, char *err,
                     size_t errlen);
void rec_encoding_free(struct rec_encoding *e);

/* rec_message_cap() - the largest message one record of @e makes (@capacity: the bus's). */
size_t rec_message_cap(const struct rec_encoding *e, uint64_t capacity);

/* rec_convert() - one record (@len bytes) as the channel's message into @out (@cap bytes, at
 * least rec_message_cap()). Without conversion the message is the record: *@msg = @rec.
 * Return: the message's length; -EMSGSIZE: the record is not a whole C struct of the type. */
ssize_t rec_convert(const struct rec_encoding *e, const void *rec, size_t len, void *out,
                    size_t cap, const void **msg);

/* What `shmbus play` makes of an MCAP channel: the bus's schema and a conversion. */
struct rec_channel {
  int has_schema;              /* 0: an untyped bus */
  struct shmbus_schema schema; /* pointers into the arguments of rec_channel_bus() */
  shmbus_type *type;           /* not NULL: CDR messages become C structs (rec_unconvert()) */
};

/* rec_channel_bus() - the bus for a channel of message encoding @menc with the schema @sname,
 * @senc, @sdata (@slen bytes; @senc NULL or "": no schema, and @sname the type name the
 * recorder noted in the channel's metadata, or NULL). omgidl + cdr of a type types/ supports:
 * a C-struct bus; any other schema that a bus can carry: passed through; a type name without
 * a schema (a JSON bus): that name and @menc; no schema, or one a bus cannot carry: untyped. Return: 0; a note for the user in @note (when not
 * empty: the schema could not be used as such, and why); -ENOMEM. */
int rec_channel_bus(const char *menc, const char *sname, const char *senc, const void *sdata,
                    size_t slen, struct rec_channel *c, char *note, size_t notelen);
void rec_channel_free(struct rec_channel *c);

/* rec_unconvert() - one message of @c as the record to publish into @out (@cap bytes: at least
 * shmbus_type_size()). Without conversion the record is the message: *@rec = @msg.
 * Return: the record's length; -EBADMSG/-ENOTSUP with @err (a message not of the type). */
ssize_t rec_unconvert(const struct rec_channel *c, const void *msg, size_t len, void *out,
                      size_t cap, const void **rec, char *err, size_t errlen);

/* rec_topic_to_bus() - the bus name for MCAP topic @topic: a leading '/' dropped, other '/'
 * as '.'. Return: 0; -EINVAL/-ENAMETOOLONG (no valid bus name). */
int rec_topic_to_bus(const char *topic, char *buf, size_t n);

#endif /* SHMBUS_TOOLS_RECMAP_H */
