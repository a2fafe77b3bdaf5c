// A hostile reader does its worst with exactly a reader's access (as root the hostile process
// runs as "nobody" on a world-readable bus): writes the wake page (the only memory a reader
// can write), sends spurious FUTEX_WAKEs, holds every flock/OFD lock it can take, and another
// reader is SIGSTOPped in the middle of its reads. The writer must keep publishing (its rate
// measured side by side with a baseline in the same test, checked with a very generous factor),
// other readers must keep getting correct records, sleepers must still be woken (the
// documented bound: a flag-clearer delays a wakeup by at most one 10 ms tick, plus scheduling),
// and a new writer must be able to take over while the hostile reader holds its locks.
#include "tests/reliability/hostile.h"

#include <signal.h>

#include <algorithm>
#include <vector>

#include "tests/reliability/procs.h"

using shmbus_test::NowNs;
using shmbus_test::TempBus;
namespace rel = shmbus_rel;

namespace {

constexpr int64_t kPhaseNs = 1500 * 1000000LL;

// A reader that never waits: read_latest and next as fast as it can, checking records. It is
// the one that gets SIGSTOPped mid-read.
int BusyReader(const char* name, rel::Shared* sh, int idx) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  shmbus_sub* s = nullptr;
  if (shmbus_sub_open(name, 0, &s) != 0) return 1;
  std::vector<unsigned char> buf(rel::kCap);
  rel::ReaderStats& st = sh->r[idx];
  st.opens++;
  while (!sh->stop.load(std::memory_order_relaxed)) {
    shmbus_record_info info{};
    ssize_t n = (st.records % 2) ? shmbus_sub_next(s, buf.data(), buf.size(), &info)
                                 : shmbus_sub_read_latest(s, buf.data(), buf.size(), &info);
    if (n == -EAGAIN || n == -ENODATA) continue;
    if (n < 0) {
      st.errors++;
      continue;
    }
    if (size_t(n) != rel::LenOf(info.version) || !shmbus_test::Check(info.version, buf.data(), n))
      st.bad++;
    st.records++;
  }
  shmbus_sub_close(s);
  return 0;
}

uint64_t Sum(rel::Shared* sh, int n, std::atomic<uint64_t> rel::ReaderStats::*field) {
  uint64_t t = 0;
  for (int i = 0; i < n; i++) t += (sh->r[i].*field).load();
  return t;
}

// Publishes counted over one phase.
double Rate(rel::Shared* sh) {
  uint64_t a = sh->publishes.load();
  int64_t t0 = NowNs();
  usleep(kPhaseNs / 1000);
  return double(sh->publishes.load() - a) / ((NowNs() - t0) / 1e9);
}

