// shmbus_pub_store() (issue 12, section 6): the zero-copy writer's store helper. It writes any
// range of a reservation as relaxed 64-bit atomic stores, keeping the bytes around the range,
// so that a reserve / store / commit writer has no data race with readers (the concurrent test
// runs under --config=tsan in CI, where a plain store racing a reader's atomic load of the
// same slot may be reported).
#include <atomic>
#include <string>
#include <thread>

#include "tests/test_util.h"

using shmbus_test::TempBus;

namespace {

TEST(Store, WritesAnyRangeOfTheReservationAndKeepsTheRest) {
  TempBus bus("store");
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.slots = 2;
  o.capacity = 256;
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), &o, &p));
  EXPECT_EQ(-EINVAL, shmbus_pub_store(p, 0, "x", 1)) << "nothing reserved";
  EXPECT_EQ(-EINVAL, shmbus_pub_store(nullptr, 0, "x", 1));
  void* where = nullptr;
  ASSERT_EQ(0, shmbus_pub_reserve(p, 100, &where));
  std::string want(100, '\0');
  for (size_t i = 0; i < want.size(); i++) want[i] = char('a' + i % 26);
  // Pieces that start and end inside words, cover whole words, and are empty.
  size_t cuts[] = {0, 3, 11, 12, 12, 50, 99, 100};
  for (size_t i = 0; i + 1 < sizeof cuts / sizeof cuts[0]; i++)
    ASSERT_EQ(0, shmbus_pub_store(p, cuts[i], want.data() + cuts[i], cuts[i + 1] - cuts[i]));
  ASSERT_EQ(0, shmbus_pub_store(p, 21, "XYZ", 3));  // inside one word: neighbours stay
  want.replace(21, 3, "XYZ");
  EXPECT_EQ(-EINVAL, shmbus_pub_store(p, 99, "ab", 2)) << "past the reserved length";
  EXPECT_EQ(-EINVAL, shmbus_pub_store(p, 101, "", 0));
  EXPECT_EQ(-EINVAL, shmbus_pub_store(p, 0, nullptr, 1));
  EXPECT_EQ(0, shmbus_pub_store(p, 100, nullptr, 0)) << "an empty range at the end";
  EXPECT_EQ(-EINVAL, shmbus_pub_store(p, SIZE_MAX, "x", 1)) << "no overflow";
  ASSERT_EQ(0, shmbus_pub_commit(p, 100));
  EXPECT_EQ(-EINVAL, shmbus_pub_store(p, 0, "x", 1)) << "a commit ends the reservation";
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  char buf[256];
  ASSERT_EQ(100, shmbus_sub_read_latest(s, buf, sizeof buf, nullptr));
  EXPECT_EQ(want, std::string(buf, 100));
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}

// A writer using reserve / store / commit against a reader copying the same two slots all the
// time: every record is exactly what was stored (and, under TSan, no race is reported).
TEST(Store, ConcurrentReadersGetWholeRecords) {
  TempBus bus("store");
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.slots = 2;
  o.capacity = 512;
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), &o, &p));
  std::atomic<int> stop{0};
  std::atomic<uint64_t> good{0}, bad{0};
  std::thread reader([&] {
    shmbus_sub* s = nullptr;
    if (shmbus_sub_open(bus.c_str(), 0, &s) != 0) {
      bad++;
      return;
    }
    unsigned char buf[512];
    shmbus_record_info in;
    while (!stop.load()) {
      ssize_t n = shmbus_sub_read_latest(s, buf, sizeof buf, &in);
      if (n == -ENODATA) continue;
      if (n < 0 || !shmbus_test::Check(in.version, buf, size_t(n))) bad++;
      else good++;
    }
    shmbus_sub_close(s);
  });
  unsigned char rec[512];
  for (uint64_t v = 1; v <= 20000; v++) {
    size_t len = 8 + (v * 37) % 500;
    shmbus_test::Fill(v, rec, len);
    void* where = nullptr;
    ASSERT_EQ(0, shmbus_pub_reserve(p, len, &where));
    size_t half = len / 2 + 3;  // two unaligned pieces
    ASSERT_EQ(0, shmbus_pub_store(p, 0, rec, half));
    ASSERT_EQ(0, shmbus_pub_store(p, half, rec + half, len - half));
    ASSERT_EQ(0, shmbus_pub_commit(p, len));
    if (v % 64 == 0) std::this_thread::yield();
  }
  stop = 1;
  reader.join();
  printf("SUMMARY: store good=%llu bad=%llu\n", (unsigned long long)good.load(),
         (unsigned long long)bad.load());
  EXPECT_EQ(0u, bad.load());
  shmbus_pub_close(p);
}

}  // namespace
