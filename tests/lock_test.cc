// One writer per bus, even while the bus is being removed (issue 12, section 3).
//
// shmbus_unlink() used to look for a lock holder in /proc/locks and then unlink the lock
// object without holding the lock: a writer that had opened the object before the unlink and
// flocked it after held a lock on a file nobody else would ever open, and the next writer
// created a new lock object and got the bus too. Now the remove takes the lock itself and
// unlinks the lock object only while it holds it, and a writer checks after flock() that its
// object is still the one at the path. The first three tests force each interleaving with the
// core's test hooks (steps 101 and 102); the last one loops writers against `rm` for a few
// seconds and checks that two writers never hold the bus at once.
#include <sys/file.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/test_util.h"

extern "C" void (*shmbus__step_hook)(int step);

using shmbus_test::TempBus;

namespace {

enum {
  kStepLockOpened = 101,    // take_lock(): the lock object is open, not yet flocked
  kStepRemoveLocked = 102,  // shmbus_unlink(): holds the lock (if any), nothing removed yet
};

// The one hook of this file: runs g_action the first time step g_step is reached, and counts
// how often it is reached (g_reached).
int g_step = 0;
int g_reached = 0;
std::function<void()> g_action;

void Hook(int step) {
  if (step != g_step || g_reached++ != 0) return;
  g_action();
}

void Arm(int step, std::function<void()> action) {
  g_step = step;
  g_reached = 0;
  g_action = std::move(action);
  shmbus__step_hook = Hook;
}

void Disarm() { shmbus__step_hook = nullptr; }

shmbus_pub* OpenWriter(const char* name, int* rc) {
  shmbus_pub* p = nullptr;
  *rc = shmbus_pub_open(name, nullptr, &p);
  return p;
}

ino_t InodeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// The bug's schedule: writer W opens the lock object of a bus whose writer is gone; `rm`
// removes the bus right then; W flocks the object it opened. W must notice that the lock
// object it holds is no longer the bus's and take the new one, so that a second writer is
// refused.
TEST(Lock, WriterThatLockedARemovedLockObjectStartsAgain) {
  TempBus bus("lock");
  int rc;
  shmbus_pub_close(OpenWriter(bus.c_str(), &rc));  // a bus, its writer gone
  ASSERT_EQ(0, rc);
  int removed = 1;
  Arm(kStepLockOpened, [&] { removed = shmbus_unlink(bus.c_str(), 0); });
  shmbus_pub* w = OpenWriter(bus.c_str(), &rc);
  Disarm();
  ASSERT_GE(g_reached, 1) << "the hook did not run: the schedule was not forced";
  EXPECT_EQ(0, removed) << "the remove ran while the writer held nothing";
  EXPECT_EQ(2, g_reached) << "the writer opened the lock object twice: it started again";
  ASSERT_EQ(0, rc) << shmbus_strerror(rc);
  EXPECT_EQ(getpid(), shmbus_lock_holder(bus.c_str())) << "W holds the lock at the path";
  int rc2;
  shmbus_pub* w2 = OpenWriter(bus.c_str(), &rc2);
  EXPECT_EQ(-EBUSY, rc2) << "two live writers on one bus";
  EXPECT_EQ(nullptr, w2);
  shmbus_pub_close(w2);
  EXPECT_EQ(0, shmbus_pub_publish(w, "x", 1));
  shmbus_pub_close(w);
}

// While shmbus_unlink() removes a bus it holds the writer lock: a writer starting then is
// refused (-EBUSY), and afterwards gets a bus of its own.
TEST(Lock, RemoveHoldsTheLockWhileItRemoves) {
  TempBus bus("lock");
  int rc;
  shmbus_pub_close(OpenWriter(bus.c_str(), &rc));
  ASSERT_EQ(0, rc);
  int during = 0;
  shmbus_pub* intruder = nullptr;
  Arm(kStepRemoveLocked, [&] { intruder = OpenWriter(bus.c_str(), &during); });
  int removed = shmbus_unlink(bus.c_str(), 0);
  Disarm();
  ASSERT_EQ(1, g_reached) << "the hook did not run: the schedule was not forced";
  EXPECT_EQ(0, removed);
  EXPECT_EQ(-EBUSY, during) << "a writer got the bus while it was being removed";
  shmbus_pub_close(intruder);
  EXPECT_EQ(0u, InodeOf(bus.path())) << "removed";
  EXPECT_EQ(0u, InodeOf(bus.path("shmbus-lock.")));
  shmbus_pub* w = OpenWriter(bus.c_str(), &rc);
  EXPECT_EQ(0, rc) << "after the remove, a writer gets a new bus";
  shmbus_pub_close(w);
}

// A bus without a lock object (deleted by hand): the remove makes one and locks it, so a
// writer starting meanwhile is refused instead of creating a lock object (and a bus) that the
// remove would then unlink under it, which let the next writer in too.
TEST(Lock, RemoveLocksOutWritersEvenWithoutALockObject) {
  TempBus bus("lock");
  int rc;
  shmbus_pub_close(OpenWriter(bus.c_str(), &rc));
  ASSERT_EQ(0, rc);
  ASSERT_EQ(0, unlink(bus.path("shmbus-lock.").c_str()));
  shmbus_pub* intruder = nullptr;
  int during = 0;
  Arm(kStepRemoveLocked, [&] { intruder = OpenWriter(bus.c_str(), &during); });
  int removed = shmbus_unlink(bus.c_str(), 0);
  Disarm();
  ASSERT_EQ(1, g_reached) << "the hook did not run: the schedule was not forced";
  EXPECT_EQ(0, removed) << "the stale bus was removed";
  EXPECT_EQ(-EBUSY, during) << "a writer got the bus while it was being removed";
  shmbus_pub_close(intruder);
  EXPECT_EQ(0u, InodeOf(bus.path())) << "removed";
  EXPECT_EQ(0u, InodeOf(bus.path("shmbus-lock."))) << "the remove's own lock object is gone";
  EXPECT_EQ(-ENOENT, shmbus_unlink(bus.c_str(), 0)) << "nothing left (its own lock not counted)";
  shmbus_pub* w = OpenWriter(bus.c_str(), &rc);
  ASSERT_EQ(0, rc);
  int rc2;
  shmbus_pub* w2 = OpenWriter(bus.c_str(), &rc2);
  EXPECT_EQ(-EBUSY, rc2) << "two live writers on one bus";
  shmbus_pub_close(w2);
  shmbus_pub_close(w);
}

double Seconds() {
  const char* s = getenv("LOCK_STRESS_SECONDS");
  return s && *s ? atof(s) : 2.0;
}

struct Stress {
  std::atomic<int> stop{0};
  std::atomic<int> writers{0};  // writers between a successful open and their close
  std::atomic<int> most{0};     // the largest value `writers` ever had
  std::atomic<uint64_t> opens{0}, busy{0}, removes{0}, errors{0};
};

// Writers loop open / publish / close while another process loops shmbus_unlink() (no force):
// at no time may two writers hold the bus. Bounded by LOCK_STRESS_SECONDS (default 2).
TEST(Lock, LoopingWritersAndRemovesNeverMakeTwoWriters) {
  TempBus bus("lockstress");
  Stress* st = shmbus_test::SharedNew<Stress>();
  std::vector<pid_t> kids;
  for (int i = 0; i < 3; i++) {
    kids.push_back(shmbus_test::Spawn([&] {
      while (!st->stop.load()) {
        shmbus_pub* p = nullptr;
        int rc = shmbus_pub_open(bus.c_str(), nullptr, &p);
        if (rc == -EBUSY || rc == -EAGAIN) {
          st->busy++;
          continue;
        }
        if (rc != 0) {
          fprintf(stderr, "writer: %s\n", shmbus_strerror(rc));
          st->errors++;
          continue;
        }
        int now = ++st->writers;
        int most = st->most.load();
        while (now > most && !st->most.compare_exchange_weak(most, now)) {
        }
        st->opens++;
        for (int k = 0; k < 4; k++) shmbus_pub_publish(p, "w", 1);
        --st->writers;  // before the close releases the lock
        shmbus_pub_close(p);
        usleep(100);  // pacing, not synchronisation: leaves the remover some windows
      }
      return 0;
    }));
  }
  kids.push_back(shmbus_test::Spawn([&] {
    while (!st->stop.load()) {
      int rc = shmbus_unlink(bus.c_str(), 0);
      if (rc == 0) st->removes++;
      else if (rc == -EBUSY) st->busy++;
      else if (rc != -ENOENT) {
        fprintf(stderr, "rm: %s\n", shmbus_strerror(rc));
        st->errors++;
      }
    }
    return 0;
  }));
  int64_t end = shmbus_test::NowNs() + int64_t(Seconds() * 1e9);
  while (shmbus_test::NowNs() < end) usleep(10000);
  st->stop = 1;
  for (pid_t k : kids) EXPECT_EQ(0, shmbus_test::Reap(k, 60));
  printf("SUMMARY: lock stress %.1fs opens=%llu busy=%llu removes=%llu errors=%llu most=%d\n",
         Seconds(), (unsigned long long)st->opens.load(), (unsigned long long)st->busy.load(),
         (unsigned long long)st->removes.load(), (unsigned long long)st->errors.load(),
         st->most.load());
  EXPECT_EQ(1, st->most.load()) << "two writers held the bus at once";
  EXPECT_EQ(0u, st->errors.load());
  EXPECT_GT(st->opens.load(), 0u);
  EXPECT_GT(st->removes.load(), 0u);
  shmbus_test::SharedDelete(st);
}

}  // namespace