TEST(Hostile, WriterKeepsPublishingAndReadersKeepReadingCorrectRecords) {
  TempBus bus("hostile");
  const char* name = bus.c_str();
  rel::CreateWorldReadable(name);
  rel::Shared* sh = shmbus_test::SharedNew<rel::Shared>();
  rel::HostileState* hs = shmbus_test::SharedNew<rel::HostileState>();

  pid_t writer = shmbus_test::Spawn([&] { return rel::WriterMain(name, sh, false); });
  ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->writer_lives.load() == 1; }, 10));
  pid_t r0 = shmbus_test::Spawn([&] { return rel::ReaderMain(name, sh, 0, rel::Read::kNext); });
  pid_t r1 = shmbus_test::Spawn([&] { return rel::ReaderMain(name, sh, 1, rel::Read::kLatest); });
  pid_t busy = shmbus_test::Spawn([&] { return BusyReader(name, sh, 2); });
  ASSERT_TRUE(
      shmbus_test::Eventually([&] { return Sum(sh, 3, &rel::ReaderStats::records) > 100; }, 10));

  double base = Rate(sh);
  uint64_t base_records = Sum(sh, 2, &rel::ReaderStats::records);

  pid_t hostile =
      shmbus_test::Spawn([&] { return rel::HostileMain(name, hs, rel::Attack::kChaos); });
  ASSERT_TRUE(shmbus_test::Eventually([&] { return hs->armed.load() || hs->failed.load(); }, 10));
  ASSERT_EQ(0, hs->failed.load());
  kill(busy, SIGSTOP);  // stopped in the middle of its read loop, for the rest of the test
  double attacked = Rate(sh);
  uint64_t attacked_records = Sum(sh, 2, &rel::ReaderStats::records) - base_records;

  // A new writer takes over while the hostile reader holds every lock it could take.
  kill(writer, SIGKILL);
  EXPECT_EQ(128 + SIGKILL, shmbus_test::Reap(writer));
  writer = shmbus_test::Spawn([&] { return rel::WriterMain(name, sh, false); });
  bool took_over = shmbus_test::Eventually([&] { return sh->writer_lives.load() == 2; }, 10);
  uint64_t v0 = 0;
  shmbus_bus_info bi;
  if (shmbus_stat(name, &bi) == 0) v0 = bi.latest;
  bool resumed = shmbus_test::Eventually(
      [&] { return sh->r[0].last_version.load() > v0 && sh->r[1].last_version.load() > v0; }, 10);

  hs->stop = 1;
  sh->stop = 1;
  kill(busy, SIGCONT);  // it resumes its interrupted read and must finish it correctly
  EXPECT_EQ(0, shmbus_test::Reap(hostile));
  EXPECT_EQ(0, shmbus_test::Reap(writer));
  EXPECT_EQ(0, shmbus_test::Reap(r0));
  EXPECT_EQ(0, shmbus_test::Reap(r1));
  EXPECT_EQ(0, shmbus_test::Reap(busy));

  uint64_t bad = Sum(sh, 3, &rel::ReaderStats::bad), errors = Sum(sh, 3, &rel::ReaderStats::errors);
  printf("SUMMARY: hostile publishes/s baseline=%.0f attacked=%.0f (%.0f%%) reader_records "
         "baseline=%llu attacked=%llu hostile_rounds=%llu locks_taken=%d as_nobody=%d "
         "lock_object_open_errno=%d new_writer=%d resumed=%d bad=%llu errors=%llu\n",
         base, attacked, 100 * attacked / base, (unsigned long long)base_records,
         (unsigned long long)attacked_records, (unsigned long long)hs->rounds.load(),
         hs->locks_taken.load(), hs->dropped.load(), hs->lock_open_errno.load(), took_over, resumed,
         (unsigned long long)bad, (unsigned long long)errors);
  EXPECT_GT(base, 0);
  EXPECT_GT(attacked * 20, base) << "the hostile reader collapsed the writer's rate";
  EXPECT_GT(attacked_records, 0u) << "readers got nothing while under attack";
  EXPECT_GT(hs->rounds.load(), 1000u) << "the hostile reader did not really attack";
  EXPECT_GE(hs->locks_taken.load(), 2) << "it should hold flock and OFD locks on the records";
  if (hs->dropped.load()) {
    EXPECT_EQ(EACCES, hs->lock_open_errno.load()) << "a reader opened the writer's lock object";
  }
  EXPECT_TRUE(took_over) << "a new writer could not open while a reader held its locks";
  EXPECT_TRUE(resumed) << "readers did not get the new writer's records";
  EXPECT_EQ(0u, bad);
  EXPECT_EQ(0u, errors);
  EXPECT_EQ(0u, Sum(sh, 3, &rel::ReaderStats::backwards));
  EXPECT_EQ(0u, Sum(sh, 3, &rel::ReaderStats::overruns));
  shmbus_test::SharedDelete(hs);
  shmbus_test::SharedDelete(sh);
}

// Sleeping readers and a paced writer: every record must arrive, baseline and with a hostile
// reader clearing the wake flag as fast as it can. Delays (receive time - publish time) are
// logged; the bound asserted is generous (the documented one is a 10 ms tick + scheduling).
struct Delays {
  static constexpr int kRecords = 250;
  std::atomic<int> got[2];
  std::atomic<int> bad{0}, lost{0};
  std::atomic<int64_t> ns[2][kRecords];
};

int Sleeper(const char* name, Delays* d, int idx, uint64_t first) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  shmbus_sub* s = nullptr;
  if (shmbus_sub_open(name, 0, &s) != 0) return 1;
  shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
  std::vector<unsigned char> buf(rel::kCap);
  while (d->got[idx] < Delays::kRecords) {
    int rc = shmbus_sub_wait(s, 5 * 1000000000LL, SHMBUS_WAIT_SLEEP);
    if (rc != 0) return 2;
    shmbus_record_info info{};
    ssize_t n;
    while ((n = shmbus_sub_next(s, buf.data(), buf.size(), &info)) >= 0) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);  // the clock of info.timestamp_ns
      int64_t now = int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
      if (size_t(n) != rel::LenOf(info.version) || !shmbus_test::Check(info.version, buf.data(), n))
        d->bad++;
      d->lost += int(info.lost);
      int k = int(info.version - first);
      if (k >= 0 && k < Delays::kRecords) d->ns[idx][k] = now - int64_t(info.timestamp_ns);
      d->got[idx]++;
    }
  }
  shmbus_sub_close(s);
  return 0;
}

