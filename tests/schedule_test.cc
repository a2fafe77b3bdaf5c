// Schedules forced by interposition, for the two races of issue 12 that a lucky run hides:
//  - the lost wakeup: the writer clears the sleepers' announcement and issues its FUTEX_WAKE
//    between a sleeper's announcement and that sleeper's FUTEX_WAIT;
//  - the silent pollable descriptor: the notifier signals while the owner drains.
// syscall() and read() are interposed: the library calls them through libc, and this
// executable's definitions come first. The sleeping reader's FUTEX_WAITs are made without a
// timeout, so the 10 ms tick cannot hide a lost wakeup: a lost one hangs, and the test's
// deadline fails it. Both tests fail against layout 1's code (the writer stopped
// after its counter increment, step 6 there); see docs/RELIABILITY.md.
#include <dlfcn.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include <thread>

#include "tests/test_util.h"

extern "C" void (*shmbus__step_hook)(int step);

using shmbus_test::TempBus;

#ifndef SCHED_WRITER_STEP
#define SCHED_WRITER_STEP 5 /* after the store of latest, before the wake (publisher.c) */
#endif

namespace {

struct Gate {
  std::atomic<int> writer_stopped{0};  // the writer stored latest = v and waits
  std::atomic<int> reader_at_wait{0};  // the reader announced itself and is about to sleep
  std::atomic<int> writer_woke{0};     // the writer's wake for v is done
  std::atomic<int> got{0};
};

// Interposition state of this process (a forked child has its own copy).
Gate* g_gate;
std::atomic<int> g_pause_first_wait{0};  // stop the next FUTEX_WAIT until the writer woke
std::atomic<int> g_no_timeout{0};        // FUTEX_WAITs without the tick (the reader child)
std::atomic<pid_t> g_owner_tid{0};       // the pollfd test's owner thread
std::atomic<int> g_drain_fd{-1};         // its eventfd: pause the owner's read of it
std::atomic<int> g_owner_paused{0};      // the owner is inside that read
std::atomic<int> g_closing{0};           // the writer is closing (pollfd test)
std::atomic<uint32_t> g_word_before{0};  // the wake word just before the close
std::atomic<int> g_notifier_waits{0};    // notifier FUTEX_WAITs on a word read after the close
constexpr int kMaxSysv = 8;  // this process's System V mappings (wake pages): change the word
std::atomic<uintptr_t> g_sysv_lo[kMaxSysv], g_sysv_hi[kMaxSysv];
std::atomic<int> g_sysv_n{0};

bool InSysvMapping(uintptr_t a) {
  for (int i = 0; i < g_sysv_n.load(); i++)
    if (a >= g_sysv_lo[i].load() && a < g_sysv_hi[i].load()) return true;
  return false;
}
std::atomic<long> g_wake_word_waits{0}, g_other_waits{0};

using syscall_fn = long (*)(long, ...);
using read_fn = ssize_t (*)(int, void*, size_t);

}  // namespace

extern "C" long syscall(long nr, ...) {
  static syscall_fn real = reinterpret_cast<syscall_fn>(dlsym(RTLD_NEXT, "syscall"));
  long a[6];
  va_list ap;
  va_start(ap, nr);
  for (long& x : a) x = va_arg(ap, long);
  va_end(ap);
  if (nr == SYS_futex && (a[1] & FUTEX_CMD_MASK) == FUTEX_WAIT) {
    if (g_pause_first_wait.exchange(0) == 1) {
      g_gate->reader_at_wait = 1;
      while (g_gate->writer_woke.load() == 0) usleep(100);
    }
    // The notifier goes back to sleep with a word it read after the close's wake: it has
    // looked at the bus after the close (and signalled, if it is going to).
    if (g_closing.load() && (pid_t)::syscall(SYS_gettid) != g_owner_tid.load() &&
        ((uint32_t)a[2] >> 1) != (g_word_before.load() >> 1))
      g_notifier_waits++;
    if (g_no_timeout.load()) a[3] = 0;  // no tick: only a wake ends this wait
    if (InSysvMapping((uintptr_t)a[0])) {
      // A hostile reader's move, just before the kernel compares: a new epoch, no publish.
      reinterpret_cast<std::atomic<uint32_t>*>(a[0])->fetch_add(4);
      g_wake_word_waits++;
    } else if (g_sysv_n.load()) {
      g_other_waits++;
    }
  }
  return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

extern "C" ssize_t read(int fd, void* buf, size_t n) {
  static read_fn real = reinterpret_cast<read_fn>(dlsym(RTLD_NEXT, "read"));
  if (fd >= 0 && fd == g_drain_fd.load() && (pid_t)::syscall(SYS_gettid) == g_owner_tid.load()) {
    g_drain_fd = -1;
    g_owner_paused = 1;
    // The owner drains: let the writer close and the notifier signal it, and go back to
    // sleep, before this read happens.
    while (g_notifier_waits.load() == 0) usleep(100);
  }
  return real(fd, buf, n);
}

namespace {

void StopWriter(int step) {
  if (step != SCHED_WRITER_STEP || g_gate->writer_stopped.load()) return;
  g_gate->writer_stopped = 1;
  while (g_gate->reader_at_wait.load() == 0) usleep(100);
}

TEST(Schedule, AWakeBetweenAnnouncementAndSleepIsNotLost) {
  TempBus bus("sched");
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), nullptr, &p));
  g_gate = shmbus_test::SharedNew<Gate>();
  pid_t reader = shmbus_test::Spawn([&] {
    shmbus_sub* s = nullptr;
    char buf[8];
    g_no_timeout = 1;
    if (shmbus_sub_open(bus.c_str(), 0, &s) != 0) return 10;
    while (g_gate->writer_stopped.load() == 0) usleep(100);
    if (shmbus_sub_read_latest(s, buf, sizeof buf, nullptr) != 1) return 11;  // consume v
    g_pause_first_wait = 1;
    if (shmbus_sub_wait(s, -1, SHMBUS_WAIT_SLEEP) != 0) return 12;
    if (shmbus_sub_read_latest(s, buf, sizeof buf, nullptr) != 1 || buf[0] != 'b') return 13;
    g_gate->got = 1;
    shmbus_sub_close(s);
    return 0;
  });
  shmbus__step_hook = StopWriter;
  ASSERT_EQ(0, shmbus_pub_publish(p, "a", 1));  // stops until the reader is about to sleep
  shmbus__step_hook = nullptr;
  g_gate->writer_woke = 1;  // the publish, its wake included, is over: let the reader sleep
  // The reader now sleeps (or got EAGAIN and sleeps again): publish when it is queued.
  ASSERT_TRUE(shmbus_test::Eventually([&] { return shmbus_test::InFutexWait(reader); }));
  ASSERT_EQ(0, shmbus_pub_publish(p, "b", 1));
  EXPECT_EQ(0, shmbus_test::Reap(reader, 30)) << "the reader missed the wake for 'b'";
  EXPECT_EQ(1, g_gate->got.load());
  shmbus_pub_close(p);
  shmbus_test::SharedDelete(g_gate);
}

