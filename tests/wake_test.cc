// Wait/wake across processes: sleepers are woken by the writer's FUTEX_WAKE (not by the
// tick), the writer makes no system call when no reader sleeps and exactly one FUTEX_WAKE per
// publish when readers sleep, whatever their number; a dead writer is noticed; spin and
// hybrid modes work; a reader without access to the wake page still gets records.
#include <linux/filter.h>
#include <poll.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <thread>
#include <vector>

#include "tests/test_util.h"

extern "C" long shmbus__futex_woken;

using shmbus_test::TempBus;

namespace {

struct Shared {
  std::atomic<int> ready{0};
  std::atomic<int> got{0};
  std::atomic<int> woken_by_futex{0};
  std::atomic<long> futex_calls{0};
  std::atomic<int> phase{0};
};

shmbus_pub* Create(const char* name) {
  shmbus_pub* p = nullptr;
  EXPECT_EQ(0, shmbus_pub_open(name, nullptr, &p));
  return p;
}

// Sleeps in shmbus_sub_wait(SLEEP) until a record arrives; reports how it woke.
int Sleeper(const char* name, Shared* sh) {
  shmbus_sub* s = nullptr;
  if (shmbus_sub_open(name, 0, &s) != 0) return 10;
  shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
  sh->ready++;
  int rc = shmbus_sub_wait(s, 30 * 1000000000LL, SHMBUS_WAIT_SLEEP);
  if (rc != 0) return 11;
  sh->got++;
  if (shmbus__futex_woken > 0) sh->woken_by_futex++;
  shmbus_sub_close(s);
  return 0;
}

// Readiness from the reader registry: @n readers registered as asleep.
bool SleepersAnnounced(const char* name, int n) {
  shmbus_bus_info info;
  return shmbus_stat(name, &info) == 0 && info.sleepers == n;
}

TEST(Wake, EverySleeperIsWokenByTheWritersFutexWake) {
  TempBus bus("wake");
  shmbus_pub* p = Create(bus.c_str());
  Shared* sh = shmbus_test::SharedNew<Shared>();
  const int n = 8;
  std::vector<pid_t> pids;
  for (int i = 0; i < n; i++)
    pids.push_back(shmbus_test::Spawn([&] { return Sleeper(bus.c_str(), sh); }));
  ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->ready.load() == n; }));
  ASSERT_TRUE(shmbus_test::Eventually([&] { return SleepersAnnounced(bus.c_str(), n); }));
  // Every sleeper blocked in FUTEX_WAIT, so the publish's wake, not an EAGAIN, ends their waits.
  for (pid_t pid : pids)
    ASSERT_TRUE(shmbus_test::Eventually([&] { return shmbus_test::InFutexWait(pid); }));
  ASSERT_EQ(0, shmbus_pub_publish(p, "x", 1));
  for (pid_t pid : pids) EXPECT_EQ(0, shmbus_test::Reap(pid, 30));
  EXPECT_EQ(n, sh->got.load());
  // At least one sleeper's FUTEX_WAIT ended by a wake: the wake reaches read-only mappings.
  EXPECT_GT(sh->woken_by_futex.load(), 0);
  shmbus_pub_close(p);
  shmbus_test::SharedDelete(sh);
}

// Counts the futex system calls of this process: each one traps to SIGSYS and is not made.
std::atomic<long>* g_futex_calls;
void OnSigsys(int, siginfo_t* si, void* uc) {
  if (si->si_syscall == SYS_futex) (*g_futex_calls)++;
  // Make the trapped call return 0.
  reinterpret_cast<ucontext_t*>(uc)->uc_mcontext.gregs[REG_RAX] = 0;
}

