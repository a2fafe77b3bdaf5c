/* accept.c - the importer's rules for a remote sample: is it republished, and what is lost.
 *
 * Everything a sample says comes from the network, so nothing in it is believed that no real
 * source could have said:
 *   - the geometry is bounded field by field and as a product (the bus it needs, its schema
 *     block included, must fit in --max-bus-bytes), and the type tag must be one a local bus
 *     accepts;
 *   - the schema's names are bounded and printable, its text at most SHMBUS_SCHEMA_MAX bytes,
 *     and its hash is recomputed: a sample whose hash does not match is refused
 *     (BRIDGE_BAD_SCHEMA), so a schema damaged or altered on the way never becomes a bus's;
 *   - a topic's origin (exporting host) is pinned: a second origin is refused while the pinned
 *     one's writer is still matched (the caller says so in @pinned_alive), and only takes over
 *     once it is gone (a rebooted or replaced host);
 *   - within one source bus (bus_id), a version jump larger than the source could have
 *     published since the last accepted record (BRIDGE_JUMP_SLACK plus one version per
 *     BRIDGE_MAX_RATE_NS) is refused, and so is a sample far older than the last one;
 *   - so that one forged sample cannot block a real source for good, BRIDGE_RESYNC_RUN
 *     refused samples in a row that agree with each other (one origin and bus, increasing
 *     versions, plausible steps) resynchronise the source to them.
 * Nothing here is saved: the caller calls bridge_source_accept() once it republished the
 * sample, and writes the marker from the accepted state only.
 */
#include <string.h>

#include "bridge/bridge_util.h"

uint64_t bridge_bus_bytes(uint32_t slots, uint64_t capacity) {
  uint64_t slot = 64 + ((capacity + 63) & ~(uint64_t)63);
  if (capacity > SHMBUS_MAX_CAPACITY || slots > SHMBUS_MAX_SLOTS) return UINT64_MAX;
  return 4096 + (uint64_t)slots * slot; /* < 2^47: no overflow within the bounds above */
}

/* The length of @t when it is NUL-terminated within @max + 1 bytes and printable ASCII, else
 * -1. NULL is "". */
static long name_len(const char *t, size_t max) {
  const char *end;
  if (t == NULL) return 0;
  end = memchr(t, '\0', max + 1);
  if (end == NULL) return -1;
  for (const char *c = t; c < end; c++)
    if (*c < 0x20 || *c > 0x7e) return -1;
  return end - t;
}

static int type_ok(const char *t) { return name_len(t, SHMBUS_TYPE_MAX) >= 0; }

/* 1 when @s's schema is empty (an untyped bus: hash 0) or a schema that shmbus accepts, with
 * the hash its fields give. */
static int schema_ok(const struct bridge_sample *s) {
  long nl = name_len(s->schema_name, SHMBUS_TYPE_NAME_MAX);
  long sl = name_len(s->schema_encoding, SHMBUS_ENCODING_MAX);
  long ml = name_len(s->message_encoding, SHMBUS_ENCODING_MAX);
  struct shmbus_schema sc;
  if (nl < 0 || sl < 0 || ml < 0 || s->schema_len > SHMBUS_SCHEMA_MAX) return 0;
  if (s->schema_len && s->schema == NULL) return 0;
  if (nl == 0 && sl == 0 && ml == 0 && s->schema_len == 0) return s->schema_hash == 0;
  if (nl == 0 || ml == 0) return 0;
  bridge_sample_schema(s, &sc);
  return shmbus_schema_hash(&sc) == s->schema_hash;
}

/* bridge_sample_schema() - @s's schema as shmbus_pub_opts.schema takes it (pointers into @s).
 * Return: 1 when @s carries one, 0 when it is untyped (*@out then is empty). */
int bridge_sample_schema(const struct bridge_sample *s, struct shmbus_schema *out) {
  out->type_name = s->schema_name ? s->schema_name : "";
  out->schema_encoding = s->schema_encoding ? s->schema_encoding : "";
  out->message_encoding = s->message_encoding ? s->message_encoding : "";
  out->text = s->schema;
  out->text_len = (size_t)s->schema_len;
  out->hash = s->schema_hash;
  return out->type_name[0] != '\0';
}

/* bridge_schema_bytes() - the bytes of shared memory the schema block of @s's schema takes
 * (docs/PROTOCOL.md, Schema block), 0 for an untyped sample. Only for a sample whose schema
 * passed the checks (its names are bounded). */