TEST(Schedule, ANotifierSignalDuringTheDrainKeepsTheDescriptorReadable) {
  TempBus bus("drain");
  shmbus_pub* p = nullptr;
  shmbus_sub* s = nullptr;
  char buf[8];
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), nullptr, &p));
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  ASSERT_EQ(0, shmbus_sub_seek(s, SHMBUS_SEEK_NEW));
  int fd = shmbus_sub_fd(s);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(0, shmbus_pub_publish(p, "a", 1));
  struct pollfd pfd = {fd, POLLIN, 0};
  ASSERT_EQ(1, poll(&pfd, 1, 30000));
  g_owner_tid = (pid_t)::syscall(SYS_gettid);
  void* wake = shmat(shmbus_test::WakeShmid(bus), nullptr, SHM_RDONLY);
  ASSERT_NE((void*)-1, wake);
  std::thread closer([&] {
    while (g_owner_paused.load() == 0) usleep(100);
    g_word_before = reinterpret_cast<std::atomic<uint32_t>*>(wake)->load();
    g_closing = 1;
    shmbus_pub_close(p);  // the notifier finds the writer closed and signals
  });
  g_drain_fd = fd;
  // Reading 'a' leaves nothing to read: the owner drains, paused until the notifier has
  // signalled the close and gone back to sleep.
  ASSERT_EQ(1, shmbus_sub_next(s, buf, sizeof buf, nullptr));
  closer.join();
  pfd.revents = 0;
  EXPECT_EQ(1, poll(&pfd, 1, 10000)) << "the descriptor went silent though the writer closed";
  EXPECT_EQ(-EOWNERDEAD, shmbus_sub_wait(s, 0, SHMBUS_WAIT_SLEEP));
  g_closing = 0;
  shmdt(wake);
  shmbus_sub_close(s);
}

// The address ranges of this process's mappings of System V segments (/proc/self/maps names
// them "/SYSV..."): the wake pages, each range on its own (the read-only header of a bus may
// lie between two of them).
void FindSysvMappings() {
  FILE* f = fopen("/proc/self/maps", "re");
  char line[512];
  int n = 0;
  while (f && n < kMaxSysv && fgets(line, sizeof line, f)) {
    unsigned long a, b;
    if (strstr(line, "/SYSV") && sscanf(line, "%lx-%lx", &a, &b) == 2) {
      g_sysv_lo[n] = a;
      g_sysv_hi[n] = b;
      n++;
    }
  }
  if (f) fclose(f);
  g_sysv_n = n;
}

// A hostile reader changes the wake word between every sleeper's announcement and its
// FUTEX_WAIT (forced: the interposed syscall() does it), so every wait on the word returns
// EAGAIN. The sleeper must not spin on that: after a few in a row it sleeps a tick on the
// header's counter, which readers cannot write. Bound: 5 waits per tick elapsed, plus 5.
TEST(Schedule, AWordChangerCannotMakeSleepersSpin) {
  TempBus bus("storm");
  shmbus_pub* p = nullptr;
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), nullptr, &p));
  pid_t child = shmbus_test::Spawn([&] {
    if (shmbus_sub_open(bus.c_str(), 0, &s) != 0) return 10;
    shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
    FindSysvMappings();
    if (g_sysv_n.load() == 0) return 11;
    int64_t t0 = shmbus_test::NowNs();
    if (shmbus_sub_wait(s, 200 * 1000000LL, SHMBUS_WAIT_SLEEP) != -ETIMEDOUT) return 12;
    int64_t ticks = (shmbus_test::NowNs() - t0) / 10000000 + 1;
    long waits = g_wake_word_waits.load() + g_other_waits.load();
    printf("SUMMARY: waits on the word %ld, on the counter %ld, ticks %lld\n",
           g_wake_word_waits.load(), g_other_waits.load(), (long long)ticks);
    fflush(stdout);
    if (g_other_waits.load() == 0) return 13;  // never fell back to the counter
    if (waits > (ticks + 1) * 5) return 14;    // spun
    g_sysv_n = 0;
    shmbus_sub_close(s);
    return 0;
  });
  EXPECT_EQ(0, shmbus_test::Reap(child, 60)) << "13: no fallback; 14: the sleeper spun";
  shmbus_pub_close(p);
}

}  // namespace
