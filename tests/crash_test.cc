// Crash at every step of a publish: a writer process dies (_exit or SIGKILL) at each step;
// a reader process that was asleep on the bus must never get a torn record, never hang, keep
// the last complete record, learn that the writer died, and receive the records of a new
// writer that resumes the versions, without reopening. Each case runs with a copying reader
// and with a borrowing one (shmbus_sub_borrow(), issue 17), which also holds a borrow of the
// last record across the writer's death and must find it still valid and whole.
// Also: a writer killed at every step of creating a bus's wake page (a System V segment, so
// nothing in /dev/shm shows it) leaves no segment behind, whether the next writer or
// shmbus_unlink() comes next.
#include <signal.h>

#include <string>
#include <tuple>
#include <vector>

#include "tests/test_util.h"

extern "C" void (*shmbus__step_hook)(int step);

using shmbus_test::TempBus;

namespace {

constexpr size_t kSize = 256;
constexpr uint64_t kBefore = 5;  // complete records before the fatal publish

int g_die_at = 0;
bool g_kill = false;
bool g_armed = false;

void Hook(int step) {
  if (!g_armed || step != g_die_at) return;
  if (g_kill) raise(SIGKILL);
  _exit(42);
}

enum { kStepReserve = 7 };  // died between reserve and commit, half the record written

int Writer(const char* name, int step, bool kill) {
  shmbus_pub* p = nullptr;
  if (shmbus_pub_open(name, nullptr, &p) != 0) return 20;
  unsigned char buf[kSize];
  for (uint64_t v = 1; v <= kBefore; v++) {
    shmbus_test::Fill(v, buf, kSize);
    if (shmbus_pub_publish(p, buf, kSize) != 0) return 21;
  }
  shmbus_test::Fill(kBefore + 1, buf, kSize);
  if (step == kStepReserve) {
    void* where = nullptr;
    if (shmbus_pub_reserve(p, kSize, &where) != 0) return 22;
    memcpy(where, buf, kSize / 2);
    if (kill) raise(SIGKILL);
    _exit(42);
  }
  g_die_at = step;
  g_kill = kill;
  shmbus__step_hook = Hook;
  g_armed = true;
  shmbus_pub_publish(p, buf, kSize);
  return 23;  // the hook should have ended us
}

struct Shared {
  std::atomic<int> asleep{0};
  std::atomic<int> died_seen{0};         // wait() reported -EOWNERDEAD
  std::atomic<uint64_t> last_before{0};  // version of the last record read before the restart
  std::atomic<uint64_t> after{0};        // version received from the new writer
  std::atomic<int> bad{0};
  std::atomic<int> restart{0};
};

bool g_borrow = false;  // the reader borrows instead of copying

// A borrow of the latest record, copied out through the helper and checked: the copy is kept
// only if the borrow is still valid after it (core/shmbus.h, rule 1).
ssize_t BorrowLatest(shmbus_sub* s, unsigned char* buf, size_t cap, shmbus_record_info* in) {
  for (;;) {
    shmbus_borrow b;
    int rc = shmbus_sub_borrow(s, SHMBUS_BORROW_LATEST, &b);
    if (rc < 0) return rc;
    if (b.length > cap) return -ENOBUFS;
    if (shmbus_borrow_copy(&b, 0, buf, b.length) != 0) return -EIO;
    in->version = b.version;
    in->length = b.length;
    if (shmbus_sub_borrow_release(s, &b) == 0) return ssize_t(in->length);
    // Lapped: borrow the newer latest.
  }
}

bool ReadCheck(shmbus_sub* s, Shared* sh, uint64_t* version) {
  unsigned char buf[kSize];
  shmbus_record_info in;
  ssize_t n = g_borrow ? BorrowLatest(s, buf, sizeof buf, &in)
                       : shmbus_sub_read_latest(s, buf, sizeof buf, &in);
  if (n != ssize_t(kSize) || !shmbus_test::Check(in.version, buf, kSize)) {
    sh->bad++;
    return false;
  }
  *version = in.version;
  return true;
}

int Reader(const char* name, Shared* sh) {
  shmbus_sub* s = nullptr;
  if (shmbus_sub_open(name, 0, &s) != 0) return 10;
  shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
  uint64_t v = 0;
  sh->asleep = 1;
  // No writer runs yet: wait through its absence for the first record.
  if (shmbus_sub_wait(s, 20 * 1000000000LL, SHMBUS_WAIT_SLEEP | SHMBUS_WAIT_THROUGH_DEATH) != 0)
    return 16;
  if (!ReadCheck(s, sh, &v)) return 17;
  // Follow the bus until the writer is reported dead; every record read must be whole.
  for (;;) {
    int rc = shmbus_sub_wait(s, 20 * 1000000000LL, SHMBUS_WAIT_SLEEP);
    if (rc == -EOWNERDEAD) break;
    if (rc != 0) return 11;  // -ETIMEDOUT: the reader hung waiting on a dead writer
    if (!ReadCheck(s, sh, &v)) return 12;
  }
  sh->died_seen = 1;
  if (!ReadCheck(s, sh, &v)) return 13;  // the last complete record is still there
  // A borrow taken after the death stays valid and whole until a new writer laps it.
  shmbus_borrow held;
  if (g_borrow && shmbus_sub_borrow(s, SHMBUS_BORROW_LATEST, &held) != 0) return 18;
  sh->last_before = v;
  sh->restart = 1;
  int rc = shmbus_sub_wait(s, 20 * 1000000000LL, SHMBUS_WAIT_SLEEP | SHMBUS_WAIT_THROUGH_DEATH);
  if (rc != 0) return 14;
  if (g_borrow) {  // the new writer published one record: 4 slots, so no lap yet
    unsigned char buf[kSize];
    if (held.version != v || shmbus_borrow_copy(&held, 0, buf, kSize) != 0) return 19;
    if (!shmbus_sub_borrow_valid(&held) || !shmbus_test::Check(v, buf, kSize)) {
      sh->bad++;
      return 20;
    }
    if (shmbus_sub_borrow_release(s, &held) != 0) return 21;
  }
  if (!ReadCheck(s, sh, &v)) return 15;
  sh->after = v;
  shmbus_sub_close(s);
  return 0;
}

class CrashAt : public ::testing::TestWithParam<std::tuple<int, bool, bool>> {};

TEST_P(CrashAt, ReadersKeepLastCompleteRecordAndResume) {
  auto [step, kill, borrow] = GetParam();
  g_borrow = borrow;  // read by the forked reader
  TempBus bus("crash");
  {
    shmbus_pub_opts o;
    shmbus_pub_opts_init(&o);
    o.slots = 4;
    o.capacity = kSize;
    shmbus_pub* p = nullptr;
    ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), &o, &p));
    shmbus_pub_close(p);
  }
  Shared* sh = shmbus_test::SharedNew<Shared>();
  pid_t r = shmbus_test::Spawn([&] { return Reader(bus.c_str(), sh); });
  ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->asleep.load() == 1; }));
  pid_t w = shmbus_test::Spawn([&] { return Writer(bus.c_str(), step, kill); });
  EXPECT_EQ(kill ? 128 + SIGKILL : 42, shmbus_test::Reap(w, 30)) << "writer did not die at step";
  ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->restart.load() == 1; }, 30))
      << "the reader never learned that the writer died";

  // Steps 5 and 6 come after latest moved: the fatal record is complete and visible. Step 4
  // comes after its seq = 2v, which commits it (docs/PROTOCOL.md, Read side): complete, read
  // by a reader whose cursor is at it, but `latest` still says v - 1 until a new writer
  // adopts it.
  uint64_t want = (step == 4 || step == 5 || step == 6) ? kBefore + 1 : kBefore;
  EXPECT_EQ(want, sh->last_before.load());
  shmbus_bus_info info;
  ASSERT_EQ(0, shmbus_stat(bus.c_str(), &info));
  EXPECT_EQ(0, info.writer_alive);
  EXPECT_EQ(step == 4 ? kBefore : want, info.latest);

  // A new writer: no lock left behind, versions resume after the last complete record.
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), nullptr, &p)) << "a dead writer blocks a new one";
  EXPECT_EQ(want, shmbus_pub_version(p));
  unsigned char buf[kSize];
  shmbus_test::Fill(want + 1, buf, kSize);
  ASSERT_EQ(0, shmbus_pub_publish(p, buf, kSize));
  EXPECT_EQ(0, shmbus_test::Reap(r, 30)) << "reader failed";
  EXPECT_EQ(want + 1, sh->after.load());
  EXPECT_EQ(0, sh->bad.load()) << "a torn record was handed out";
  shmbus_pub_close(p);
  shmbus_test::SharedDelete(sh);
}

