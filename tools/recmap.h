/* recmap.h - how a bus maps to MCAP and back, shared by `shmbus record` and `shmbus play`.
 *
 * The one place that decides a bus's MCAP encodings: rec_bus_encoding(). Today every bus is
 * untyped (its records are bytes), recorded with no schema (schema id 0) and the message
 * encoding REC_RAW_ENCODING. The MCAP registry of well-known message encodings (ros1, cdr,
 * protobuf, flatbuffer, cbor, json) has none for opaque bytes and asks custom values to start
 * with "x-", hence "x-shmbus-raw". Typed buses (issue 13) plug in here: a C-struct bus gets a
 * Schema (omgidl) and "cdr", with a converter from the record to CDR. */
#ifndef SHMBUS_TOOLS_RECMAP_H
#define SHMBUS_TOOLS_RECMAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/shmbus.h"

#define REC_RAW_ENCODING "x-shmbus-raw"
#define REC_LOST_TOPIC "/shmbus/lost" /* '/' is not allowed in a bus name: no clash */

/* A bus's encodings in MCAP. schema_encoding NULL: no schema (the channel's schema id is 0). */
struct rec_encoding {
  const char *schema_name;
  const char *schema_encoding;
  const void *schema;
  size_t schema_len;
  const char *message_encoding;
  /* Converts a record to the message bytes; NULL: the record's bytes as published. */
  int (*convert)(const void *rec, size_t len, void **out, size_t *out_len);
};

/* rec_bus_encoding() - the encodings of bus @name with @bi. Return: 0. */
int rec_bus_encoding(const char *name, const struct shmbus_bus_info *bi, struct rec_encoding *e);

/* rec_topic_to_bus() - the bus name for MCAP topic @topic: a leading '/' dropped, other '/'
 * as '.'. Return: 0; -EINVAL/-ENAMETOOLONG (no valid bus name). */
int rec_topic_to_bus(const char *topic, char *buf, size_t n);

#endif /* SHMBUS_TOOLS_RECMAP_H */