bool TrapFutex() {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = OnSigsys;
  sa.sa_flags = SA_SIGINFO;
  if (sigaction(SIGSYS, &sa, nullptr) != 0) return false;
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

#if defined(__x86_64__)
TEST(Wake, NoSyscallWithoutSleepersExactlyOneWakeWithAny) {
  TempBus bus("sys");
  shmbus_pub_close(Create(bus.c_str()));
  Shared* sh = shmbus_test::SharedNew<Shared>();
  const int n = 4;
  // The writer: a child whose futex calls are counted (and not made).
  pid_t w = shmbus_test::Spawn([&] {
    shmbus_pub* p = nullptr;
    if (shmbus_pub_open(bus.c_str(), nullptr, &p) != 0) return 20;
    g_futex_calls = &sh->futex_calls;
    if (!TrapFutex()) return 21;
    for (int i = 0; i < 10000; i++) shmbus_pub_publish(p, "a", 1);  // nobody sleeps
    sh->phase = 1;                                                  // now readers go to sleep
    while (sh->phase.load() != 2) usleep(100);
    shmbus_pub_publish(p, "b", 1);  // n sleepers: one wake for all of them
    sh->phase = 3;
    while (sh->phase.load() != 4) usleep(100);
    return 0;
  });
  ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->phase.load() == 1; }));
  EXPECT_EQ(0, sh->futex_calls.load()) << "publishing with no sleeper made futex calls";
  std::vector<pid_t> pids;
  for (int i = 0; i < n; i++)
    pids.push_back(shmbus_test::Spawn([&] { return Sleeper(bus.c_str(), sh); }));
  ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->ready.load() == n; }));
  ASSERT_TRUE(shmbus_test::Eventually([&] { return SleepersAnnounced(bus.c_str(), n); }));
  sh->phase = 2;
  ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->phase.load() == 3; }));
  EXPECT_EQ(1, sh->futex_calls.load()) << "one publish with sleepers: exactly one FUTEX_WAKE";
  // The wake was swallowed by the trap: the tick still delivers the record to every sleeper.
  for (pid_t pid : pids) EXPECT_EQ(0, shmbus_test::Reap(pid, 30));
  EXPECT_EQ(n, sh->got.load());
  sh->phase = 4;
  EXPECT_EQ(0, shmbus_test::Reap(w, 30));
  shmbus_test::SharedDelete(sh);
}
#endif

TEST(Wake, WriterDeathIsNoticedWhileAsleep) {
  TempBus bus("death");
  shmbus_pub_close(Create(bus.c_str()));
  int pipefd[2];
  ASSERT_EQ(0, pipe(pipefd));
  pid_t w = shmbus_test::Spawn([&] {
    shmbus_pub* p = nullptr;
    if (shmbus_pub_open(bus.c_str(), nullptr, &p) != 0) return 20;
    char c = 1;
    if (write(pipefd[1], &c, 1) != 1) return 21;
    pause();  // killed by the test
    return 0;
  });
  char c;
  ASSERT_EQ(1, read(pipefd[0], &c, 1));
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  shmbus_bus_info info;
  ASSERT_EQ(0, shmbus_sub_info(s, &info));
  EXPECT_EQ(1, info.writer_alive);
  EXPECT_EQ(w, info.writer_pid);
  pid_t killer = shmbus_test::Spawn([&] {
    usleep(200000);
    kill(w, SIGKILL);
    return 0;
  });
  int64_t t0 = shmbus_test::NowNs();
  EXPECT_EQ(-EOWNERDEAD, shmbus_sub_wait(s, 60 * 1000000000LL, SHMBUS_WAIT_HYBRID));
  EXPECT_LT(shmbus_test::NowNs() - t0, 30 * 1000000000LL) << "waited (almost) its whole timeout";
  EXPECT_EQ(128 + SIGKILL, shmbus_test::Reap(w));
  EXPECT_EQ(0, shmbus_test::Reap(killer));
  ASSERT_EQ(0, shmbus_sub_info(s, &info));
  EXPECT_EQ(0, info.writer_alive);
  EXPECT_EQ(0, info.writer_closed);
  EXPECT_EQ(0, shmbus_lock_holder(bus.c_str())) << "the kernel released the dead writer's lock";
  shmbus_sub_close(s);
  close(pipefd[0]);
  close(pipefd[1]);
}

TEST(Wake, SpinAndHybridModesSeeAPublishFromAnotherProcess) {
  for (int mode : {SHMBUS_WAIT_SPIN, SHMBUS_WAIT_HYBRID, SHMBUS_WAIT_SLEEP}) {
    TempBus bus("modes");
    shmbus_pub* p = Create(bus.c_str());
    shmbus_sub* s = nullptr;
    ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
    pid_t child = shmbus_test::Spawn([&] {
      shmbus_sub* cs = nullptr;
      if (shmbus_sub_open(bus.c_str(), 0, &cs) != 0) return 10;
      shmbus_sub_seek(cs, SHMBUS_SEEK_NEW);
      int rc = shmbus_sub_wait(cs, 20 * 1000000000LL, mode);
      char buf[8];
      shmbus_record_info in;
      if (rc != 0 || shmbus_sub_next(cs, buf, sizeof buf, &in) != 3 || memcmp(buf, "abc", 3))
        return 11;
      return 0;
    });
    // The child is in its wait (spinning or asleep) for version 1: observed, not assumed after
    // a pause (a child that opened after the publish would seek past it and wait in vain).
    EXPECT_TRUE(
        shmbus_test::Eventually([&] { return shmbus_test::ReaderWaiting(bus.c_str(), child, 1); },
                                30));
    ASSERT_EQ(0, shmbus_pub_publish(p, "abc", 3));
    EXPECT_EQ(0, shmbus_test::Reap(child, 30)) << "mode " << mode;
    shmbus_sub_close(s);
    shmbus_pub_close(p);
  }
}

