/* fuzz_accept.c - fuzz target: the importer's rules for remote samples (bridge/accept.c)
 * over arbitrary sequences of samples, with the invariants the importer relies on checked
 * after every verdict (abort() on a violation, which libFuzzer and the replay report).
 *
 * Each 40-byte chunk of the input is one sample: origin and bus id (from small sets, so that
 * sequences meet), version, geometry, payload length, type tag, whether the pinned writer is
 * still matched, how much time passed, and its schema (good, untyped, or broken one way or
 * another: unterminated or unprintable names, a text too long, a hash that does not match).
 * Replayed with random inputs by accept_test; with libFuzzer:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *     tests/bridge/fuzz_accept.c bridge/accept.c core/schema.c -o /tmp/fuzz_accept \
 *     && /tmp/fuzz_accept
 * (core/schema.c brings shmbus_schema_hash(); link libshmbus instead if it wants more.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/bridge_util.h"

#define CHECK(c)       \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static uint64_t get(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

#define CHUNK 40

/* Names that fill their whole buffer with no NUL: the rules must stop at the bound. */
static char long_name[SHMBUS_TYPE_NAME_MAX + 1], long_enc[SHMBUS_ENCODING_MAX + 1];
static const char text[] = "module m { struct T { long x; }; };";

/* Sample @s's schema from selector @p[0] and mutations @p[1..7]. Return: 1 when the schema is
 * one a real exporter could send (untyped, or bounded with the right hash), else 0. */
static int schema(struct bridge_sample *s, const uint8_t *p) {
  struct shmbus_schema sc = {"m::T", "omgidl", "x-shmbus-cstruct", text, sizeof text - 1, 0};
  memset(long_name, 'N', sizeof long_name);
  memset(long_enc, 'e', sizeof long_enc);
  switch (p[0] & 7) {
    case 0: /* untyped */
      s->schema_name = s->schema_encoding = s->message_encoding = NULL;
      s->schema = NULL;
      s->schema_len = 0;
      s->schema_hash = (p[1] & 1) ? get(p + 2, 6) : 0;
      return s->schema_hash == 0;
    case 1: /* typed, a text of 0..35 bytes, the hash right unless p[1] says otherwise */
      sc.text_len = p[2] % sizeof text;
      if (p[3] & 1) sc.schema_encoding = "";
      break;
    case 2:
      sc.type_name = long_name; /* no NUL within 256 bytes */
      break;
    case 3: sc.message_encoding = long_enc; break;
    case 4: sc.type_name = (p[2] & 1) ? "bad\tname" : ""; break;
    case 5:
      sc.schema_encoding = (p[2] & 1) ? "\x7f" : "0123456789012345678901234567890"; /* 31: ok */
      break;
    case 6: /* a text length beyond the bound: never read */
      sc.text_len = (p[2] & 1) ? SHMBUS_SCHEMA_MAX + 1ull : (uint64_t)UINT32_MAX;
      break;
    default: sc.message_encoding = ""; break;
  }
  s->schema_name = sc.type_name;
  s->schema_encoding = sc.schema_encoding;
  s->message_encoding = sc.message_encoding;
  s->schema = sc.text;
  s->schema_len = sc.text_len;
  int bounded = (p[0] & 7) == 1 || ((p[0] & 7) == 5 && !(p[2] & 1));
  s->schema_hash = bounded ? shmbus_schema_hash(&sc) : get(p + 2, 6);
  if (p[1] & 1) s->schema_hash ^= 1ull << (p[1] >> 2); /* corrupted on the way */
  return bounded && !(p[1] & 1);
}

static void one(struct bridge_source *src, const uint8_t *p, uint64_t *now) {
  static const uint64_t origins[] = {0x1111, 0x2222, 0x5eed, 0};
  static const char *types[] = {"imu", "", "bad\x01tag", "0123456789012345678901234567890"};
  uint64_t max = (p[0] & 1) ? BRIDGE_DEFAULT_MAX_BUS_BYTES : (1ull << 20);
  struct bridge_sample s;
  s.origin = origins[p[1] & 3];
  s.bus_id = 100 + (p[2] & 3);
  s.version = get(p + 3, 8);
  if (p[0] & 2) s.version &= 0xffff; /* mostly small versions, so that they meet */
  s.slots = (uint32_t)get(p + 11, 4) & ((p[0] & 4) ? 0xffffffffu : 0x3fu);
  s.capacity = get(p + 15, 8) & ((p[0] & 8) ? UINT64_MAX : 0xffffull);
  s.length = (uint32_t)get(p + 23, 4) & 0x1ffff;
  s.type_tag = types[p[27] & 3];
  int good_schema = schema(&s, p + 32);
  int alive = p[28] & 1;
  *now += get(p + 29, 3) * 1000;
  struct bridge_source before = *src;
  uint64_t gap = 0, self = (p[28] & 2) ? 0x5eed : 0;
  enum bridge_verdict v = bridge_check_sample(src, &s, self, max, alive, *now, &gap);
  if (v != BRIDGE_ACCEPT && v != BRIDGE_IMPLAUSIBLE) CHECK(memcmp(&before, src, sizeof *src) == 0);
  /* The schema is checked right after the geometry, before every other rule. */
  if (v != BRIDGE_MALFORMED) CHECK(good_schema == (v != BRIDGE_BAD_SCHEMA));
  switch (v) {
    case BRIDGE_ACCEPT:
      CHECK(s.slots >= 2 && s.capacity > 0 && s.length <= s.capacity && s.version > 0);
      CHECK(bridge_bus_bytes(s.slots, s.capacity) + bridge_schema_bytes(&s) <= max);
      CHECK(good_schema);
      CHECK(self == 0 || s.origin != self);
      if (before.have && s.origin == before.origin && s.bus_id == before.bus_id) {
        if (gap == UINT64_MAX) { /* believed against the state: only after a consistent run */
          CHECK(before.run >= BRIDGE_RESYNC_RUN - 1);
        } else {
          CHECK(s.version > before.version && gap == s.version - before.version - 1);
          CHECK(gap < BRIDGE_JUMP_SLACK + (*now - before.accepted_ns) / BRIDGE_MAX_RATE_NS);
        }
      }
      if (before.have && s.origin != before.origin) CHECK(!alive);
      bridge_source_accept(src, &s, *now);
      CHECK(src->have && src->version == s.version && src->run == 0);
      break;
    case BRIDGE_DUP:
      CHECK(before.have && s.origin == before.origin && s.bus_id == before.bus_id);
      CHECK(s.version <= before.version);
      break;
    case BRIDGE_FOREIGN: CHECK(alive && before.have && s.origin != before.origin); break;
    case BRIDGE_OWN: CHECK(self != 0 && s.origin == self); break;
    case BRIDGE_TOO_BIG:
      CHECK(good_schema && bridge_bus_bytes(s.slots, s.capacity) + bridge_schema_bytes(&s) > max);
      break;
    case BRIDGE_BAD_SCHEMA: CHECK(!good_schema); break;
    case BRIDGE_IMPLAUSIBLE:
      CHECK(before.have && s.origin == before.origin && src->run > 0 &&
            src->run < BRIDGE_RESYNC_RUN);
      break;
    case BRIDGE_MALFORMED: break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct bridge_source src;
  uint64_t now = 1000000000ull;
  memset(&src, 0, sizeof src);
  for (size_t o = 0; o + CHUNK <= size; o += CHUNK) one(&src, data + o, &now);
  return 0;
}
