// Shutdown while readers read, writer death and bus replacement, registration misuse.
#include <errno.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/view/view_fixture.h"

namespace {
using namespace viewtest;

shmbus_view *OpenView(const char *name) {
  shmbus_view *v = nullptr;
  int rc = shmbus_view_open(name, nullptr, &v);
  EXPECT_EQ(0, rc) << shmbus_strerror(rc);
  return v;
}

// Generous deadline for conditions that depend on the follower's progress.
template <typename F>
bool Eventually(F cond, int64_t seconds = 20) {
  const int64_t deadline = NowNs() + seconds * 1000000000;
  while (!cond()) {
    if (NowNs() > deadline) return false;
    SleepUs(1000);
  }
  return true;
}

TEST(ViewShutdown, StopWhileReadersReadAndWait) {
  Bus bus("stop");
  bus.Publish(4096);
  shmbus_view *v = OpenView(bus.name());
  ASSERT_NE(nullptr, v);
  std::atomic<int> failures{0}, started{0}, shut{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 8; i++) {
    readers.emplace_back([&, i] {
      Registered reg;
      started.fetch_add(1);
      for (;;) {
        uint64_t seq = 0;
        shmbus_view_read_lock();
        const shmbus_view_snap *s = shmbus_view_latest(v);
        if (s == nullptr || BadWord(s, 4096)) failures.fetch_add(1);
        if (s) seq = s->seq;
        shmbus_view_read_unlock();
        // Half the readers sleep in wait, half poll: stop must release both.
        int rc = shmbus_view_wait(v, seq, i % 2 ? -1 : 0);
        if (rc == -ESHUTDOWN) break;
        if (rc != 0 && rc != -ETIMEDOUT) failures.fetch_add(1);
      }
      shut.fetch_add(1);
    });
  }
  ASSERT_TRUE(Eventually([&] { return started.load() == 8; }));
  for (int i = 0; i < 200; i++) {
    bus.Publish(4096);
    SleepUs(50);
  }
  shmbus_view_stop(v);
  // After stop the frozen snapshot is still readable.
  {
    Registered reg;
    shmbus_view_read_lock();
    const shmbus_view_snap *s = shmbus_view_latest(v);
    ASSERT_NE(nullptr, s);
    EXPECT_EQ(0u, BadWord(s, 4096));
    shmbus_view_read_unlock();
  }
  for (auto &t : readers) t.join();
  EXPECT_EQ(8, shut.load());
  EXPECT_EQ(0, failures.load());
  EXPECT_EQ(0, shmbus_view_wait(v, 0, -1)) << "a newer (frozen) snapshot is reported first";
  EXPECT_EQ(-ESHUTDOWN, shmbus_view_wait(v, shmbus_view_seq(v), -1));
  shmbus_view_close(v);
}

// close() runs while a reader sits inside its critical section on a snapshot: close must wait
// for it, and the snapshot must stay intact until the reader leaves.
TEST(ViewShutdown, CloseWaitsForAReaderInsideItsCriticalSection) {
  Bus bus("close");
  bus.Publish(65536 / 16);
  shmbus_view *v = OpenView(bus.name());
  ASSERT_NE(nullptr, v);
  std::atomic<int> phase{0};
  std::atomic<bool> closed{false};
  std::atomic<int> failures{0};
  std::thread reader([&] {
    Registered reg;
    shmbus_view_read_lock();
    const shmbus_view_snap *s = shmbus_view_latest(v);
    if (s == nullptr) failures.fetch_add(1);
    phase.store(1);
    // Keep reading while the closer runs; close cannot return before our unlock.
    for (int i = 0; s && i < 200; i++) {
      if (BadWord(s, 4096)) failures.fetch_add(1);
      if (closed.load()) failures.fetch_add(100);
      SleepUs(500);
    }
    shmbus_view_read_unlock();
  });
  ASSERT_TRUE(Eventually([&] { return phase.load() == 1; }));
  for (int i = 0; i < 20; i++) bus.Publish(4096);  // retire the reader's snapshot meanwhile
  shmbus_view_close(v);
  closed.store(true);
  reader.join();
  EXPECT_EQ(0, failures.load()) << ">= 100: close returned inside the reader's critical section";
}

// A reader that stays inside its critical section does not hold back the follower (or other
// readers): the view keeps publishing, and the reader's snapshot stays intact meanwhile.
TEST(ViewShutdown, AReaderInALongCriticalSectionBlocksNobody) {
  Bus bus("long");
  bus.Publish(4096);
  shmbus_view *v = OpenView(bus.name());
  ASSERT_NE(nullptr, v);
  std::atomic<int> phase{0};
  std::atomic<int> failures{0};
  std::thread reader([&] {
    Registered reg;
    shmbus_view_read_lock();
    const shmbus_view_snap *s = shmbus_view_latest(v);
    phase.store(1);
    while (phase.load() != 2) {
      if (s == nullptr || BadWord(s, 4096)) failures.fetch_add(1);
      SleepUs(200);
    }
    shmbus_view_read_unlock();
  });
  ASSERT_TRUE(Eventually([&] { return phase.load() == 1; }));
  uint64_t last = 0;
  for (int i = 0; i < 100; i++) last = bus.Publish(4096);
  Registered reg;  // another reader, reading while the first one is still inside
  EXPECT_TRUE(Eventually([&] {
    shmbus_view_read_lock();
    const shmbus_view_snap *s = shmbus_view_latest(v);
    bool ok = s && s->version == last && !BadWord(s, 4096);
    shmbus_view_read_unlock();
    return ok;
  })) << "the follower stalled behind a reader's critical section";
  EXPECT_EQ(1, phase.load()) << "the first reader is still inside";
  phase.store(2);
  reader.join();
  EXPECT_EQ(0, failures.load());
  shmbus_view_close(v);
}

TEST(ViewLifecycle, WriterDeathKeepsTheSnapshotAndFollowsTheNextWriter) {
  Registered reg;
  Bus bus("death");
  uint64_t v1 = bus.Publish(64);
  shmbus_view *v = OpenView(bus.name());
  ASSERT_NE(nullptr, v);
  bus.CloseWriter();
  struct shmbus_view_stats st;
  ASSERT_TRUE(Eventually([&] {
    shmbus_view_stats(v, &st);
    return st.state == -EOWNERDEAD;
  })) << "state "
      << st.state;
  shmbus_view_read_lock();
  ASSERT_NE(nullptr, shmbus_view_latest(v));
  EXPECT_EQ(v1, shmbus_view_latest(v)->version);
  shmbus_view_read_unlock();
  bus.Open(4096);  // same geometry: adopts, versions continue
  uint64_t v2 = bus.Publish(64);
  EXPECT_EQ(v1 + 1, v2);
  ASSERT_TRUE(Eventually([&] {
    shmbus_view_stats(v, &st);
    return shmbus_view_seq(v) == 2 && st.state == 0;
  }));
  shmbus_view_close(v);
}

TEST(ViewLifecycle, ReplacedBusIsReopenedAndSeqKeepsGrowing) {
  Registered reg;
  Bus bus("replace", 4096);
  for (int i = 0; i < 5; i++) bus.Publish(64);
  shmbus_view *v = OpenView(bus.name());
  ASSERT_NE(nullptr, v);
  bus.Open(8192);  // another geometry: replaces the bus, versions start again
  uint64_t v1 = bus.Publish(128);
  EXPECT_EQ(1u, v1);
  ASSERT_TRUE(Eventually([&] {
    bool ok = false;
    shmbus_view_read_lock();
    const shmbus_view_snap *s = shmbus_view_latest(v);
    ok = s && s->length == 128 && s->version == v1 && s->seq == 2 && !BadWord(s, 128);
    shmbus_view_read_unlock();
    return ok;
  })) << "the view did not follow the replacement bus";
  struct shmbus_view_stats st;
  shmbus_view_stats(v, &st);
  EXPECT_GE(st.reopens, 1u);
  shmbus_view_close(v);
}

TEST(ViewLifecycle, RegistrationNests) {
  shmbus_view_thread_register();
  shmbus_view_thread_register();
  shmbus_view_thread_unregister();
  shmbus_view_read_lock();  // still registered once
  shmbus_view_read_lock();  // critical sections nest
  shmbus_view_read_unlock();
  shmbus_view_read_unlock();
  shmbus_view_thread_unregister();
  shmbus_view_thread_unregister();  // extra unregister: harmless
}

TEST(ViewLifecycleDeathTest, CloseInsideACriticalSectionAbortsWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Bus bus("closeinside");
  EXPECT_DEATH(
      {
        shmbus_view *v = OpenView(bus.name());
        Registered reg;
        shmbus_view_read_lock();
        shmbus_unlink(bus.name(), 1);  // the abort skips the destructors
        shmbus_view_close(v);
      },
      "inside a read-side critical section.*shmbus_view_read_unlock");
  SweepDeadBuses();
}

TEST(ViewLifecycleDeathTest, ReadingFromAnUnregisteredThreadAbortsWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(shmbus_view_read_lock(), "not registered.*shmbus_view_thread_register");
}

}  // namespace
