// accept_test.cc - the importer's rules for remote samples (bridge/accept.c): one test per
// attack of issue 21 that the rules stop, and the fuzz target replayed over random inputs.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include "bridge/bridge_util.h"
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
}

namespace {

constexpr size_t kChunk = 40;  // fuzz_accept.c's bytes per sample
constexpr uint64_t kSelf = 0x5e1f, kReal = 0xa11ce, kNow = 1000000000000ull;

bridge_sample Sample(uint64_t version, uint64_t origin = kReal, uint64_t bus_id = 7) {
  bridge_sample s{};
  s.origin = origin;
  s.bus_id = bus_id;
  s.version = version;
  s.capacity = 256;
  s.slots = 8;
  s.length = 10;
  s.type_tag = "test/imu";
  return s;  // untyped: no schema, hash 0
}

const char kIdl[] = "module m { struct T { long x; }; };";

// A sample of a typed source bus, with the hash its exporter sends.
bridge_sample Typed(uint64_t version, const char *text = kIdl) {
  bridge_sample s = Sample(version);
  s.schema_name = "m::T";
  s.schema_encoding = "omgidl";
  s.message_encoding = SHMBUS_MSG_CSTRUCT;
  s.schema = text;
  s.schema_len = strlen(text);
  shmbus_schema sc;
  bridge_sample_schema(&s, &sc);
  s.schema_hash = shmbus_schema_hash(&sc);
  return s;
}

class Accept : public ::testing::Test {
 protected:
  // The verdict on @s at time @now; accepted samples become the state, as the importer does.
  bridge_verdict Offer(const bridge_sample &s, uint64_t now = kNow, int alive = 1) {
    bridge_verdict v =
        bridge_check_sample(&src_, &s, kSelf, BRIDGE_DEFAULT_MAX_BUS_BYTES, alive, now, &gap_);
    if (v == BRIDGE_ACCEPT) bridge_source_accept(&src_, &s, now);
    return v;
  }
  bridge_source src_{};
  uint64_t gap_ = 0;
};

TEST_F(Accept, CountsTheVersionsInBetweenAsLost) {
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(10)));
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(15)));
  EXPECT_EQ(4u, gap_);
  EXPECT_EQ(BRIDGE_DUP, Offer(Sample(15)));
  EXPECT_EQ(BRIDGE_DUP, Offer(Sample(3)));
}

// Issue 21, item 2: the product of slots and capacity is bounded, not each alone.
TEST_F(Accept, BoundsTheBusASampleAsksFor) {
  bridge_sample s = Sample(1);
  s.slots = 2;
  s.capacity = 1ull << 30;  // 2 GiB bus from a 4-byte sample
  EXPECT_EQ(BRIDGE_TOO_BIG, Offer(s));
  s.slots = SHMBUS_MAX_SLOTS;
  s.capacity = SHMBUS_MAX_CAPACITY;  // the 64 TiB request
  EXPECT_EQ(BRIDGE_TOO_BIG, Offer(s));
  s.capacity = 1;
  s.slots = 1;
  EXPECT_EQ(BRIDGE_MALFORMED, Offer(s));
  EXPECT_FALSE(src_.have);  // nothing believed
  EXPECT_EQ(4096u + 8 * (64 + 256), bridge_bus_bytes(8, 256));
}

TEST_F(Accept, RefusesBadTypeTagsAndPayloads) {
  bridge_sample s = Sample(1);
  s.type_tag = "tab\there";
  EXPECT_EQ(BRIDGE_MALFORMED, Offer(s));
  s = Sample(1);
  s.length = 257;
  EXPECT_EQ(BRIDGE_MALFORMED, Offer(s));
  EXPECT_EQ(BRIDGE_OWN, Offer(Sample(1, kSelf)));
}

// Issue 21, item 3: one forged sample with version 2^64-1 must not block the real source.
TEST_F(Accept, RefusesAnImplausibleVersionJump) {
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(5)));
  EXPECT_EQ(BRIDGE_IMPLAUSIBLE, Offer(Sample(UINT64_MAX)));
  EXPECT_EQ(5u, src_.version);  // not believed, not saved
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(6)));
  EXPECT_EQ(0u, gap_);
}