// A reader that cannot use the wake page (another IPC namespace, or a page that is not this
// bus's: ids are recycled) still gets every record: it polls at the tick when it sleeps.
TEST(Wake, ReaderWithoutWakePageStillReceives) {
  TempBus bus("nowake");
  shmbus_pub* p = Create(bus.c_str());
  int id = shmbus_test::WakeShmid(bus);
  ASSERT_GE(id, 0);
  // Point the header at a segment that is not the bus's (as after an id was recycled).
  int other = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  ASSERT_GE(other, 0);
  int fd = open(bus.path().c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(4, pwrite(fd, &other, 4, shmbus_test_header.wake_shmid));
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  // Put it back, so the bus's removal finds it.
  ASSERT_EQ(4, pwrite(fd, &id, 4, shmbus_test_header.wake_shmid));
  close(fd);
  shmctl(other, IPC_RMID, nullptr);
  shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
  pid_t child = shmbus_test::Spawn([&] {
    usleep(50000);
    return shmbus_pub_publish(p, "q", 1) == 0 ? 0 : 1;
  });
  EXPECT_EQ(0, shmbus_sub_wait(s, 20 * 1000000000LL, SHMBUS_WAIT_SLEEP));
  EXPECT_EQ(0, shmbus_test::Reap(child));
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}

TEST(Wake, CloseWakesSleepersWithOwnerDead) {
  TempBus bus("close");
  shmbus_pub* p = Create(bus.c_str());
  pid_t child = shmbus_test::Spawn([&] {
    shmbus_sub* s = nullptr;
    if (shmbus_sub_open(bus.c_str(), 0, &s) != 0) return 10;
    shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
    return shmbus_sub_wait(s, 20 * 1000000000LL, SHMBUS_WAIT_SLEEP) == -EOWNERDEAD ? 0 : 11;
  });
  ASSERT_TRUE(shmbus_test::Eventually([&] { return SleepersAnnounced(bus.c_str(), 1); }));
  shmbus_pub_close(p);
  EXPECT_EQ(0, shmbus_test::Reap(child, 30));
}

}  // namespace

// ---------------------------------------------------------------- the wake cascade (layout 2)

extern "C" int64_t shmbus__tick_ns;
extern "C" int shmbus__fanout_writer;
extern "C" int shmbus__fanout_direct;
extern "C" void (*shmbus__woken_hook)(void);
extern "C" long shmbus__spin_rounds;
extern "C" long shmbus__latest_loads;

namespace {

// A sleeper without the tick: only a FUTEX_WAKE (the writer's or the cascade's) wakes it.
// With @victim it dies right after being woken, before it passes the wake on.
pid_t TicklessSleeper(const char* name, Shared* sh, bool victim) {
  return shmbus_test::Spawn([=] {
    shmbus__tick_ns = 3600 * 1000000000LL;
    if (victim) shmbus__woken_hook = [] { _exit(42); };
    shmbus_sub* s = nullptr;
    if (shmbus_sub_open(name, 0, &s) != 0) return 10;
    shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
    if (shmbus_sub_wait(s, -1, SHMBUS_WAIT_SLEEP) != 0) return 11;
    sh->got++;
    return 0;
  });
}

// Starts the sleepers one after the other, each queued before the next starts (the kernel
// wakes equal-priority waiters in FIFO order), the first @victims of them victims.
std::vector<pid_t> QueueSleepers(const char* name, Shared* sh, int n, int victims) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; i++) {
    pids.push_back(TicklessSleeper(name, sh, i < victims));
    pid_t pid = pids.back();
    EXPECT_TRUE(shmbus_test::Eventually([&] { return shmbus_test::InFutexWait(pid); }))
        << "sleeper " << i;
  }
  return pids;
}

}  // namespace