uint64_t bridge_schema_bytes(const struct bridge_sample *s) {
  uint64_t need;
  if (s->schema_name == NULL || s->schema_name[0] == '\0') return 0;
  need = strlen(s->schema_name) + strlen(s->schema_encoding ? s->schema_encoding : "") +
         strlen(s->message_encoding ? s->message_encoding : "") + s->schema_len + 4;
  return (32 + need + 4095) & ~(uint64_t)4095;
}

/* A refused sample joins the run of refused samples that agree with each other; a run long
 * enough is believed (the pinned state was the odd one out). */
static enum bridge_verdict refuse_or_resync(struct bridge_source *src,
                                            const struct bridge_sample *s, uint64_t *gap) {
  if (src->run > 0 && s->origin == src->run_origin && s->bus_id == src->run_bus_id &&
      s->version > src->run_version && s->version - src->run_version <= BRIDGE_JUMP_SLACK)
    src->run++;
  else src->run = 1;
  src->run_origin = s->origin;
  src->run_bus_id = s->bus_id;
  src->run_version = s->version;
  if (src->run < BRIDGE_RESYNC_RUN) return BRIDGE_IMPLAUSIBLE;
  *gap = UINT64_MAX; /* unknown: resynchronised */
  return BRIDGE_ACCEPT;
}

/* bridge_check_sample() - the verdict on sample @s for a topic whose source is @src.
 * @self_origin: this host's id, or 0 to accept this host's own exports (--allow-same-host).
 * @pinned_alive: 1 when the writer of the last accepted sample is still matched.
 * Only @src's run of refused samples changes. Return: the verdict; on BRIDGE_ACCEPT, *@gap is
 * the number of versions skipped since the last accepted one, or UINT64_MAX when unknown
 * (a new origin or source bus, or a resynchronisation).
 */
enum bridge_verdict bridge_check_sample(struct bridge_source *src, const struct bridge_sample *s,
                                        uint64_t self_origin, uint64_t max_bus_bytes,
                                        int pinned_alive, uint64_t now_ns, uint64_t *gap) {
  uint64_t jump, bound, elapsed;
  *gap = UINT64_MAX;
  if (s->slots < 2 || s->slots > SHMBUS_MAX_SLOTS || s->capacity == 0 ||
      s->capacity > SHMBUS_MAX_CAPACITY || s->length > s->capacity || s->version == 0 ||
      !type_ok(s->type_tag))
    return BRIDGE_MALFORMED;
  if (!schema_ok(s)) return BRIDGE_BAD_SCHEMA;
  if (bridge_bus_bytes(s->slots, s->capacity) + bridge_schema_bytes(s) > max_bus_bytes)
    return BRIDGE_TOO_BIG;
  if (self_origin != 0 && s->origin == self_origin) return BRIDGE_OWN;
  if (!src->have) return BRIDGE_ACCEPT;
  if (s->origin != src->origin) return pinned_alive ? BRIDGE_FOREIGN : BRIDGE_ACCEPT;
  if (s->bus_id > src->bus_id) return BRIDGE_ACCEPT; /* the source bus was replaced */
  if (s->bus_id < src->bus_id) return refuse_or_resync(src, s, gap);
  if (s->version <= src->version) {
    if (src->version - s->version <= BRIDGE_JUMP_SLACK) return BRIDGE_DUP;
    return refuse_or_resync(src, s, gap);
  }
  jump = s->version - src->version;
  elapsed = now_ns > src->accepted_ns ? now_ns - src->accepted_ns : 0;
  bound = BRIDGE_JUMP_SLACK + elapsed / BRIDGE_MAX_RATE_NS;
  if (jump > bound) return refuse_or_resync(src, s, gap);
  *gap = jump - 1;
  return BRIDGE_ACCEPT;
}

/* bridge_source_accept() - sample @s was republished: it is the source's state from now on. */
void bridge_source_accept(struct bridge_source *src, const struct bridge_sample *s,
                          uint64_t now_ns) {
  src->have = 1;
  src->origin = s->origin;
  src->bus_id = s->bus_id;
  src->version = s->version;
  src->accepted_ns = now_ns;
  src->run = 0;
}

const char *bridge_verdict_name(enum bridge_verdict v) {
  switch (v) {
    case BRIDGE_ACCEPT: return "accepted";
    case BRIDGE_MALFORMED: return "malformed";
    case BRIDGE_TOO_BIG: return "too big";
    case BRIDGE_OWN: return "own";
    case BRIDGE_FOREIGN: return "second origin";
    case BRIDGE_DUP: return "duplicate";
    case BRIDGE_IMPLAUSIBLE: return "implausible version";
    case BRIDGE_BAD_SCHEMA: return "bad schema";
  }
  return "?";
}