TEST_F(Accept, AllowsAJumpTheSourceCouldHaveMade) {
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(5)));
  // One hour later, a 1 MHz source is 3.6e9 versions further on.
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(5 + 3600000000ull), kNow + 3600000000000ull));
  EXPECT_EQ(3599999999u, gap_);
}

TEST_F(Accept, AConsistentRunResynchronisesBothWays) {
  // A bogus state (a forged first sample) cannot block the real source for good ...
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(UINT64_MAX - 10)));
  EXPECT_EQ(BRIDGE_IMPLAUSIBLE, Offer(Sample(100)));
  EXPECT_EQ(BRIDGE_IMPLAUSIBLE, Offer(Sample(101)));
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(102)));
  EXPECT_EQ(UINT64_MAX, gap_);
  EXPECT_EQ(102u, src_.version);
  // ... and scattered forgeries never form a run.
  EXPECT_EQ(BRIDGE_IMPLAUSIBLE, Offer(Sample(1ull << 60)));
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(103)));
  EXPECT_EQ(BRIDGE_IMPLAUSIBLE, Offer(Sample(1ull << 61)));
  EXPECT_EQ(BRIDGE_IMPLAUSIBLE, Offer(Sample(1ull << 62)));
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(104)));
  EXPECT_EQ(0u, gap_);
}

// Issue 21, item 4: two sources on one topic are not accepted in turn.
TEST_F(Accept, PinsTheOriginWhileItsWriterIsPresent) {
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(5)));
  EXPECT_EQ(BRIDGE_FOREIGN, Offer(Sample(1, 0xbad)));
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(6)));
  // Once the first source is gone (a rebooted host has a new id), the next one takes over.
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(1, 0xbad), kNow, 0));
  EXPECT_EQ(0xbadu, src_.origin);
}

TEST_F(Accept, AReplacedSourceBusRestartsVersions) {
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(500, kReal, 7)));
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(Sample(1, kReal, 8)));
  EXPECT_EQ(UINT64_MAX, gap_);
  EXPECT_EQ(BRIDGE_IMPLAUSIBLE, Offer(Sample(501, kReal, 7)));  // back to the old bus
}

// Issue 13: the schema is network input like the rest.
TEST_F(Accept, TakesATypedSampleWhoseHashMatches) {
  bridge_sample s = Typed(1);
  shmbus_schema sc;
  EXPECT_EQ(1, bridge_sample_schema(&s, &sc));
  EXPECT_STREQ("m::T", sc.type_name);
  EXPECT_EQ(strlen(kIdl), sc.text_len);
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(s));
  EXPECT_EQ(0, bridge_sample_schema(&(s = Sample(2)), &sc));  // untyped
  EXPECT_EQ(0u, bridge_schema_bytes(&s));
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(s));
  // The schema block: 32 bytes, four names and the text with their NULs, a page.
  EXPECT_EQ(4096u, bridge_schema_bytes(&(s = Typed(3))));
}

TEST_F(Accept, RefusesASchemaWhoseHashDoesNotMatch) {
  bridge_sample s = Typed(1);
  s.schema_hash ^= 1;
  EXPECT_EQ(BRIDGE_BAD_SCHEMA, Offer(s));
  s = Typed(1);
  s.schema_len--;  // the text cut short on the way
  EXPECT_EQ(BRIDGE_BAD_SCHEMA, Offer(s));
  s = Typed(1);
  s.message_encoding = "json";  // another schema under the old hash
  EXPECT_EQ(BRIDGE_BAD_SCHEMA, Offer(s));
  s = Sample(1);
  s.schema_hash = 42;  // untyped, yet a hash
  EXPECT_EQ(BRIDGE_BAD_SCHEMA, Offer(s));
  EXPECT_FALSE(src_.have);  // nothing believed
  EXPECT_STREQ("bad schema", bridge_verdict_name(BRIDGE_BAD_SCHEMA));
}