TEST(Cascade, SixteenSleepersAreAllWokenWithoutTheTick) {
  TempBus bus("cascade");
  shmbus_pub* p = Create(bus.c_str());
  Shared* sh = shmbus_test::SharedNew<Shared>();
  std::vector<pid_t> pids = QueueSleepers(bus.c_str(), sh, 16, 0);
  ASSERT_TRUE(shmbus_test::Eventually([&] { return SleepersAnnounced(bus.c_str(), 16); }));
  ASSERT_EQ(0, shmbus_pub_publish(p, "x", 1));  // wakes 2; they wake 2 each; ...
  for (pid_t pid : pids) EXPECT_EQ(0, shmbus_test::Reap(pid, 60));
  EXPECT_EQ(16, sh->got.load());
  shmbus_pub_close(p);
  shmbus_test::SharedDelete(sh);
}

// The wake word of @bus, attached read-write as any reader (a hostile one too) may.
static std::atomic<uint32_t>* WakeWord(const TempBus& bus) {
  void* w = shmat(shmbus_test::WakeShmid(bus), nullptr, 0);
  return w == (void*)-1 ? nullptr : reinterpret_cast<std::atomic<uint32_t>*>(w);
}

constexpr uint32_t kTree = 2;  // bit 1 of the word, T (core/wake.h)

// The next publish in tree mode: T set, and its epoch no probe (every 16th is).
static void SetTreeMode(std::atomic<uint32_t>* w) {
  w->fetch_or(kTree);
  if (((w->load() >> 2) + 1) % 16 == 0) w->fetch_add(4);
}

// The next publish a probe: T set, and its epoch a multiple of 16.
static void SetProbeNext(std::atomic<uint32_t>* w) {
  w->fetch_or(kTree);
  while (((w->load() >> 2) + 1) % 16 != 0) w->fetch_add(4);
}

TEST(Cascade, AReaderKilledBeforePassingTheWakeOnStopsNobody) {
  TempBus bus("victim");
  shmbus_pub* p = Create(bus.c_str());
  Shared* sh = shmbus_test::SharedNew<Shared>();
  std::atomic<uint32_t>* word = WakeWord(bus);
  ASSERT_NE(nullptr, word);
  SetTreeMode(word);  // the writer wakes 2: the victim's sibling must pass the wake on
  std::vector<pid_t> pids = QueueSleepers(bus.c_str(), sh, 4, 1);
  ASSERT_EQ(0, shmbus_pub_publish(p, "x", 1));
  EXPECT_EQ(42, shmbus_test::Reap(pids[0], 60)) << "the victim was woken first and died";
  for (size_t i = 1; i < pids.size(); i++) EXPECT_EQ(0, shmbus_test::Reap(pids[i], 60));
  EXPECT_EQ(3, sh->got.load());
  shmdt(word);
  shmbus_pub_close(p);
  shmbus_test::SharedDelete(sh);
}

// Negative control for the test above: a writer that wakes one sleeper, and that one dies
// before passing it on: nobody else is woken (the tick is off), so the test above can fail.
TEST(Cascade, NegativeControlAWriterFanOutOfOneLosesTheWakeWithItsVictim) {
  TempBus bus("fan1");
  shmbus_pub* p = Create(bus.c_str());
  Shared* sh = shmbus_test::SharedNew<Shared>();
  std::vector<pid_t> pids = QueueSleepers(bus.c_str(), sh, 3, 1);
  shmbus__fanout_writer = shmbus__fanout_direct = 1;
  ASSERT_EQ(0, shmbus_pub_publish(p, "x", 1));
  shmbus__fanout_writer = 2;
  shmbus__fanout_direct = 5;
  EXPECT_EQ(42, shmbus_test::Reap(pids[0], 60));
  // Nothing can wake the others: no wake is pending and their tick is an hour.
  usleep(500000);
  EXPECT_EQ(0, sh->got.load());
  for (size_t i = 1; i < pids.size(); i++) EXPECT_TRUE(shmbus_test::InFutexWait(pids[i]));
  for (size_t i = 1; i < pids.size(); i++) kill(pids[i], SIGKILL);
  for (size_t i = 1; i < pids.size(); i++) shmbus_test::Reap(pids[i], 60);
  shmbus_pub_close(p);
  shmbus_test::SharedDelete(sh);
}

