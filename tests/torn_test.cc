// Torn-read stress: one writer and N reader processes hammer a 2-slot bus; every payload is
// derived from its version and checked word by word. Passes only with 0 bad reads and > 0
// good ones. The negative control runs the same checker against a deliberately mis-ordered
// writer (test build only) and must see bad reads: proof that this test can fail.
#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "tests/test_util.h"

extern "C" int shmbus__broken_writer;

using shmbus_test::TempBus;

namespace {

enum Mode { kLatest, kNext };

struct Stats {
  std::atomic<int> ready{0};
  std::atomic<int> go{0};
  std::atomic<int> stop{0};
  std::atomic<uint64_t> good{0}, bad{0}, order{0}, lost{0}, published{0};
};

// A reader process: reads until told to stop, checks every record it gets.
int Reader(const char* name, size_t size, Mode mode, Stats* st) {
  shmbus_sub* s = nullptr;
  if (shmbus_sub_open(name, 0, &s) != 0) return 10;
  std::vector<unsigned char> buf(size + 64);
  uint64_t good = 0, bad = 0, order = 0, lost = 0, prev = 0;
  if (mode == kNext) shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
  st->ready++;
  while (!st->go.load()) shmbus_sub_wait(s, 1000000, SHMBUS_WAIT_SLEEP);
  while (!st->stop.load(std::memory_order_relaxed)) {
    shmbus_record_info in;
    ssize_t n = mode == kLatest ? shmbus_sub_read_latest(s, buf.data(), buf.size(), &in)
                                : shmbus_sub_next(s, buf.data(), buf.size(), &in);
    if (n == -EAGAIN || n == -ENODATA) continue;
    if (n < 0) return 11;
    if (size_t(n) != size || !shmbus_test::Check(in.version, buf.data(), size)) {
      bad++;
      st->bad++;  // at once, so the negative control's writer can stop early
      continue;
    }
    good++;
    if (mode == kNext) {
      // Strictly in order, gaps exactly accounted for by info.lost.
      if (prev != 0 && in.version != prev + 1 + in.lost) order++;
      lost += in.lost;
    } else if (in.version < prev) {
      order++;
    }
    prev = in.version;
  }
  (void)bad;
  st->good += good;
  st->order += order;
  st->lost += lost;
  shmbus_sub_close(s);
  return 0;
}

int Writer(const char* name, size_t size, bool broken, double seconds, Stats* st) {
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  shmbus_pub* p = nullptr;
  if (shmbus_pub_open(name, &o, &p) != 0) return 20;
  shmbus__broken_writer = broken;
  std::vector<unsigned char> buf(size);
  while (!st->go.load()) usleep(100);
  int64_t end = shmbus_test::NowNs() + int64_t(seconds * 1e9);
  uint64_t n = 0;
  while (shmbus_test::NowNs() < end) {
    for (int i = 0; i < 16; i++) {
      uint64_t v = shmbus_pub_version(p) + 1;
      shmbus_test::Fill(v, buf.data(), size);
      if (shmbus_pub_publish(p, buf.data(), size) != 0) return 21;
      n++;
    }
    if (broken && st->bad.load() > 0) break;
  }
  st->published = n;
  st->stop = 1;
  shmbus_pub_close(p);
  return 0;
}

struct Result {
  uint64_t good, bad, order, lost, published;
};

Result RunStress(size_t size, int readers, Mode mode, bool broken, double seconds) {
  TempBus bus("torn");
  {
    shmbus_pub_opts o;
    shmbus_pub_opts_init(&o);
    o.slots = 2;  // the smallest ring: the writer is always one slot away from any reader
    o.capacity = size;
    shmbus_pub* p = nullptr;
    EXPECT_EQ(0, shmbus_pub_open(bus.c_str(), &o, &p));
    shmbus_pub_close(p);
  }
  Stats* st = shmbus_test::SharedNew<Stats>();
  std::vector<pid_t> pids;
  for (int i = 0; i < readers; i++)
    pids.push_back(shmbus_test::Spawn([&] { return Reader(bus.c_str(), size, mode, st); }));
  EXPECT_TRUE(shmbus_test::Eventually([&] { return st->ready.load() == readers; }));
  pid_t w = shmbus_test::Spawn([&] { return Writer(bus.c_str(), size, broken, seconds, st); });
  st->go = 1;
  EXPECT_EQ(0, shmbus_test::Reap(w, 60)) << "writer";
  st->stop = 1;
  for (pid_t p : pids) EXPECT_EQ(0, shmbus_test::Reap(p, 60)) << "reader";
  Result r{st->good.load(), st->bad.load(), st->order.load(), st->lost.load(),
           st->published.load()};
  shmbus_test::SharedDelete(st);
  return r;
}

class TornRead : public ::testing::TestWithParam<std::tuple<size_t, int, Mode>> {};

TEST_P(TornRead, NoTornRecordEver) {
  auto [size, readers, mode] = GetParam();
  double seconds = size >= (1 << 20) ? 0.6 : 0.25;
  Result r = RunStress(size, readers, mode, false, seconds);
  EXPECT_EQ(0u, r.bad) << "torn or foreign records handed out";
  EXPECT_EQ(0u, r.order) << "versions out of order or losses miscounted";
  EXPECT_GT(r.good, 0u);
  EXPECT_GT(r.published, 0u);
  RecordProperty("good", std::to_string(r.good));
  RecordProperty("lost", std::to_string(r.lost));
}

std::string Name(const ::testing::TestParamInfo<TornRead::ParamType>& info) {
  auto [size, readers, mode] = info.param;
  return std::to_string(size) + "B_" + std::to_string(readers) + "readers_" +
         (mode == kLatest ? "latest" : "next");
}

INSTANTIATE_TEST_SUITE_P(
    Matrix, TornRead,
    ::testing::Combine(::testing::Values(size_t(1), size_t(7), size_t(8), size_t(9), size_t(63),
                                         size_t(64), size_t(65), size_t(4095), size_t(4096),
                                         size_t(4097), size_t(1) << 20),
                       ::testing::Values(1, 4, 16), ::testing::Values(kLatest, kNext)),
    Name);

// Negative control: the checker above must catch a writer that publishes before it writes.
TEST(TornReadNegativeControl, MisorderedWriterIsCaught) {
  Result r = RunStress(65536, 4, kLatest, true, 10.0);
  EXPECT_GT(r.bad, 0u) << "the checker failed to catch a broken seqlock: it proves nothing";
}

}  // namespace