TEST_F(Accept, RefusesUnterminatedOversizedOrUnprintableSchemaNames) {
  char name[SHMBUS_TYPE_NAME_MAX + 1], enc[SHMBUS_ENCODING_MAX + 1];
  memset(name, 'n', sizeof name);  // 256 bytes, no NUL: the rules stop at the bound
  memset(enc, 'e', sizeof enc);
  bridge_sample s = Typed(1);
  s.schema_name = name;
  EXPECT_EQ(BRIDGE_BAD_SCHEMA, Offer(s));
  name[SHMBUS_TYPE_NAME_MAX] = '\0';  // 255 characters: the longest name
  s = Typed(1);
  s.schema_name = name;
  shmbus_schema sc;
  bridge_sample_schema(&s, &sc);
  s.schema_hash = shmbus_schema_hash(&sc);
  EXPECT_EQ(BRIDGE_ACCEPT, Offer(s));
  for (const char **field : {&s.schema_encoding, &s.message_encoding}) {
    s = Typed(2);
    *field = enc;
    EXPECT_EQ(BRIDGE_BAD_SCHEMA, Offer(s));
  }
  for (const char *bad : {"tab\there", "del\x7f", "\xc3\xa9t\xc3\xa9", ""}) {
    s = Typed(2);
    s.schema_name = bad;
    bridge_sample_schema(&s, &sc);
    s.schema_hash = shmbus_schema_hash(&sc);  // even with its own right hash
    EXPECT_EQ(BRIDGE_BAD_SCHEMA, Offer(s)) << bad;
  }
  s = Typed(2);
  s.message_encoding = "";  // typed records need a message encoding
  bridge_sample_schema(&s, &sc);
  s.schema_hash = shmbus_schema_hash(&sc);
  EXPECT_EQ(BRIDGE_BAD_SCHEMA, Offer(s));
  s = Typed(2);
  s.schema_len = SHMBUS_SCHEMA_MAX + 1ull;  // refused before the text is read
  EXPECT_EQ(BRIDGE_BAD_SCHEMA, Offer(s));
  EXPECT_EQ(1u, src_.version);
}

// The schema block counts in --max-bus-bytes.
TEST_F(Accept, CountsTheSchemaInTheBusSize) {
  std::string big(SHMBUS_SCHEMA_MAX, 'x');
  bridge_sample s = Typed(1, big.c_str());
  uint64_t bytes = bridge_bus_bytes(s.slots, s.capacity) + bridge_schema_bytes(&s);
  EXPECT_EQ(((32u + 5 + 7 + 17 + SHMBUS_SCHEMA_MAX + 1 + 4095u) & ~4095ull),
            bridge_schema_bytes(&s));
  EXPECT_EQ(BRIDGE_TOO_BIG, bridge_check_sample(&src_, &s, kSelf, bytes - 1, 1, kNow, &gap_));
  EXPECT_EQ(BRIDGE_ACCEPT, bridge_check_sample(&src_, &s, kSelf, bytes, 1, kNow, &gap_));
}

TEST(AcceptFuzz, ReplaysRandomSequences) {
  std::mt19937_64 rng(2112);
  std::vector<uint8_t> in;
  for (int i = 0; i < 20000; i++) {
    in.resize(kChunk * (1 + rng() % 24));
    for (auto &b : in) b = (uint8_t)rng();
    // Versions that walk forward in small steps, so that long accepted runs happen too.
    for (size_t o = 0; o + kChunk <= in.size(); o += kChunk)
      if (rng() % 2) {
        in[o + 32] = rng() % 2;  // untyped or a good schema
        in[o + 33] = 0;
        in[o] |= 2;
        in[o + 3] = (uint8_t)(o / kChunk + 1);
        in[o + 4] = 0;
        in[o + 1] = 0;
        in[o + 2] = 0;
        in[o + 11] = 8;
        in[o + 15] = 64;
        in[o + 16] = 0;
        in[o + 23] = 1;
        in[o + 24] = 0;
        in[o + 25] = 0;
        in[o + 27] = 0;
      }
    ASSERT_EQ(0, LLVMFuzzerTestOneInput(in.data(), in.size()));
  }
}

}  // namespace
