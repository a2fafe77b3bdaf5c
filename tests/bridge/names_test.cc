// names_test.cc - shmbridge's topic names, patterns and import markers (no network needed).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>

extern "C" {
#include "bridge/bridge_util.h"
}

namespace {

std::string Topic(const char *bus) {
  char t[BRIDGE_TOPIC_MAX];
  EXPECT_EQ(0, bridge_topic_name(bus, t, sizeof t));
  return t;
}

TEST(TopicName, MapsEveryBusCharacterToDdsOnes) {
  EXPECT_EQ("shmbus/robot/imu_d0", Topic("robot.imu-0"));
  EXPECT_EQ("shmbus/a__b", Topic("a_b"));
  EXPECT_EQ("shmbus/9lives", Topic("9lives"));  // DDS names may not start with a digit
}

TEST(TopicName, RoundTripsEveryValidName) {
  const char alphabet[] = "abcXYZ019_.-";
  std::mt19937 rng(12345);
  for (int i = 0; i < 2000; i++) {
    std::string bus(1 + rng() % 20, 'a');
    for (char &c : bus) c = alphabet[rng() % (sizeof alphabet - 1)];
    if (bus[0] == '.') bus[0] = 'x';
    char t[BRIDGE_TOPIC_MAX], back[256];
    ASSERT_EQ(0, bridge_topic_name(bus.c_str(), t, sizeof t)) << bus;
    for (const char *c = t; *c; c++)
      ASSERT_TRUE(isalnum((unsigned char)*c) || *c == '_' || *c == '/') << t;
    ASSERT_EQ(0, bridge_bus_name(t, back, sizeof back)) << t;
    EXPECT_EQ(bus, back);
  }
}

TEST(TopicName, RejectsForeignTopics) {
  char bus[256];
  EXPECT_EQ(-EINVAL, bridge_bus_name("rt/chatter", bus, sizeof bus));
  EXPECT_EQ(-EINVAL, bridge_bus_name("shmbus/", bus, sizeof bus));
  EXPECT_EQ(-EINVAL, bridge_bus_name("shmbus/a_x", bus, sizeof bus));  // no such escape
  EXPECT_EQ(-EINVAL, bridge_bus_name("shmbus/a_", bus, sizeof bus));
}

TEST(TopicName, TooSmallBufferIsAnError) {
  char t[10];
  EXPECT_EQ(-ENAMETOOLONG, bridge_topic_name("abcdefgh", t, sizeof t));
}

TEST(Patterns, GlobOverBusNames) {
  const char *p[] = {"robot.*", "map"};
  EXPECT_TRUE(bridge_match(p, 2, "robot.imu"));
  EXPECT_TRUE(bridge_match(p, 2, "map"));
  EXPECT_FALSE(bridge_match(p, 2, "maps"));
  EXPECT_FALSE(bridge_match(p, 0, "map"));
}

TEST(HostId, StableAndNonZero) {
  EXPECT_NE(0u, bridge_host_id());
  EXPECT_EQ(bridge_host_id(), bridge_host_id());
}

uint64_t Now(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// Issue 21, item 7: scans, retries and status run on CLOCK_MONOTONIC, not the wall clock.
TEST(Clock, TimersAreMonotonic) {
  uint64_t before = Now(CLOCK_MONOTONIC), t = bridge_now_ns(), after = Now(CLOCK_MONOTONIC);
  EXPECT_LE(before, t);
  EXPECT_LE(t, after);
}

class Marker : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    name_ = "bridgetest-" + std::to_string(getpid()) + "-" + std::to_string(rd() % 1000000);
  }
  void TearDown() override {
    unlink(Path().c_str());
    unlink((Path() + "~planted").c_str());
  }
  std::string Path() const { return "/dev/shm/shmbridge." + name_; }
  struct shmbus_bus_info Info(pid_t writer, uid_t uid) const {
    struct shmbus_bus_info i = {};
    i.writer_pid = writer;
    i.uid = uid;
    i.created_ns = 777;
    return i;
  }
  std::string name_;
};

TEST_F(Marker, NamesTheImporterAndItsLastRecord) {
  struct bridge_marker m = {getpid(), 0xabcdef, 42, 7, 100, 3, 555, 666}, r;
  int fd = bridge_marker_open(name_.c_str(), &m);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(0, bridge_marker_read(name_.c_str(), geteuid(), &r));
  EXPECT_EQ(m.pid, r.pid);
  EXPECT_EQ(m.origin, r.origin);
  EXPECT_EQ(42u, r.bus_id);
  EXPECT_EQ(7u, r.version);
  EXPECT_EQ(100u, r.received);
  EXPECT_EQ(3u, r.lost);
  EXPECT_EQ(555u, r.bus_created);
  EXPECT_EQ(666u, r.saved_ns);
  m.version = 123456789012ull;  // wider than before: the fixed-width rewrite still parses
  ASSERT_EQ(0, bridge_marker_update(fd, &m));
  ASSERT_EQ(0, bridge_marker_read(name_.c_str(), geteuid(), &r));
  EXPECT_EQ(123456789012ull, r.version);
  close(fd);
}

