// Chaos: a writer and reader processes are SIGKILLed at random moments and restarted, for
// CHAOS_SECONDS (default 5; longer on demand: CHAOS_SECONDS=600 bazel test ... or run the
// binary). Every record a reader gets must be exactly its version's bytes, versions never go
// backwards (within a writer's life, and across restarts: a new writer resumes after the
// last complete record), no wait outlives its timeout, and readers keep receiving after every
// writer restart without reopening the bus. Ends with one SUMMARY line; fails on any violation.
#include <signal.h>

#include <cstdlib>
#include <random>

#include "tests/reliability/procs.h"

using shmbus_test::NowNs;
using shmbus_test::TempBus;
namespace rel = shmbus_rel;

namespace {

double EnvSeconds(const char* var, double def) {
  const char* s = getenv(var);
  return s && *s ? atof(s) : def;
}

// SIGKILL @pid and reap it; returns false if it was already gone with a failure status.
int KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  return shmbus_test::Reap(pid, 30);
}

TEST(Chaos, KillAndRestartWritersAndReadersAtRandom) {
  const double seconds = EnvSeconds("CHAOS_SECONDS", 5);
  const int readers = int(EnvSeconds("CHAOS_READERS", 4));
  ASSERT_GT(readers, 0);
  ASSERT_LE(readers, rel::kMaxReaders);
  TempBus bus("chaos");
  const char* name = bus.c_str();
  rel::Shared* sh = shmbus_test::SharedNew<rel::Shared>();
  std::random_device rd;
  unsigned seed = rd();
  std::mt19937 rng(seed);
  printf("chaos: %.0f s, %d readers, seed %u, bus %s\n", seconds, readers, seed, name);

  auto spawn_writer = [&] {
    return shmbus_test::Spawn([&] { return rel::WriterMain(name, sh, true); });
  };
  auto spawn_reader = [&](int i) {
    rel::Read how = i % 2 ? rel::Read::kLatest : rel::Read::kNext;
    return shmbus_test::Spawn([&, i, how] { return rel::ReaderMain(name, sh, i, how); });
  };
  pid_t writer = spawn_writer();
  ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->writer_lives.load() > 0; }, 10));
  std::vector<pid_t> rpid(readers);
  for (int i = 0; i < readers; i++) rpid[i] = spawn_reader(i);

  uint64_t writer_kills = 0, reader_kills = 0, stuck = 0;
  int64_t end = NowNs() + int64_t(seconds * 1e9);
  while (NowNs() < end) {
    usleep(20000 + rng() % 180000);
    // Any live reader whose last wait returned long ago is stuck (its wait is bounded).
    for (int i = 0; i < readers; i++)
      if (NowNs() - sh->r[i].heartbeat_ns.load() >
          rel::kWaitNs + rel::kWaitOverrunNs + 2000000000LL) {
        fprintf(stderr, "chaos: reader %d gave no sign of life for > 5 s\n", i);
        stuck++;
      }
    if (rng() % 2 == 0) {
      KillAndReap(writer);
      writer_kills++;
      if (rng() % 4 == 0) usleep(rng() % 300000);  // sometimes readers see a dead writer a while
      writer = spawn_writer();
    } else {
      int i = int(rng() % readers);
      KillAndReap(rpid[i]);
      reader_kills++;
      rpid[i] = spawn_reader(i);
    }
  }

  // Last act: restart the writer once more; every reader must then receive its records
  // without reopening (their open count stays one per life).
  KillAndReap(writer);
  writer_kills++;
  uint64_t lives_before = sh->writer_lives.load();
  writer = spawn_writer();
  ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->writer_lives.load() > lives_before; }, 10));
  uint64_t v0 = 0;
  ASSERT_TRUE(shmbus_test::Eventually(
      [&] {
        shmbus_bus_info bi;
        return shmbus_stat(name, &bi) == 0 && bi.writer_alive && (v0 = bi.latest) > 0;
      },
      10));
  // Readers restarted late may still be opening; all must get past v0 within 30 s.
  bool resumed = shmbus_test::Eventually(
      [&] {
        for (int i = 0; i < readers; i++)
          if (sh->r[i].last_version.load() <= v0) return false;
        return true;
      },
      30);

  sh->stop = 1;
  int writer_status = shmbus_test::Reap(writer, 30);
  int reader_failures = 0;
  for (int i = 0; i < readers; i++)
    if (shmbus_test::Reap(rpid[i], 30) != 0) reader_failures++;

  uint64_t records = 0, lost = 0, bad = 0, back = 0, overruns = 0, errors = 0, opens = 0, lives = 0,
           resumes = 0;
  for (int i = 0; i < readers; i++) {
    const rel::ReaderStats& r = sh->r[i];
    records += r.records;
    lost += r.lost;
    bad += r.bad;
    back += r.backwards;
    overruns += r.overruns;
    errors += r.errors;
    opens += r.opens;
    lives += r.lives;
    resumes += r.writer_lives_seen;
  }
  printf("SUMMARY: chaos %.0fs seed=%u writer_kills=%llu reader_kills=%llu writer_lives=%llu "
         "publishes=%llu records=%llu lost=%llu resumes=%llu bad=%llu backwards=%llu "
         "wait_overruns=%llu stuck=%llu errors=%llu writer_errors=%llu reopens=%llu\n",
         seconds, seed, (unsigned long long)writer_kills, (unsigned long long)reader_kills,
         (unsigned long long)sh->writer_lives.load(), (unsigned long long)sh->publishes.load(),
         (unsigned long long)records, (unsigned long long)lost, (unsigned long long)resumes,
         (unsigned long long)bad, (unsigned long long)back, (unsigned long long)overruns,
         (unsigned long long)stuck, (unsigned long long)errors,
         (unsigned long long)sh->writer_errors.load(), (unsigned long long)(opens - lives));
  fflush(stdout);

  EXPECT_EQ(0u, bad) << "records whose bytes are not their version's";
  EXPECT_EQ(0u, back) << "versions that went backwards or repeated";
  EXPECT_EQ(0u, overruns) << "waits that outlived their timeout";
  EXPECT_EQ(0u, stuck) << "readers that gave no sign of life";
  EXPECT_EQ(0u, errors) << "unexpected errors in readers (see stderr)";
  EXPECT_EQ(0u, sh->writer_errors.load()) << "writer errors (see stderr)";
  EXPECT_EQ(opens, lives) << "a reader reopened the bus";
  EXPECT_TRUE(resumed) << "readers did not receive the last writer's records";
  EXPECT_EQ(0, writer_status);
  EXPECT_EQ(0, reader_failures);
  EXPECT_GT(records, 0u);
  EXPECT_GT(writer_kills, 1u);
  shmbus_test::SharedDelete(sh);
}

}  // namespace