// The commit point is the slot's seq = 2v, not `latest` (docs/PROTOCOL.md, Read side): in
// the window between the two stores (step 4), a spinning wait for v returns, next() and
// read_latest() hand out v while `latest` still says v - 1, and a later read_latest() never
// goes back to v - 1. Negative control: at step 3 (seq still odd) none of that happens.
shmbus_sub* g_win_sub = nullptr;
int g_win_step = 0;
int g_win_bad = 0;
int g_win_seen = 0;

void WindowHook(int step) {
  if (step != g_win_step || g_win_sub == nullptr) return;
  shmbus_sub* s = g_win_sub;
  g_win_sub = nullptr;  // once
  g_win_seen = 1;
  unsigned char buf[kSize];
  shmbus_record_info in;
  int waited = shmbus_sub_wait(s, 10 * 1000000LL, SHMBUS_WAIT_SPIN);  // spins at least once
  ssize_t n = shmbus_sub_next(s, buf, sizeof buf, &in);
  if (shmbus_sub_latest(s) != 1) g_win_bad |= 1;
  if (step == 4) {
    if (waited != 0) g_win_bad |= 2;
    if (n != ssize_t(kSize) || in.version != 2 || !shmbus_test::Check(2, buf, kSize))
      g_win_bad |= 4;
    n = shmbus_sub_read_latest(s, buf, sizeof buf, &in);  // not back to 1
    if (n != ssize_t(kSize) || in.version != 2 || in.lost != 0) g_win_bad |= 8;
  } else {
    if (waited != -ETIMEDOUT) g_win_bad |= 2;
    if (n != -EAGAIN) g_win_bad |= 4;
  }
}