// ---------------------------------------------------------------- direct mode (issue 20)
// Every sleeper below is a victim: it dies as soon as it is woken, before it could pass the
// wake on, and its tick is an hour. So a sleeper that dies was woken by the writer's own call.

// Reaps @pids; returns how many died as victims (42), killing and reaping the others after
// half a second (they are still asleep: nothing will wake them).
static int VictimsWoken(const std::vector<pid_t>& pids, int expect) {
  int woken = 0;
  for (int i = 0; i < expect; i++) woken += shmbus_test::Reap(pids[i], 60) == 42;
  usleep(500000);
  for (size_t i = expect; i < pids.size(); i++) {
    EXPECT_TRUE(shmbus_test::InFutexWait(pids[i])) << "sleeper " << i << " should still be asleep";
    kill(pids[i], SIGKILL);
    shmbus_test::Reap(pids[i], 60);
  }
  return woken;
}

TEST(Direct, UpToFourSleepersAreAllWokenByTheWritersOwnCall) {
  TempBus bus("direct4");
  shmbus_pub* p = Create(bus.c_str());
  Shared* sh = shmbus_test::SharedNew<Shared>();
  std::atomic<uint32_t>* word = WakeWord(bus);
  ASSERT_NE(nullptr, word);
  std::vector<pid_t> pids = QueueSleepers(bus.c_str(), sh, 4, 4);
  ASSERT_EQ(0, word->load() & kTree) << "a fresh bus starts in direct mode";
  ASSERT_EQ(0, shmbus_pub_publish(p, "x", 1));
  EXPECT_EQ(0, word->load() & kTree) << "the direct wake came back short: still direct";
  EXPECT_EQ(4, VictimsWoken(pids, 4));
  shmdt(word);
  shmbus_pub_close(p);
  shmbus_test::SharedDelete(sh);
}

// Negative control for the test above: in tree mode (T set, as a reader may leave it) the
// writer wakes 2 of the 4, so that test can fail.
TEST(Direct, NegativeControlInTreeModeTheWriterWakesTwoOfFour) {
  TempBus bus("tree4");
  shmbus_pub* p = Create(bus.c_str());
  Shared* sh = shmbus_test::SharedNew<Shared>();
  std::atomic<uint32_t>* word = WakeWord(bus);
  ASSERT_NE(nullptr, word);
  SetTreeMode(word);
  std::vector<pid_t> pids = QueueSleepers(bus.c_str(), sh, 4, 4);
  ASSERT_EQ(0, shmbus_pub_publish(p, "x", 1));
  EXPECT_EQ(2, VictimsWoken(pids, 2));
  EXPECT_EQ(kTree, word->load() & kTree) << "no probe: the mode stays";
  shmdt(word);
  shmbus_pub_close(p);
  shmbus_test::SharedDelete(sh);
}

// Five sleepers fill the direct wake: the writer switches to the tree. A probe (every 16th
// epoch in tree mode) that finds two switches back.
TEST(Direct, AFullDirectWakeSwitchesToTheTreeAndAShortProbeBack) {
  TempBus bus("mode");
  shmbus_pub* p = Create(bus.c_str());
  Shared* sh = shmbus_test::SharedNew<Shared>();
  std::atomic<uint32_t>* word = WakeWord(bus);
  ASSERT_NE(nullptr, word);
  std::vector<pid_t> pids = QueueSleepers(bus.c_str(), sh, 5, 5);
  ASSERT_EQ(0, shmbus_pub_publish(p, "x", 1));
  EXPECT_EQ(kTree, word->load() & kTree) << "5 of 5 woken: more may sleep, tree mode";
  EXPECT_EQ(5, VictimsWoken(pids, 5));
  SetProbeNext(word);
  pids = QueueSleepers(bus.c_str(), sh, 2, 2);
  ASSERT_EQ(0, shmbus_pub_publish(p, "y", 1));
  EXPECT_EQ(0, word->load() & kTree) << "the probe woke 2 of 5: direct mode again";
  EXPECT_EQ(2, VictimsWoken(pids, 2));
  shmdt(word);
  shmbus_pub_close(p);
  shmbus_test::SharedDelete(sh);
}

// ---------------------------------------------------------------- the small-record fast path

