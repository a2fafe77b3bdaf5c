// names_test.cc - shmbridge's topic names, patterns and import markers (no network needed).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>

extern "C" {
#include "tools/bridge/bridge_util.h"
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

class Marker : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    name_ = "bridgetest-" + std::to_string(getpid()) + "-" + std::to_string(rd() % 1000000);
  }
  void TearDown() override {
    std::string path = "/dev/shm/shmbridge." + name_;
    unlink(path.c_str());
  }
  std::string name_;
};

TEST_F(Marker, NamesTheImporterAndItsLastRecord) {
  struct bridge_marker m = {getpid(), 0xabcdef, 42, 7, 100, 3}, r;
  int fd = bridge_marker_open(name_.c_str(), &m);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(0, bridge_marker_read(name_.c_str(), &r));
  EXPECT_EQ(m.pid, r.pid);
  EXPECT_EQ(m.origin, r.origin);
  EXPECT_EQ(42u, r.bus_id);
  EXPECT_EQ(7u, r.version);
  EXPECT_EQ(100u, r.received);
  EXPECT_EQ(3u, r.lost);
  m.version = 123456789012ull;  // wider than before: the fixed-width rewrite still parses
  ASSERT_EQ(0, bridge_marker_update(fd, &m));
  ASSERT_EQ(0, bridge_marker_read(name_.c_str(), &r));
  EXPECT_EQ(123456789012ull, r.version);
  close(fd);
}

TEST_F(Marker, ImportedOnlyWhileItsPidIsTheWriter) {
  struct bridge_marker m = {4242, 1, 1, 1, 0, 0};
  EXPECT_FALSE(bridge_is_imported(name_.c_str(), 4242));  // no marker
  int fd = bridge_marker_open(name_.c_str(), &m);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_TRUE(bridge_is_imported(name_.c_str(), 4242));
  EXPECT_FALSE(bridge_is_imported(name_.c_str(), 4343));  // a local program took over
  EXPECT_FALSE(bridge_is_imported(name_.c_str(), 0));     // never had a writer
}

TEST_F(Marker, RejectsBadBusNames) {
  struct bridge_marker m = {1, 1, 1, 1, 0, 0};
  EXPECT_EQ(-EINVAL, bridge_marker_open("../etc/passwd", &m));
}

}  // namespace
