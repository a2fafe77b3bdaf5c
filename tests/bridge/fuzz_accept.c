/* fuzz_accept.c - fuzz target: the importer's rules for remote samples (bridge/accept.c)
 * over arbitrary sequences of samples, with the invariants the importer relies on checked
 * after every verdict (abort() on a violation, which libFuzzer and the replay report).
 *
 * Each 32-byte chunk of the input is one sample: origin and bus id (from small sets, so that
 * sequences meet), version, geometry, payload length, type tag, whether the pinned writer is
 * still matched, and how much time passed. Replayed with random inputs by accept_fuzz_test;
 * with libFuzzer:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *     tests/bridge/fuzz_accept.c bridge/accept.c -o /tmp/fuzz_accept && /tmp/fuzz_accept
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
  int alive = p[28] & 1;
  *now += get(p + 29, 3) * 1000;
  struct bridge_source before = *src;
  uint64_t gap = 0, self = (p[28] & 2) ? 0x5eed : 0;
  enum bridge_verdict v = bridge_check_sample(src, &s, self, max, alive, *now, &gap);
  if (v != BRIDGE_ACCEPT && v != BRIDGE_IMPLAUSIBLE) CHECK(memcmp(&before, src, sizeof *src) == 0);
  switch (v) {
    case BRIDGE_ACCEPT:
      CHECK(s.slots >= 2 && s.capacity > 0 && s.length <= s.capacity && s.version > 0);
      CHECK(bridge_bus_bytes(s.slots, s.capacity) <= max);
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
    case BRIDGE_FOREIGN:
      CHECK(alive && before.have && s.origin != before.origin);
      break;
    case BRIDGE_OWN:
      CHECK(self != 0 && s.origin == self);
      break;
    case BRIDGE_TOO_BIG:
      CHECK(bridge_bus_bytes(s.slots, s.capacity) > max);
      break;
    case BRIDGE_IMPLAUSIBLE:
      CHECK(before.have && s.origin == before.origin && src->run > 0 &&
            src->run < BRIDGE_RESYNC_RUN);
      break;
    case BRIDGE_MALFORMED:
      break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct bridge_source src;
  uint64_t now = 1000000000ull;
  memset(&src, 0, sizeof src);
  for (size_t o = 0; o + 32 <= size; o += 32) one(&src, data + o, &now);
  return 0;
}
