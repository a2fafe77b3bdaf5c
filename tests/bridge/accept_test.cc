// accept_test.cc - the importer's rules for remote samples (bridge/accept.c): one test per
// attack of issue 21 that the rules stop, and the fuzz target replayed over random inputs.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

extern "C" {
#include "bridge/bridge_util.h"
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
}

namespace {

constexpr uint64_t kSelf = 0x5e1f, kReal = 0xa11ce, kNow = 1000000000000ull;

bridge_sample Sample(uint64_t version, uint64_t origin = kReal, uint64_t bus_id = 7) {
  return bridge_sample{origin, bus_id, version, 256, 8, 10, "test/imu"};
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

TEST(AcceptFuzz, ReplaysRandomSequences) {
  std::mt19937_64 rng(2112);
  std::vector<uint8_t> in;
  for (int i = 0; i < 20000; i++) {
    in.resize(32 * (1 + rng() % 24));
    for (auto &b : in) b = (uint8_t)rng();
    // Versions that walk forward in small steps, so that long accepted runs happen too.
    for (size_t o = 0; o + 32 <= in.size(); o += 32)
      if (rng() % 2) {
        in[o] |= 2;
        in[o + 3] = (uint8_t)(o / 32 + 1);
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
