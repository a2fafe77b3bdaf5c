// A mapping that changes under a reader in ways no writer ever changes it (issue 12, section
// 6). The object's owner may rewrite any byte at any time; a reader must still return in
// bounded time and never act on a mix of two headers. The schedules are forced with the core's
// test hooks: step 110 (read_latest() is about to load `latest` again), step 120
// (shmbus__validate() has copied the header).
#include <sys/mman.h>

#include <atomic>
#include <string>

#include "tests/test_util.h"

extern "C" void (*shmbus__step_hook)(int step);

using shmbus_test::TempBus;

namespace {

constexpr uint32_t kSlots = 4;
constexpr uint64_t kCap = 64;
constexpr size_t kStride = 64 + 64;  // docs/PROTOCOL.md: 64 + round_up(capacity, 64)
constexpr size_t kSize = 4096 + kSlots * kStride;

// A read-write mapping of the bus's records object: the owner's view.
unsigned char* MapOwner(const TempBus& bus) {
  int fd = open(bus.path().c_str(), O_RDWR);
  if (fd < 0) return nullptr;
  void* m = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return m == MAP_FAILED ? nullptr : static_cast<unsigned char*>(m);
}

std::atomic<uint64_t>* Latest(unsigned char* m) {
  return reinterpret_cast<std::atomic<uint64_t>*>(m + 128);
}
std::atomic<uint64_t>* Seq(unsigned char* m, uint64_t version) {
  return reinterpret_cast<std::atomic<uint64_t>*>(m + 4096 + (version % kSlots) * kStride);
}

void MakeBus(const TempBus& bus, uint64_t records) {
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.slots = kSlots;
  o.capacity = kCap;
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), &o, &p));
  for (uint64_t v = 1; v <= records; v++) ASSERT_EQ(0, shmbus_pub_publish(p, &v, 8));
  shmbus_pub_close(p);
}

unsigned char* g_map = nullptr;
uint64_t g_calls = 0;
constexpr uint64_t kToggles = 1000000;  // then it stops toggling, so no version can hang

// Every time read_latest() is about to load `latest` again, flip it between 5 and 6.
void ToggleLatest(int step) {
  if (step != 110 || ++g_calls > kToggles) return;
  Latest(g_map)->store(Latest(g_map)->load() == 5 ? 6 : 5);
}

// `latest` toggles between 5 and 6 and neither slot holds its version (both were lapped, as
// far as the reader can tell). The stuck counter used to reset on every change, so the reader
// spun for as long as the toggling went on; a `latest` that goes backwards is corruption and
// ends the read at once.
TEST(Corrupt, ToggledLatestIsBadMessageNotAHang) {
  TempBus bus("corrupt");
  MakeBus(bus, 6);
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  g_map = MapOwner(bus);
  ASSERT_NE(nullptr, g_map);
  Latest(g_map)->store(5);
  Seq(g_map, 5)->store(2 * 9);   // slot of 5 holds 9
  Seq(g_map, 6)->store(2 * 10);  // slot of 6 holds 10
  g_calls = 0;
  shmbus__step_hook = ToggleLatest;
  uint64_t buf;
  ssize_t rc = shmbus_sub_read_latest(s, &buf, sizeof buf, nullptr);
  shmbus__step_hook = nullptr;
  EXPECT_EQ(-EBADMSG, rc);
  EXPECT_GE(g_calls, 1u) << "the hook did not run: the schedule was not forced";
  EXPECT_LE(g_calls, 2u) << "the reader kept retrying while `latest` toggled";
  munmap(g_map, kSize);
  shmbus_sub_close(s);
}

// Right after the header is copied, the owner rewrites the live one (a geometry that would map
// past the object). Validation and the geometry the reader keeps come from the copy alone.
void RewriteHeader(int step) {
  if (step != 120 || g_calls++ != 0) return;
  uint64_t huge = 1ull << 29, total = 4096 + kSlots * (64 + huge);
  memcpy(g_map + 24, &huge, 8);   // capacity
  memcpy(g_map + 40, &total, 8);  // total_size
  memset(g_map, 'X', 8);          // magic
}

TEST(Corrupt, ValidationUsesOneCopyOfTheHeader) {
  TempBus bus("corrupt");
  MakeBus(bus, 3);
  g_map = MapOwner(bus);
  ASSERT_NE(nullptr, g_map);
  g_calls = 0;
  shmbus__step_hook = RewriteHeader;
  shmbus_sub* s = nullptr;
  int rc = shmbus_sub_open(bus.c_str(), 0, &s);
  shmbus__step_hook = nullptr;
  EXPECT_EQ(1u, g_calls) << "the hook did not run: the schedule was not forced";
  ASSERT_EQ(0, rc) << "validated the live header instead of the copy: " << shmbus_strerror(rc);
  EXPECT_EQ(kCap, shmbus_sub_capacity(s)) << "geometry from the copy";
  uint64_t buf = 0;
  EXPECT_EQ(8, shmbus_sub_read_latest(s, &buf, sizeof buf, nullptr));
  EXPECT_EQ(3u, buf);
  shmbus_sub_close(s);
  // The next open sees the rewritten header, and refuses it.
  EXPECT_EQ(-EPROTO, shmbus_sub_open(bus.c_str(), 0, &s));
  munmap(g_map, kSize);
}

}  // namespace