// A reader that keeps up (wait, next, next until -EAGAIN, record by record) never loads
// `latest`: the slot tells it all. `latest` is the line the writer's seq_cst store must own on
// every publish; a reader loading it per record doubled the writer's cost (bench/fastpath.c,
// "`latest` per record"). Every wait mode: each returns at its first check here.
TEST(FastPath, AReaderThatKeepsUpNeverLoadsLatest) {
  TempBus bus("nolatest");
  shmbus_pub* p = Create(bus.c_str());
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  ASSERT_EQ(0, shmbus_sub_seek(s, SHMBUS_SEEK_NEW));
  long before = __atomic_load_n(&shmbus__latest_loads, __ATOMIC_RELAXED);
  const int modes[] = {SHMBUS_WAIT_SPIN, SHMBUS_WAIT_SLEEP, SHMBUS_WAIT_HYBRID};
  for (uint32_t i = 0; i < 300; i++) {
    char buf[8];
    ASSERT_EQ(0, shmbus_pub_publish(p, &i, sizeof i));
    ASSERT_EQ(0, shmbus_sub_wait(s, 1000000000LL, modes[i % 3]));
    ASSERT_EQ(4, shmbus_sub_next(s, buf, sizeof buf, nullptr));
    ASSERT_EQ(0, memcmp(buf, &i, 4));
    ASSERT_EQ(-EAGAIN, shmbus_sub_next(s, buf, sizeof buf, nullptr));
  }
  EXPECT_EQ(before, __atomic_load_n(&shmbus__latest_loads, __ATOMIC_RELAXED));
  // The control: a wait with nothing new does load it (every 64 spin rounds, or to sleep).
  EXPECT_EQ(-ETIMEDOUT, shmbus_sub_wait(s, 1000000, SHMBUS_WAIT_SLEEP));
  EXPECT_LT(before, __atomic_load_n(&shmbus__latest_loads, __ATOMIC_RELAXED));
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}

// ---------------------------------------------------------------- timeouts (issue 12, 5)

TEST(Timeouts, AHugeTimeoutIsForeverNotAnOverflow) {
  TempBus bus("huge");
  shmbus_pub* p = Create(bus.c_str());
  pid_t child = shmbus_test::Spawn([&] {
    shmbus_sub* s = nullptr;
    if (shmbus_sub_open(bus.c_str(), 0, &s) != 0) return 10;
    shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
    int rc = shmbus_sub_wait(s, INT64_MAX, SHMBUS_WAIT_SLEEP);
    return rc == 0 ? 0 : 11;
  });
  ASSERT_TRUE(shmbus_test::Eventually([&] { return SleepersAnnounced(bus.c_str(), 1); }));
  ASSERT_EQ(0, shmbus_pub_publish(p, "x", 1));
  EXPECT_EQ(0, shmbus_test::Reap(child, 30)) << "INT64_MAX returned at once (11) or hung";
  shmbus_pub_close(p);
}

TEST(Timeouts, HybridDoesNotSpinPastADeadlineOfZero) {
  TempBus bus("hyb0");
  shmbus_pub* p = Create(bus.c_str());
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
  long before = shmbus__spin_rounds;
  EXPECT_EQ(-ETIMEDOUT, shmbus_sub_wait(s, 0, SHMBUS_WAIT_HYBRID));
  EXPECT_EQ(before, shmbus__spin_rounds) << "spun though the deadline had passed";
  EXPECT_EQ(-ETIMEDOUT, shmbus_sub_wait(s, 1000, SHMBUS_WAIT_HYBRID));  // 1 us: clamped
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}

// A SIGKILLed writer, timeout 0: every mode says -EOWNERDEAD (the checks run on every path),
// and so does the pollable descriptor (it must not wake the owner for nothing every tick).
TEST(Timeouts, ADeadWriterIsReportedWithTimeoutZeroInEveryModeAndByThePollfd) {
  TempBus bus("dead0");
  shmbus_pub_close(Create(bus.c_str()));
  int pipefd[2];
  ASSERT_EQ(0, pipe(pipefd));
  pid_t w = shmbus_test::Spawn([&] {
    shmbus_pub* p = nullptr;
    if (shmbus_pub_open(bus.c_str(), nullptr, &p) != 0) return 20;
    char c = 1;
    if (write(pipefd[1], &c, 1) != 1) return 21;
    pause();
    return 0;
  });
  char c;
  ASSERT_EQ(1, read(pipefd[0], &c, 1));
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
  EXPECT_EQ(-ETIMEDOUT, shmbus_sub_wait(s, 0, SHMBUS_WAIT_SLEEP));  // alive: a timeout
  kill(w, SIGKILL);
  EXPECT_EQ(128 + SIGKILL, shmbus_test::Reap(w));
  for (int mode : {SHMBUS_WAIT_SLEEP, SHMBUS_WAIT_SPIN, SHMBUS_WAIT_HYBRID})
    EXPECT_EQ(-EOWNERDEAD, shmbus_sub_wait(s, 0, mode)) << "mode " << mode;
  shmbus_sub_close(s);

  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  int fd = shmbus_sub_fd(s);
  ASSERT_GE(fd, 0);
  struct pollfd pfd = {fd, POLLIN, 0};
  ASSERT_EQ(1, poll(&pfd, 1, 30000)) << "the descriptor never told of the death";
  EXPECT_EQ(-EOWNERDEAD, shmbus_sub_wait(s, 0, SHMBUS_WAIT_SLEEP));
  shmbus_sub_close(s);
  close(pipefd[0]);
  close(pipefd[1]);
}

