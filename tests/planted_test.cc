// Objects planted at a bus's paths (issue 12, sections 4 and 6): anybody may create
// /dev/shm/shmbus.NAME or /dev/shm/shmbus-lock.NAME while no bus of that name exists.
//  - A FIFO (or a directory) there never blocks a call: open(O_RDONLY) of a FIFO used to wait
//    for a writer forever in shmbus_sub_open(), shmbus_stat() and the view's reopen.
//  - A reader that knows its writer's user refuses a bus of anyone else
//    (shmbus_sub_open_owner()); perm_test has the same with a real second user.
// Every call runs in a child with a deadline, so a call that blocks fails the test instead of
// hanging it.
#include <sys/stat.h>

#include <string>

#include "tests/test_util.h"

using shmbus_test::TempBus;

namespace {

enum class Kind { kFifo, kDirectory };

void Plant(const std::string& path, Kind kind) {
  if (kind == Kind::kFifo) ASSERT_EQ(0, mkfifo(path.c_str(), 0666)) << path;
  else ASSERT_EQ(0, mkdir(path.c_str(), 0777)) << path;
}

void Unplant(const std::string& path) {
  unlink(path.c_str());
  rmdir(path.c_str());
}

// What every call does with a planted object at the records path: nothing blocks; readers
// say "not a bus" (-EPROTO), a writer refuses to adopt it (-EPERM).
int CallsOnPlantedRecords(const char* name) {
  shmbus_sub* s = nullptr;
  shmbus_pub* p = nullptr;
  shmbus_bus_info info;
  if (shmbus_sub_open(name, 0, &s) != -EPROTO) return 1;
  if (shmbus_stat(name, &info) != -EPROTO) return 2;
  if (shmbus_sub_open_owner(name, geteuid(), 0, &s) != -EPROTO) return 3;
  if (shmbus_pub_open(name, nullptr, &p) != -EPERM) return 4;
  if (s != nullptr || p != nullptr) return 5;
  return 0;
}

TEST(Planted, FifoOrDirectoryAtTheBusPathNeverBlocks) {
  for (Kind kind : {Kind::kFifo, Kind::kDirectory}) {
    TempBus bus("planted");
    Plant(bus.path(), kind);
    int status =
        shmbus_test::Reap(shmbus_test::Spawn([&] { return CallsOnPlantedRecords(bus.c_str()); }),
                          30);
    EXPECT_EQ(0, status) << "kind " << int(kind) << " (-1: a call blocked until the deadline)";
    if (kind == Kind::kFifo) {
      status = shmbus_test::Reap(shmbus_test::Spawn(
                                     [&] { return shmbus_unlink(bus.c_str(), 0) == 0 ? 0 : 1; }),
                                 30);
      EXPECT_EQ(0, status) << "shmbus_unlink() removes a planted FIFO without blocking";
      EXPECT_NE(0, access(bus.path().c_str(), F_OK));
    }
    Unplant(bus.path());
  }
}

TEST(Planted, FifoOrDirectoryAtTheLockPathNeverBlocks) {
  for (Kind kind : {Kind::kFifo, Kind::kDirectory}) {
    TempBus bus("planted");
    std::string lock = bus.path("shmbus-lock.");
    Plant(lock, kind);
    int status = shmbus_test::Reap(shmbus_test::Spawn([&] {
                                     shmbus_pub* p = nullptr;
                                     if (shmbus_pub_open(bus.c_str(), nullptr, &p) != -EPERM)
                                       return 1;
                                     if (shmbus_lock_holder(bus.c_str()) != 0) return 2;
                                     int rc = shmbus_unlink(bus.c_str(), 0);
                                     // A FIFO is junk and goes; a directory cannot be unlinked.
                                     if (kind == Kind::kFifo ? rc != 0 : rc == 0) return 3;
                                     return 0;
                                   }),
                                   30);
    EXPECT_EQ(0, status) << "kind " << int(kind) << " (-1: a call blocked until the deadline)";
    Unplant(lock);
  }
}

TEST(Planted, ReaderCanInsistOnTheOwner) {
  TempBus bus("owner");
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), nullptr, &p));
  ASSERT_EQ(0, shmbus_pub_publish(p, "mine", 4));
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open_owner(bus.c_str(), geteuid(), 0, &s));
  char buf[8];
  EXPECT_EQ(4, shmbus_sub_read_latest(s, buf, sizeof buf, nullptr));
  shmbus_sub_close(s);
  s = nullptr;
  EXPECT_EQ(-EPERM, shmbus_sub_open_owner(bus.c_str(), geteuid() + 1, 0, &s))
      << "a bus of another user than the one asked for";
  EXPECT_EQ(nullptr, s);
  EXPECT_EQ(-EINVAL, shmbus_sub_open_owner(bus.c_str(), (uid_t)-1, 0, &s));
  EXPECT_EQ(-EINVAL, shmbus_sub_open_owner(bus.c_str(), geteuid(), 1, &s));
  EXPECT_EQ(-EINVAL, shmbus_sub_open_owner("a/b", geteuid(), 0, &s));
  EXPECT_EQ(-EINVAL, shmbus_sub_open_owner(bus.c_str(), geteuid(), 0, nullptr));
  shmbus_pub_close(p);
  TempBus none("owner");
  EXPECT_EQ(-ENOENT, shmbus_sub_open_owner(none.c_str(), geteuid(), 0, &s));
}

}  // namespace