// One phase: two sleepers, kRecords records 4 ms apart. Returns the delays, sorted.
std::vector<int64_t> SleepPhase(const char* name, Delays* d, bool hostile_on,
                                rel::HostileState* hs) {
  d->~Delays();
  new (d) Delays();
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  shmbus_pub* p = nullptr;
  EXPECT_EQ(0, shmbus_pub_open(name, &o, &p));
  if (!p) return {};
  uint64_t first = shmbus_pub_version(p) + 1;
  pid_t s0 = shmbus_test::Spawn([&] { return Sleeper(name, d, 0, first); });
  pid_t s1 = shmbus_test::Spawn([&] { return Sleeper(name, d, 1, first); });
  pid_t h = -1;
  if (hostile_on) {
    h = shmbus_test::Spawn([&] { return rel::HostileMain(name, hs, rel::Attack::kClearFlag); });
    EXPECT_TRUE(shmbus_test::Eventually([&] { return hs->armed.load() != 0; }, 10));
  }
  // Both asleep, waiting for the first record (observed in the registry, not assumed after a
  // pause: under TSan and load a child can take longer than any pause to open the bus, and a
  // sleeper that seeks past the first record waits for records that never come).
  EXPECT_TRUE(shmbus_test::Eventually(
      [&] {
        return shmbus_test::ReaderAsleep(name, s0, first) &&
               shmbus_test::ReaderAsleep(name, s1, first);
      },
      30));
  std::vector<unsigned char> buf(rel::kCap);
  for (int k = 0; k < Delays::kRecords; k++) {
    uint64_t v = first + k;
    shmbus_test::Fill(v, buf.data(), rel::LenOf(v));
    EXPECT_EQ(0, shmbus_pub_publish(p, buf.data(), rel::LenOf(v)));
    usleep(4000);
  }
  EXPECT_EQ(0, shmbus_test::Reap(s0, 30));
  EXPECT_EQ(0, shmbus_test::Reap(s1, 30));
  if (h > 0) {
    hs->stop = 1;
    EXPECT_EQ(0, shmbus_test::Reap(h));
  }
  shmbus_pub_close(p);
  EXPECT_EQ(0, d->bad.load());
  EXPECT_EQ(0, d->lost.load());
  std::vector<int64_t> all;
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < Delays::kRecords; k++) all.push_back(d->ns[i][k].load());
  std::sort(all.begin(), all.end());
  return all;
}

TEST(Hostile, FlagClearerDelaysWakeupsByAtMostATick) {
  TempBus bus("hostile-wake");
  const char* name = bus.c_str();
  rel::CreateWorldReadable(name);
  Delays* d = shmbus_test::SharedNew<Delays>();
  rel::HostileState* hs = shmbus_test::SharedNew<rel::HostileState>();
  std::vector<int64_t> base = SleepPhase(name, d, false, hs);
  std::vector<int64_t> hostile = SleepPhase(name, d, true, hs);
  ASSERT_EQ(size_t(2 * Delays::kRecords), base.size());
  ASSERT_EQ(size_t(2 * Delays::kRecords), hostile.size());
  auto q = [](const std::vector<int64_t>& v, double f) {
    return v[size_t(f * (v.size() - 1))] / 1e6;
  };
  printf("SUMMARY: wake delay ms baseline p50=%.3f p99=%.3f max=%.3f; flag-clearer p50=%.3f "
         "p99=%.3f max=%.3f; hostile_rounds=%llu\n",
         q(base, .5), q(base, .99), q(base, 1), q(hostile, .5), q(hostile, .99), q(hostile, 1),
         (unsigned long long)hs->rounds.load());
  EXPECT_GT(hs->rounds.load(), 1000u) << "the hostile reader did not really attack";
  // Every record arrived (checked in SleepPhase). The bound is the 10 ms tick + scheduling;
  // asserted with a wide margin for a noisy machine: median under 10 ticks, none over 1 s.
  EXPECT_LT(q(hostile, .5), 100.0);
  EXPECT_LT(q(hostile, 1), 1000.0);
  shmbus_test::SharedDelete(hs);
  shmbus_test::SharedDelete(d);
}

}  // namespace