// ---------------------------------------------------------------- the adaptive hybrid wait

// A hybrid wait spins only with a spin lease; there are as many as the cores but one, so
// with more would-be spinners than free cores the rest sleep at once. A lease held too long
// ahead (a hostile reader's) is taken anyway.
TEST(Hybrid, SpinsOnlyWithALeaseAndAGarbageLeaseIsFree) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 2) GTEST_SKIP() << "one CPU: the hybrid wait never spins (no free core)";
  TempBus bus("lease");
  shmbus_pub* p = Create(bus.c_str());
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
  auto* wake = static_cast<unsigned char*>(shmat(shmbus_test::WakeShmid(bus), nullptr, 0));
  ASSERT_NE((void*)-1, wake);
  auto* leases = reinterpret_cast<std::atomic<uint64_t>*>(wake + 64);
  long before = shmbus__spin_rounds;
  EXPECT_EQ(-ETIMEDOUT, shmbus_sub_wait(s, 2000000, SHMBUS_WAIT_HYBRID));
  EXPECT_GT(shmbus__spin_rounds, before) << "a free lease: it spins";
  // Every lease taken for 0.9 s: it sleeps at once. (A wait that starts after the leases
  // expired, on a machine that stalled this thread that long, is retried, not judged.)
  bool judged = false;
  for (int attempt = 0; attempt < 10 && !judged; attempt++) {
    int64_t until = shmbus_test::NowNs() + 900000000LL;
    for (int i = 0; i < 8; i++) leases[i] = until;
    before = shmbus__spin_rounds;
    EXPECT_EQ(-ETIMEDOUT, shmbus_sub_wait(s, 2000000, SHMBUS_WAIT_HYBRID));
    if (shmbus_test::NowNs() >= until) continue;
    judged = true;
    EXPECT_EQ(before, shmbus__spin_rounds) << "every lease taken: it sleeps at once";
  }
  EXPECT_TRUE(judged);
  for (int i = 0; i < 8; i++) leases[i] = shmbus_test::NowNs() + 3600 * 1000000000LL;
  before = shmbus__spin_rounds;
  EXPECT_EQ(-ETIMEDOUT, shmbus_sub_wait(s, 2000000, SHMBUS_WAIT_HYBRID));
  EXPECT_GT(shmbus__spin_rounds, before) << "an hour ahead is garbage: the lease is free";
  shmdt(wake);
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}

// A reader that opens a bus its writer is still creating (between the name appearing and
// shmbus_pub_open() returning) waits for it: the creator is named as the running writer.
extern "C" void (*shmbus__step_hook)(int step);
namespace {
const char* g_opening_bus;
int g_early_wait_rc = 1;
}  // namespace

TEST(Wake, AReaderOpeningABusBeingCreatedSeesARunningWriter) {
  TempBus bus("early");
  g_opening_bus = bus.c_str();
  shmbus__step_hook = [](int step) {
    if (step != 130) return;
    shmbus_sub* s = nullptr;
    if (shmbus_sub_open(g_opening_bus, 0, &s) != 0) return;
    g_early_wait_rc = shmbus_sub_wait(s, 0, SHMBUS_WAIT_SLEEP);
    shmbus_sub_close(s);
  };
  shmbus_pub* p = Create(bus.c_str());
  shmbus__step_hook = nullptr;
  EXPECT_EQ(-ETIMEDOUT, g_early_wait_rc) << "-EOWNERDEAD: the bus looked writerless";
  shmbus_pub_close(p);
}
