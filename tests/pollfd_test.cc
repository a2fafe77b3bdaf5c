// The pollable descriptor: readable exactly while there is something to report, usable in one
// poll() loop with many buses, tells about a dead writer once, about a replaced bus, and goes
// quiet after the records are read.
#include <poll.h>

#include <map>
#include <vector>

#include "tests/test_util.h"

using shmbus_test::TempBus;

namespace {

bool Readable(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

shmbus_pub* Create(const char* name, uint32_t slots = 0) {
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.slots = slots;
  shmbus_pub* p = nullptr;
  EXPECT_EQ(0, shmbus_pub_open(name, &o, &p));
  return p;
}

TEST(PollFd, LevelFollowsTheCursor) {
  TempBus bus("poll");
  shmbus_pub* p = Create(bus.c_str());
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  int fd = shmbus_sub_fd(s);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fd, shmbus_sub_fd(s)) << "one descriptor per subscriber";
  EXPECT_FALSE(Readable(fd, 50)) << "nothing published yet";
  for (uint64_t i = 1; i <= 3; i++) ASSERT_EQ(0, shmbus_pub_publish(p, &i, 8));
  EXPECT_TRUE(Readable(fd, 10000));
  uint64_t v;
  ASSERT_EQ(8, shmbus_sub_next(s, &v, 8, nullptr));
  EXPECT_TRUE(Readable(fd, 0)) << "two more records: still readable";
  while (shmbus_sub_next(s, &v, 8, nullptr) == 8) {
  }
  EXPECT_EQ(3u, v);
  EXPECT_FALSE(Readable(fd, 100)) << "all read: quiet";
  ASSERT_EQ(0, shmbus_sub_seek(s, SHMBUS_SEEK_OLDEST));
  EXPECT_TRUE(Readable(fd, 0)) << "seeking back makes records readable again";
  ASSERT_EQ(0, shmbus_sub_seek(s, SHMBUS_SEEK_NEW));
  EXPECT_FALSE(Readable(fd, 50));
  // A publish from another process wakes the poll.
  pid_t w = shmbus_test::Spawn([&] {
    usleep(50000);
    uint64_t four = 4;
    return shmbus_pub_publish(p, &four, 8);
  });
  EXPECT_TRUE(Readable(fd, 10000));
  EXPECT_EQ(0, shmbus_test::Reap(w));
  EXPECT_EQ(0, shmbus_sub_wait(s, 0, 0));
  ASSERT_EQ(8, shmbus_sub_read_latest(s, &v, 8, nullptr));
  EXPECT_EQ(4u, v);
  EXPECT_FALSE(Readable(fd, 50));
  shmbus_sub_close(s);  // stops the notifier and closes fd
  shmbus_pub_close(p);
}

TEST(PollFd, ManyBusesInOnePollLoop) {
  const int kBuses = 8, kEach = 200;
  std::vector<std::unique_ptr<TempBus>> buses;
  std::vector<shmbus_sub*> subs;
  std::vector<struct pollfd> pfds;
  for (int i = 0; i < kBuses; i++) {
    buses.emplace_back(new TempBus("many"));
    shmbus_pub_close(Create(buses.back()->c_str(), 1024));
    shmbus_sub* s = nullptr;
    ASSERT_EQ(0, shmbus_sub_open(buses.back()->c_str(), 0, &s));
    subs.push_back(s);
    int fd = shmbus_sub_fd(s);
    ASSERT_GE(fd, 0);
    pfds.push_back({fd, POLLIN, 0});
  }
  // One writer process per bus, publishing 1..kEach at staggered paces.
  std::vector<pid_t> writers;
  for (int i = 0; i < kBuses; i++) {
    writers.push_back(shmbus_test::Spawn([&, i] {
      shmbus_pub* p = nullptr;
      if (shmbus_pub_open(buses[i]->c_str(), nullptr, &p) != 0) return 1;
      for (uint64_t v = 1; v <= kEach; v++) {
        shmbus_pub_publish(p, &v, 8);
        usleep(200 + 150 * i);
      }
      pause();  // stay alive until the test is done
      return 0;
    }));
  }
  std::vector<uint64_t> last(kBuses, 0);
  int done = 0, polls = 0;
  int64_t end = shmbus_test::NowNs() + 60 * 1000000000LL;
  while (done < kBuses && shmbus_test::NowNs() < end) {
    ASSERT_GE(poll(pfds.data(), pfds.size(), 1000), 0);
    polls++;
    for (int i = 0; i < kBuses; i++) {
      if (!(pfds[i].revents & POLLIN)) continue;
      uint64_t v;
      shmbus_record_info in;
      while (shmbus_sub_next(subs[i], &v, 8, &in) == 8) {
        ASSERT_EQ(last[i] + 1, v) << "bus " << i << ": every record, in order";
        ASSERT_EQ(0u, in.lost);
        last[i] = v;
        if (v == kEach) done++;
      }
    }
  }
  EXPECT_EQ(kBuses, done);
  for (pid_t w : writers) {
    kill(w, SIGKILL);
    shmbus_test::Reap(w);
  }
  for (shmbus_sub* s : subs) shmbus_sub_close(s);
  RecordProperty("polls", polls);
}

TEST(PollFd, DeadWriterIsReportedOnceThenANewWriterIsSeen) {
  TempBus bus("pdead");
  shmbus_pub_close(Create(bus.c_str()));
  int go[2];
  ASSERT_EQ(0, pipe(go));
  pid_t w = shmbus_test::Spawn([&] {
    shmbus_pub* p = nullptr;
    if (shmbus_pub_open(bus.c_str(), nullptr, &p) != 0) return 1;
    char c = 0;
    if (write(go[1], &c, 1) != 1) return 2;
    pause();
    return 0;
  });
  char c;
  ASSERT_EQ(1, read(go[0], &c, 1));
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  int fd = shmbus_sub_fd(s);
  EXPECT_FALSE(Readable(fd, 100)) << "a live writer with nothing new: quiet";
  kill(w, SIGKILL);
  EXPECT_EQ(128 + SIGKILL, shmbus_test::Reap(w));
  EXPECT_TRUE(Readable(fd, 10000)) << "the death must wake the loop";
  EXPECT_EQ(-EOWNERDEAD, shmbus_sub_wait(s, 0, 0));
  EXPECT_FALSE(Readable(fd, 300)) << "reported once, then quiet";
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), nullptr, &p));
  ASSERT_EQ(0, shmbus_pub_publish(p, "new", 3));
  EXPECT_TRUE(Readable(fd, 10000));
  EXPECT_EQ(0, shmbus_sub_wait(s, 0, 0));
  char buf[8];
  EXPECT_EQ(3, shmbus_sub_next(s, buf, sizeof buf, nullptr));
  // A clean close is reported too.
  shmbus_pub_close(p);
  EXPECT_TRUE(Readable(fd, 10000));
  EXPECT_EQ(-EOWNERDEAD, shmbus_sub_wait(s, 0, 0));
  EXPECT_FALSE(Readable(fd, 100));
  shmbus_sub_close(s);
  close(go[0]);
  close(go[1]);
}

TEST(PollFd, ReplacedBusIsReported) {
  TempBus bus("prepl");
  shmbus_pub* p = Create(bus.c_str(), 4);
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  int fd = shmbus_sub_fd(s);
  shmbus_pub_close(p);
  ASSERT_EQ(-EOWNERDEAD, shmbus_sub_wait(s, 0, 0));
  p = Create(bus.c_str(), 16);  // other geometry: replaces
  EXPECT_TRUE(Readable(fd, 10000));
  EXPECT_EQ(-ESTALE, shmbus_sub_wait(s, 0, 0));
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}

}  // namespace