TEST_F(Marker, ImportedOnlyWhileItsPidIsTheWriter) {
  struct bridge_marker m = {4242, 1, 1, 1, 0, 0, 0, 0};
  struct shmbus_bus_info mine = Info(4242, geteuid());
  EXPECT_FALSE(bridge_is_imported(name_.c_str(), &mine));  // no marker
  int fd = bridge_marker_open(name_.c_str(), &m);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_TRUE(bridge_is_imported(name_.c_str(), &mine));
  struct shmbus_bus_info other = Info(4343, geteuid()), never = Info(0, geteuid());
  EXPECT_FALSE(bridge_is_imported(name_.c_str(), &other));  // a local program took over
  EXPECT_FALSE(bridge_is_imported(name_.c_str(), &never));  // never had a writer
}

// Issue 21, item 6: a marker is trusted only from the bus's owner, as a regular file.
TEST_F(Marker, AnotherUsersMarkerIsNotTrusted) {
  struct bridge_marker m = {4242, 1, 1, 1, 0, 0, 0, 0}, r;
  int fd = bridge_marker_open(name_.c_str(), &m);
  ASSERT_GE(fd, 0);
  close(fd);
  struct shmbus_bus_info info = Info(4242, geteuid() + 1);  // the bus is someone else's
  EXPECT_FALSE(bridge_is_imported(name_.c_str(), &info));
  EXPECT_EQ(-EPERM, bridge_marker_read(name_.c_str(), geteuid() + 1, &r));
}

TEST_F(Marker, ASymbolicLinkOrAFifoIsNotAMarker) {
  struct bridge_marker r;
  ASSERT_EQ(0, symlink("/etc/hostname", Path().c_str()));
  EXPECT_EQ(-EPERM, bridge_marker_read(name_.c_str(), geteuid(), &r));
  unlink(Path().c_str());
  ASSERT_EQ(0, mkfifo(Path().c_str(), 0600));
  EXPECT_EQ(-EPERM, bridge_marker_read(name_.c_str(), geteuid(), &r));
}

// The temporary file is created with O_EXCL: a file planted where the old code put it
// (NAME~PID), owned by another user, is neither written through nor becomes the marker.
TEST_F(Marker, APlantedTemporaryIsNeverUsed) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (to plant another user's file)";
  std::string planted = Path() + "~" + std::to_string(getpid());
  int pfd = open(planted.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0666);
  ASSERT_GE(pfd, 0);
  ASSERT_EQ(0, fchown(pfd, 65534, 65534));
  close(pfd);
  struct bridge_marker m = {getpid(), 1, 1, 1, 0, 0, 0, 0};
  int fd = bridge_marker_open(name_.c_str(), &m);
  ASSERT_GE(fd, 0);
  close(fd);
  struct stat st;
  ASSERT_EQ(0, stat(Path().c_str(), &st));
  EXPECT_EQ(geteuid(), st.st_uid);
  ASSERT_EQ(0, stat(planted.c_str(), &st));
  EXPECT_EQ(0, st.st_size);
  unlink(planted.c_str());
}

// Issue 21, item 1: an importer only writes an existing bus its own marker proves it made.
TEST_F(Marker, ABusIsOursOnlyWhenOurMarkerNamesIt) {
  struct bridge_marker m = {4242, 1, 1, 1, 0, 0, 777, 0};
  struct shmbus_bus_info info = Info(9999, geteuid());
  EXPECT_TRUE(bridge_bus_is_ours(name_.c_str(), &info, &m));
  info.created_ns = 778;  // replaced by someone since
  EXPECT_FALSE(bridge_bus_is_ours(name_.c_str(), &info, &m));
  info = Info(4242, geteuid() + 1);  // another user's bus
  EXPECT_FALSE(bridge_bus_is_ours(name_.c_str(), &info, &m));
  m.bus_created = 0;  // a marker from before the bus was made: its last writer must be ours
  info = Info(4242, geteuid());
  EXPECT_TRUE(bridge_bus_is_ours(name_.c_str(), &info, &m));
  info.writer_pid = 4343;
  EXPECT_FALSE(bridge_bus_is_ours(name_.c_str(), &info, &m));
}

TEST_F(Marker, RejectsBadBusNames) {
  struct bridge_marker m = {1, 1, 1, 1, 0, 0, 0, 0};
  EXPECT_EQ(-EINVAL, bridge_marker_open("../etc/passwd", &m));
}

}  // namespace
