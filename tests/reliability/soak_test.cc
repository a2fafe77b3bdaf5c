// Soak (on demand, not in CI): one writer at full rate and SOAK_READERS (default 16) readers
// for SOAK_SECONDS (default 120). Every record is checked; memory (VmRSS of every process)
// must stay flat between the start (after a warm-up) and the end; no errors; a SUMMARY line.
//   bazel test //tests/reliability:soak_test --test_env=SOAK_SECONDS=600
//     --test_timeout=900 --test_output=streamed   (one command line)
#include <signal.h>

#include <cstdlib>

#include "tests/reliability/procs.h"

using shmbus_test::NowNs;
namespace rel = shmbus_rel;

namespace {

double Env(const char* var, double def) {
  const char* s = getenv(var);
  return s && *s ? atof(s) : def;
}

TEST(Soak, FullRateWriterManyReaders) {
  const double seconds = Env("SOAK_SECONDS", 120);
  const int readers = int(Env("SOAK_READERS", 16));
  ASSERT_LE(readers, rel::kMaxReaders);
  shmbus_test::TempBus bus("soak");
  const char* name = bus.c_str();
  rel::Shared* sh = shmbus_test::SharedNew<rel::Shared>();
  std::vector<pid_t> pids;
  pids.push_back(shmbus_test::Spawn([&] { return rel::WriterMain(name, sh, false); }));
  ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->writer_lives.load() == 1; }, 10));
  for (int i = 0; i < readers; i++) {
    rel::Read how = i % 2 ? rel::Read::kLatest : rel::Read::kNext;
    pids.push_back(shmbus_test::Spawn([&, i, how] { return rel::ReaderMain(name, sh, i, how); }));
  }
  sleep(3);  // warm-up: every page touched, every buffer allocated
  std::vector<long> rss0;
  for (pid_t p : pids) rss0.push_back(rel::RssKiB(p));
  uint64_t pub0 = sh->publishes.load();
  int64_t t0 = NowNs(), end = t0 + int64_t(seconds * 1e9), next_report = t0;
  uint64_t stuck = 0;
  while (NowNs() < end) {
    sleep(1);
    for (int i = 0; i < readers; i++)
      if (NowNs() - sh->r[i].heartbeat_ns.load() > 10000000000LL) stuck++;
    if (NowNs() >= next_report) {
      uint64_t recs = 0;
      for (int i = 0; i < readers; i++) recs += sh->r[i].records;
      printf("soak: %4.0f s publishes=%llu records=%llu writer_rss=%ld KiB\n", (NowNs() - t0) / 1e9,
             (unsigned long long)sh->publishes.load(), (unsigned long long)recs,
             rel::RssKiB(pids[0]));
      fflush(stdout);
      next_report += 30000000000LL;
    }
  }
  std::vector<long> rss1;
  for (pid_t p : pids) rss1.push_back(rel::RssKiB(p));
  double elapsed = (NowNs() - t0) / 1e9;
  uint64_t pubs = sh->publishes.load() - pub0;
  sh->stop = 1;
  int failures = 0;
  for (pid_t p : pids) failures += shmbus_test::Reap(p, 30) != 0;

  uint64_t records = 0, lost = 0, bad = 0, back = 0, overruns = 0, errors = 0;
  long rss0_sum = 0, rss1_sum = 0, worst_growth = 0;
  for (int i = 0; i < readers; i++) {
    const rel::ReaderStats& r = sh->r[i];
    records += r.records;
    lost += r.lost;
    bad += r.bad;
    back += r.backwards;
    overruns += r.overruns;
    errors += r.errors;
  }
  for (size_t i = 0; i < pids.size(); i++) {
    rss0_sum += rss0[i];
    rss1_sum += rss1[i];
    worst_growth = std::max(worst_growth, rss1[i] - rss0[i]);
  }
  printf("SUMMARY: soak %.0fs readers=%d publishes=%llu (%.0f/s) records=%llu lost=%llu bad=%llu "
         "backwards=%llu wait_overruns=%llu stuck=%llu errors=%llu writer_errors=%llu "
         "rss_kib start=%ld end=%ld (writer %ld -> %ld) worst_growth_kib=%ld\n",
         elapsed, readers, (unsigned long long)pubs, pubs / elapsed, (unsigned long long)records,
         (unsigned long long)lost, (unsigned long long)bad, (unsigned long long)back,
         (unsigned long long)overruns, (unsigned long long)stuck, (unsigned long long)errors,
         (unsigned long long)sh->writer_errors.load(), rss0_sum, rss1_sum, rss0[0], rss1[0],
         worst_growth);
  EXPECT_EQ(0u, bad);
  EXPECT_EQ(0u, back);
  EXPECT_EQ(0u, overruns);
  EXPECT_EQ(0u, stuck);
  EXPECT_EQ(0u, errors);
  EXPECT_EQ(0u, sh->writer_errors.load());
  EXPECT_EQ(0, failures);
  EXPECT_GT(records, 0u);
  // Flat: no process grew by more than 512 KiB (a leak per record would be far larger).
  EXPECT_LE(worst_growth, 512) << "resident memory grew during the soak";
  shmbus_test::SharedDelete(sh);
}

}  // namespace
