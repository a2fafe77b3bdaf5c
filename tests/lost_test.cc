// The lost count (issue 12, section 6): info->lost of next() and read_latest() is the number
// of records skipped since the previous one this reader read, reported exactly once.
//  - A next() that skips records and then returns -ENOBUFS used to drop the count: the retry
//    with a bigger buffer reported lost 0.
//  - Skipped records not yet reported (lost_pending) used to survive a seek other than
//    SEEK_LATEST and leak into a later next().
#include <sys/mman.h>

#include <string>

#include "tests/test_util.h"

using shmbus_test::TempBus;

namespace {

shmbus_pub* Writer(const char* name, uint32_t slots, uint64_t cap) {
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.slots = slots;
  o.capacity = cap;
  shmbus_pub* p = nullptr;
  EXPECT_EQ(0, shmbus_pub_open(name, &o, &p));
  return p;
}

void Publish(shmbus_pub* p, uint64_t v, size_t len) {
  unsigned char buf[64];
  shmbus_test::Fill(v, buf, len);
  ASSERT_EQ(0, shmbus_pub_publish(p, buf, len));
}

TEST(Lost, NoBufsKeepsTheLostCountForTheRetry) {
  TempBus bus("lost");
  shmbus_pub* p = Writer(bus.c_str(), 4, 64);
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));  // cursor 1: nothing published yet
  for (uint64_t v = 1; v <= 10; v++) Publish(p, v, 32);
  // The ring holds 7..10; the oldest safe record is latest - N + 2 = 8: 1..7 are lost.
  shmbus_record_info in;
  unsigned char small[8], buf[64];
  ASSERT_EQ(-ENOBUFS, shmbus_sub_next(s, small, sizeof small, &in));
  EXPECT_EQ(8u, in.version);
  EXPECT_EQ(32u, in.length);
  EXPECT_EQ(7u, in.lost) << "-ENOBUFS previews the count its retry reports";
  ASSERT_EQ(32, shmbus_sub_next(s, buf, sizeof buf, &in));
  EXPECT_EQ(8u, in.version);
  EXPECT_TRUE(shmbus_test::Check(8, buf, 32));
  EXPECT_EQ(7u, in.lost) << "the retry reports the records skipped before -ENOBUFS";
  ASSERT_EQ(32, shmbus_sub_next(s, buf, sizeof buf, &in));
  EXPECT_EQ(9u, in.version);
  EXPECT_EQ(0u, in.lost) << "reported once";
  // Skipped, then -ENOBUFS, then a seek: the seek drops what was pending.
  for (uint64_t v = 11; v <= 20; v++) Publish(p, v, 32);
  ASSERT_EQ(-ENOBUFS, shmbus_sub_next(s, small, sizeof small, &in));
  EXPECT_GT(in.lost, 0u);
  ASSERT_EQ(0, shmbus_sub_seek(s, SHMBUS_SEEK_NEW));
  Publish(p, 21, 32);
  ASSERT_EQ(32, shmbus_sub_next(s, buf, sizeof buf, &in));
  EXPECT_EQ(21u, in.version);
  EXPECT_EQ(0u, in.lost) << "nothing skipped after the seek";
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}

// lost_pending from a next() that skipped a record and then found nothing newer (-EAGAIN):
// the schedule is made with a crafted slot (the object's owner may write it) - the slot of
// the cursor holds a newer version than `latest` says exists. After SEEK_NEW or SEEK_OLDEST
// nothing skipped before the seek may be reported.
TEST(Lost, SeeksDropSkippedRecordsNotYetReported) {
  for (int whence : {SHMBUS_SEEK_NEW, SHMBUS_SEEK_OLDEST}) {
    TempBus bus("lost");
    shmbus_pub* p = Writer(bus.c_str(), 4, 64);
    for (uint64_t v = 1; v <= 3; v++) Publish(p, v, 8);
    shmbus_sub* s = nullptr;
    ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));  // cursor 3
    unsigned char buf[64];
    shmbus_record_info in;
    ASSERT_EQ(8, shmbus_sub_next(s, buf, sizeof buf, &in));
    ASSERT_EQ(3u, in.version);
    int fd = open(bus.path().c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    auto* base = static_cast<unsigned char*>(
        mmap(nullptr, 4096 + 4 * 128, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    ASSERT_NE(MAP_FAILED, base);
    close(fd);
    // docs/PROTOCOL.md: latest at 128; slot i at 4096 + i x (64 + 64), seq first.
    auto* latest = reinterpret_cast<std::atomic<uint64_t>*>(base + 128);
    auto* seq0 = reinterpret_cast<std::atomic<uint64_t>*>(base + 4096);  // version 4's slot
    latest->store(4);
    seq0->store(2 * 8);  // already version 8: 4 was overwritten
    EXPECT_EQ(-EAGAIN, shmbus_sub_next(s, buf, sizeof buf, &in)) << "4 skipped, 5 not there";
    latest->store(3);  // back to what the writer published
    ASSERT_EQ(0, shmbus_sub_seek(s, whence));
    Publish(p, 4, 8);  // the ring now holds 1..4: nothing is lost after either seek
    ssize_t n = shmbus_sub_next(s, buf, sizeof buf, &in);
    ASSERT_EQ(8, n);
    EXPECT_EQ(0u, in.lost) << "whence " << whence << ": a count from before the seek leaked";
    munmap(base, 4096 + 4 * 128);
    shmbus_sub_close(s);
    shmbus_pub_close(p);
  }
}

}  // namespace