class CommitPoint : public ::testing::TestWithParam<int> {};

TEST_P(CommitPoint, SeqCommitsBeforeLatestMoves) {
  TempBus bus("commit");
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), nullptr, &p));
  unsigned char buf[kSize];
  shmbus_test::Fill(1, buf, kSize);
  ASSERT_EQ(0, shmbus_pub_publish(p, buf, kSize));
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  ASSERT_EQ(0, shmbus_sub_seek(s, SHMBUS_SEEK_NEW));  // cursor 2
  g_win_sub = s;
  g_win_step = GetParam();
  g_win_bad = g_win_seen = 0;
  shmbus__step_hook = WindowHook;
  shmbus_test::Fill(2, buf, kSize);
  ASSERT_EQ(0, shmbus_pub_publish(p, buf, kSize));
  shmbus__step_hook = nullptr;
  EXPECT_EQ(1, g_win_seen);
  EXPECT_EQ(0, g_win_bad);
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}

INSTANTIATE_TEST_SUITE_P(Steps, CommitPoint, ::testing::Values(3, 4),
                         [](const ::testing::TestParamInfo<int>& i) {
                           return "step" + std::to_string(i.param);
                         });

std::string Name(const ::testing::TestParamInfo<CrashAt::ParamType>& info) {
  auto [step, kill, borrow] = info.param;
  return "step" + std::to_string(step) + (kill ? "_SIGKILL" : "_exit") + (borrow ? "_borrow" : "");
}

INSTANTIATE_TEST_SUITE_P(EveryStep, CrashAt,
                         ::testing::Combine(::testing::Values(1, 2, 3, 4, 5, 6, kStepReserve),
                                            ::testing::Bool(), ::testing::Bool()),
                         Name);

// Killed while creating the wake page (core/wakepage.c, steps 140-142): the header holds the
// segment's key but not yet its id. The segment is still found by its key: the next writer
// adopts it and shmbus_unlink() removes it. Steps 141 and 142 leave a segment (the test
// checks that first, so it cannot pass by killing too early); step 140 leaves none.
class WakePageCrash : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(WakePageCrash, NothingIsLeftBehind) {
  auto [step, next_writer] = GetParam();
  TempBus bus("wakecrash");
  pid_t w = shmbus_test::Spawn([&] {
    g_die_at = step;
    g_kill = true;
    g_armed = true;
    shmbus__step_hook = Hook;
    shmbus_pub* p = nullptr;
    shmbus_pub_open(bus.c_str(), nullptr, &p);
    return 23;  // the hook should have ended us
  });
  ASSERT_EQ(128 + SIGKILL, shmbus_test::Reap(w, 30)) << "writer did not die at step " << step;
  int key = shmbus_test::WakeKey(bus);
  ASSERT_NE(0, key) << "the key is stored before the segment is made";
  EXPECT_EQ(-1, shmbus_test::WakeShmid(bus)) << "killed before the id was stored";
  int orphan = shmget(key_t(key), 0, 0);
  if (step == 140) {
    ASSERT_EQ(-1, orphan) << "killed before shmget(), yet a segment has the key";
  } else {
    ASSERT_GE(orphan, 0) << "killed after shmget(): its segment must exist";
  }
  if (next_writer) {
    shmbus_pub* p = nullptr;
    ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), nullptr, &p));
    if (orphan >= 0) {
      EXPECT_EQ(orphan, shmbus_test::WakeShmid(bus)) << "the orphan is adopted";
    }
    shmbus_pub_close(p);
  }
  EXPECT_EQ(0, shmbus_unlink(bus.c_str(), 0));
  errno = 0;
  EXPECT_EQ(-1, shmget(key_t(key), 0, 0)) << "a wake page was left behind";
  EXPECT_EQ(ENOENT, errno);
  struct shmid_ds ds;
  if (orphan >= 0) {
    EXPECT_NE(0, shmctl(orphan, IPC_STAT, &ds)) << "the orphan was left behind";
  }
}

INSTANTIATE_TEST_SUITE_P(EveryStep, WakePageCrash,
                         ::testing::Combine(::testing::Values(140, 141, 142), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<WakePageCrash::ParamType>& i) {
                           return "step" + std::to_string(std::get<0>(i.param)) +
                                  (std::get<1>(i.param) ? "_next_writer" : "_unlink");
                         });

}  // namespace
