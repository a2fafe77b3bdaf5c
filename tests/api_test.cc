// Unit tests of every public call and every error code, in one process.
#include <errno.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "tests/test_util.h"

using shmbus_test::TempBus;

namespace {

struct PubDeleter {
  void operator()(shmbus_pub* p) const { shmbus_pub_close(p); }
};
struct SubDeleter {
  void operator()(shmbus_sub* s) const { shmbus_sub_close(s); }
};
using Pub = std::unique_ptr<shmbus_pub, PubDeleter>;
using Sub = std::unique_ptr<shmbus_sub, SubDeleter>;

Pub OpenPub(const char* name, uint32_t slots = 0, uint64_t cap = 0, const char* type = nullptr,
            mode_t mode = 0) {
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.slots = slots;
  o.capacity = cap;
  o.type = type;
  o.mode = mode;
  shmbus_pub* p = nullptr;
  int rc = shmbus_pub_open(name, &o, &p);
  EXPECT_EQ(0, rc) << shmbus_strerror(rc);
  return Pub(p);
}

Sub OpenSub(const char* name) {
  shmbus_sub* s = nullptr;
  int rc = shmbus_sub_open(name, 0, &s);
  EXPECT_EQ(0, rc) << shmbus_strerror(rc);
  return Sub(s);
}

TEST(Names, ValidAndInvalid) {
  EXPECT_EQ(0, shmbus_name_check("imu"));
  EXPECT_EQ(0, shmbus_name_check("robot.pose_2-a"));
  EXPECT_EQ(-EINVAL, shmbus_name_check(""));
  EXPECT_EQ(-EINVAL, shmbus_name_check(nullptr));
  EXPECT_EQ(-EINVAL, shmbus_name_check("/"));
  EXPECT_EQ(-EINVAL, shmbus_name_check("a/b"));
  EXPECT_EQ(-EINVAL, shmbus_name_check("/imu"));
  EXPECT_EQ(-EINVAL, shmbus_name_check(".hidden"));
  EXPECT_EQ(-EINVAL, shmbus_name_check(".."));
  EXPECT_EQ(-EINVAL, shmbus_name_check("a b"));
  EXPECT_EQ(-EINVAL, shmbus_name_check("a~1"));
  EXPECT_EQ(0, shmbus_name_check(std::string(SHMBUS_NAME_MAX, 'x').c_str()));
  EXPECT_EQ(-ENAMETOOLONG, shmbus_name_check(std::string(SHMBUS_NAME_MAX + 1, 'x').c_str()));
}

TEST(Names, ModesLetNoReaderWrite) {
  EXPECT_EQ(0, shmbus_mode_check(0600));
  EXPECT_EQ(0, shmbus_mode_check(0640));
  EXPECT_EQ(0, shmbus_mode_check(0604));
  EXPECT_EQ(0, shmbus_mode_check(0644));
  EXPECT_EQ(-EINVAL, shmbus_mode_check(0));
  EXPECT_EQ(-EINVAL, shmbus_mode_check(0400));
  EXPECT_EQ(-EINVAL, shmbus_mode_check(0660));
  EXPECT_EQ(-EINVAL, shmbus_mode_check(0646));
  EXPECT_EQ(-EINVAL, shmbus_mode_check(0700));
  EXPECT_EQ(-EINVAL, shmbus_mode_check(01644));
}

TEST(Names, EveryCallRejectsBadNames) {
  shmbus_pub* p = nullptr;
  shmbus_sub* s = nullptr;
  shmbus_bus_info info;
  EXPECT_EQ(-EINVAL, shmbus_pub_open("a/b", nullptr, &p));
  EXPECT_EQ(nullptr, p);
  EXPECT_EQ(-EINVAL, shmbus_sub_open("", 0, &s));
  EXPECT_EQ(nullptr, s);
  EXPECT_EQ(-ENAMETOOLONG, shmbus_stat(std::string(300, 'y').c_str(), &info));
  EXPECT_EQ(-EINVAL, shmbus_unlink("/", 0));
  char buf[300];
  EXPECT_EQ(0, shmbus_path("imu", buf, sizeof buf));
  EXPECT_STREQ("/dev/shm/shmbus.imu", buf);
  EXPECT_EQ(-ENAMETOOLONG, shmbus_path("imu", buf, 5));
}

TEST(Errors, EveryCodeHasASentence) {
  for (int e : {ENOENT, EACCES, EINVAL, ENAMETOOLONG, EPROTO, EPROTONOSUPPORT, EMSGSIZE, ENOBUFS,
                ENODATA, EAGAIN, ETIMEDOUT, EOWNERDEAD, ESTALE, EBUSY, EPERM, EBADMSG, ENOSPC}) {
    const char* m = shmbus_strerror(-e);
    ASSERT_NE(nullptr, m);
    EXPECT_GT(strlen(m), 10u) << e;
    EXPECT_STREQ(m, shmbus_strerror(e));  // either sign
  }
  EXPECT_NE(nullptr, shmbus_strerror(-12345));
  EXPECT_STREQ("success", shmbus_strerror(0));
}

TEST(Destructors, NullIsAHarmlessNoOp) {
  shmbus_pub_close(nullptr);
  shmbus_sub_close(nullptr);
}

TEST(Open, NoSuchBus) {
  TempBus bus;
  shmbus_sub* s = nullptr;
  shmbus_bus_info info;
  EXPECT_EQ(-ENOENT, shmbus_sub_open(bus.c_str(), 0, &s));
  EXPECT_EQ(-ENOENT, shmbus_stat(bus.c_str(), &info));
  EXPECT_EQ(-ENOENT, shmbus_unlink(bus.c_str(), 0));
  EXPECT_EQ(0, shmbus_lock_holder(bus.c_str()));
}

TEST(Open, BadOptionsAreRefused) {
  TempBus bus;
  shmbus_pub_opts o;
  shmbus_pub* p = nullptr;
  shmbus_pub_opts_init(&o);
  o.slots = 1;
  EXPECT_EQ(-EINVAL, shmbus_pub_open(bus.c_str(), &o, &p));
  o.slots = SHMBUS_MAX_SLOTS + 1;
  EXPECT_EQ(-EINVAL, shmbus_pub_open(bus.c_str(), &o, &p));
  shmbus_pub_opts_init(&o);
  o.capacity = SHMBUS_MAX_CAPACITY + 1;
  EXPECT_EQ(-EINVAL, shmbus_pub_open(bus.c_str(), &o, &p));
  shmbus_pub_opts_init(&o);
  o.mode = 0666;  // others may never write
  EXPECT_EQ(-EINVAL, shmbus_pub_open(bus.c_str(), &o, &p));
  o.mode = 0400;  // the owner must keep read-write
  EXPECT_EQ(-EINVAL, shmbus_pub_open(bus.c_str(), &o, &p));
  shmbus_pub_opts_init(&o);
  o.type = "this type tag is much longer than thirty-one bytes";
  EXPECT_EQ(-EINVAL, shmbus_pub_open(bus.c_str(), &o, &p));
  o.type = "tab\there";
  EXPECT_EQ(-EINVAL, shmbus_pub_open(bus.c_str(), &o, &p));
  EXPECT_EQ(nullptr, p);
  EXPECT_EQ(-EINVAL, shmbus_pub_open(bus.c_str(), nullptr, nullptr));
  EXPECT_NE(0, access(bus.path().c_str(), F_OK)) << "a refused open must create nothing";
}

TEST(PubSub, DefaultsGeometryAndOwnerOnlyMode) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str());
  shmbus_bus_info info;
  ASSERT_EQ(0, shmbus_pub_info(p.get(), &info));
  EXPECT_EQ(uint32_t(SHMBUS_DEFAULT_SLOTS), info.slots);
  EXPECT_EQ(uint64_t(SHMBUS_DEFAULT_CAPACITY), info.capacity);
  EXPECT_EQ(4096u + SHMBUS_DEFAULT_SLOTS * (64u + SHMBUS_DEFAULT_CAPACITY), info.total_size);
  EXPECT_EQ(0600u, info.mode);
  EXPECT_EQ(getpid(), info.writer_pid);
  EXPECT_EQ(1, info.writer_alive);
  EXPECT_EQ(0u, info.latest);
  struct stat st;
  ASSERT_EQ(0, stat(bus.path().c_str(), &st));
  EXPECT_EQ(off_t(info.total_size), st.st_size) << "memory use is exactly what the docs say";
  EXPECT_EQ(0600u, st.st_mode & 0777);
  EXPECT_EQ(0600, shmbus_test::WakeMode(bus)) << "the wake page (System V) is owner-only too";
  ASSERT_EQ(0, stat(bus.path("shmbus-lock.").c_str(), &st));
  EXPECT_EQ(0600u, st.st_mode & 0777);
}

TEST(PubSub, NothingPublishedYet) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str());
  Sub s = OpenSub(bus.c_str());
  char buf[16];
  shmbus_record_info in;
  EXPECT_EQ(-ENODATA, shmbus_sub_read_latest(s.get(), buf, sizeof buf, &in));
  EXPECT_EQ(-EAGAIN, shmbus_sub_next(s.get(), buf, sizeof buf, &in));
  EXPECT_EQ(-ETIMEDOUT, shmbus_sub_wait(s.get(), 0, SHMBUS_WAIT_HYBRID));
  EXPECT_EQ(0u, shmbus_sub_latest(s.get()));
}

TEST(PubSub, PublishReadLatestWithInfo) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str(), 4, 100, "imu.v1");
  Sub s = OpenSub(bus.c_str());
  int64_t before = 0;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  before = int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  ASSERT_EQ(0, shmbus_pub_publish(p.get(), "hello", 5));
  EXPECT_EQ(1u, shmbus_pub_version(p.get()));
  char buf[100];
  shmbus_record_info in;
  ASSERT_EQ(5, shmbus_sub_read_latest(s.get(), buf, sizeof buf, &in));
  EXPECT_EQ(0, memcmp(buf, "hello", 5));
  EXPECT_EQ(1u, in.version);
  EXPECT_EQ(5u, in.length);
  EXPECT_GE(int64_t(in.timestamp_ns), before);
  shmbus_bus_info info;
  ASSERT_EQ(0, shmbus_sub_info(s.get(), &info));
  EXPECT_STREQ("imu.v1", info.type);
  EXPECT_EQ(1u, info.latest);
  EXPECT_EQ(in.timestamp_ns, info.last_publish_ns);
  EXPECT_EQ(100u, shmbus_sub_capacity(s.get()));
  // Read again: the same record (latest-value semantics), wait says nothing newer.
  ASSERT_EQ(5, shmbus_sub_read_latest(s.get(), buf, sizeof buf, &in));
  EXPECT_EQ(-ETIMEDOUT, shmbus_sub_wait(s.get(), 1000000, SHMBUS_WAIT_SLEEP));
  ASSERT_EQ(0, shmbus_pub_publish(p.get(), "", 0));  // empty records are records
  EXPECT_EQ(0, shmbus_sub_wait(s.get(), 0, SHMBUS_WAIT_SPIN));
  ASSERT_EQ(0, shmbus_sub_read_latest(s.get(), nullptr, 0, &in));
  EXPECT_EQ(2u, in.version);
}

TEST(PubSub, RecordSizesUpToCapacityAndNoFurther) {
  TempBus bus;
  const uint64_t cap = 4097;
  Pub p = OpenPub(bus.c_str(), 3, cap);
  Sub s = OpenSub(bus.c_str());
  std::vector<unsigned char> in(cap + 1), out(cap + 8);
  for (size_t len : {size_t(1), size_t(7), size_t(8), size_t(9), size_t(63), size_t(64),
                     size_t(4095), size_t(4096), size_t(4097)}) {
    uint64_t v = shmbus_pub_version(p.get()) + 1;
    shmbus_test::Fill(v, in.data(), len);
    ASSERT_EQ(0, shmbus_pub_publish(p.get(), in.data(), len));
    shmbus_record_info ri;
    ASSERT_EQ(ssize_t(len), shmbus_sub_next(s.get(), out.data(), out.size(), &ri)) << len;
    EXPECT_EQ(v, ri.version);
    EXPECT_TRUE(shmbus_test::Check(v, out.data(), len)) << len;
  }
  uint64_t v = shmbus_pub_version(p.get());
  EXPECT_EQ(-EMSGSIZE, shmbus_pub_publish(p.get(), in.data(), cap + 1));
  EXPECT_EQ(v, shmbus_pub_version(p.get())) << "a refused record publishes nothing";
  EXPECT_EQ(v, shmbus_sub_latest(s.get()));
  EXPECT_EQ(-EINVAL, shmbus_pub_publish(p.get(), nullptr, 3));
  EXPECT_EQ(-EINVAL, shmbus_pub_publish(nullptr, "x", 1));
}

TEST(PubSub, TooSmallBufferReportsSizeAndConsumesNothing) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str());
  Sub s = OpenSub(bus.c_str());
  ASSERT_EQ(0, shmbus_pub_publish(p.get(), "0123456789", 10));
  char small[4];
  shmbus_record_info in;
  EXPECT_EQ(-ENOBUFS, shmbus_sub_read_latest(s.get(), small, sizeof small, &in));
  EXPECT_EQ(10u, in.length);
  EXPECT_EQ(-ENOBUFS, shmbus_sub_next(s.get(), small, sizeof small, &in));
  EXPECT_EQ(10u, in.length);
  EXPECT_EQ(1u, in.version);
  char big[10];
  ASSERT_EQ(10, shmbus_sub_next(s.get(), big, sizeof big, &in)) << "nothing was consumed";
  EXPECT_EQ(1u, in.version);
}

TEST(PubSub, NextInOrderAndCountsLost) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str(), 4, 64);
  Sub s = OpenSub(bus.c_str());
  uint64_t buf;
  shmbus_record_info in;
  for (uint64_t i = 1; i <= 3; i++) ASSERT_EQ(0, shmbus_pub_publish(p.get(), &i, 8));
  // A reader opened before anything was published starts at version 1.
  for (uint64_t i = 1; i <= 3; i++) {
    ASSERT_EQ(8, shmbus_sub_next(s.get(), &buf, 8, &in));
    EXPECT_EQ(i, in.version);
    EXPECT_EQ(i, buf);
    EXPECT_EQ(0u, in.lost);
  }
  EXPECT_EQ(-EAGAIN, shmbus_sub_next(s.get(), &buf, 8, &in));
  for (uint64_t i = 4; i <= 20; i++) ASSERT_EQ(0, shmbus_pub_publish(p.get(), &i, 8));
  // Lapped: 4 slots, latest 20: the oldest safely held is 20 - 4 + 2 = 18; 4..17 are lost.
  ASSERT_EQ(8, shmbus_sub_next(s.get(), &buf, 8, &in));
  EXPECT_EQ(18u, in.version);
  EXPECT_EQ(18u, buf);
  EXPECT_EQ(14u, in.lost);
  for (uint64_t i = 19; i <= 20; i++) {
    ASSERT_EQ(8, shmbus_sub_next(s.get(), &buf, 8, &in));
    EXPECT_EQ(i, in.version);
    EXPECT_EQ(0u, in.lost);
  }
  EXPECT_EQ(-EAGAIN, shmbus_sub_next(s.get(), &buf, 8, &in));
}

TEST(PubSub, LateJoinerGetsLatestAtOnce) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str());
  for (uint64_t i = 1; i <= 5; i++) ASSERT_EQ(0, shmbus_pub_publish(p.get(), &i, 8));
  Sub s = OpenSub(bus.c_str());
  uint64_t buf;
  shmbus_record_info in;
  EXPECT_EQ(0, shmbus_sub_wait(s.get(), 0, SHMBUS_WAIT_SLEEP)) << "the latest is there at once";
  ASSERT_EQ(8, shmbus_sub_next(s.get(), &buf, 8, &in));
  EXPECT_EQ(5u, in.version);
  Sub s2 = OpenSub(bus.c_str());
  ASSERT_EQ(8, shmbus_sub_read_latest(s2.get(), &buf, 8, &in));
  EXPECT_EQ(5u, buf);
}

TEST(PubSub, Seek) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str(), 4, 64);
  for (uint64_t i = 1; i <= 10; i++) ASSERT_EQ(0, shmbus_pub_publish(p.get(), &i, 8));
  Sub s = OpenSub(bus.c_str());
  uint64_t buf;
  shmbus_record_info in;
  ASSERT_EQ(0, shmbus_sub_seek(s.get(), SHMBUS_SEEK_OLDEST));
  ASSERT_EQ(8, shmbus_sub_next(s.get(), &buf, 8, &in));
  EXPECT_EQ(8u, in.version);  // 10 - 4 + 2
  ASSERT_EQ(0, shmbus_sub_seek(s.get(), SHMBUS_SEEK_NEW));
  EXPECT_EQ(-EAGAIN, shmbus_sub_next(s.get(), &buf, 8, &in));
  EXPECT_EQ(-ETIMEDOUT, shmbus_sub_wait(s.get(), 0, SHMBUS_WAIT_SPIN));
  ASSERT_EQ(0, shmbus_sub_seek(s.get(), SHMBUS_SEEK_LATEST));
  ASSERT_EQ(8, shmbus_sub_next(s.get(), &buf, 8, &in));
  EXPECT_EQ(10u, in.version);
  EXPECT_EQ(-EINVAL, shmbus_sub_seek(s.get(), 42));
}

TEST(PubSub, ReserveCommitZeroCopy) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str(), 2, 256);
  Sub s = OpenSub(bus.c_str());
  void* where = nullptr;
  EXPECT_EQ(-EINVAL, shmbus_pub_commit(p.get(), 1)) << "nothing reserved";
  EXPECT_EQ(-EMSGSIZE, shmbus_pub_reserve(p.get(), 257, &where));
  ASSERT_EQ(0, shmbus_pub_reserve(p.get(), 100, &where));
  ASSERT_NE(nullptr, where);
  memset(where, 'z', 100);
  char buf[256];
  EXPECT_EQ(-ENODATA, shmbus_sub_read_latest(s.get(), buf, sizeof buf, nullptr))
      << "a reserved record is invisible until committed";
  EXPECT_EQ(-EINVAL, shmbus_pub_commit(p.get(), 101));
  ASSERT_EQ(0, shmbus_pub_commit(p.get(), 60));
  shmbus_record_info in;
  ASSERT_EQ(60, shmbus_sub_read_latest(s.get(), buf, sizeof buf, &in));
  EXPECT_EQ(1u, in.version);
  EXPECT_EQ(std::string(60, 'z'), std::string(buf, 60));
  EXPECT_EQ(-EINVAL, shmbus_pub_commit(p.get(), 1)) << "a commit consumes the reservation";
}

TEST(Writer, SecondWriterIsRefusedWithHolderPid) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str());
  shmbus_pub* p2 = nullptr;
  EXPECT_EQ(-EBUSY, shmbus_pub_open(bus.c_str(), nullptr, &p2));
  EXPECT_EQ(nullptr, p2);
  EXPECT_EQ(getpid(), shmbus_lock_holder(bus.c_str()));
  EXPECT_EQ(-EBUSY, shmbus_unlink(bus.c_str(), 0)) << "rm refuses while a live writer holds it";
  p.reset();
  EXPECT_EQ(0, shmbus_lock_holder(bus.c_str()));
}

TEST(Writer, RestartResumesVersionsAndReadersKeepTheirMapping) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str(), 4, 64, "pose");
  Sub s = OpenSub(bus.c_str());
  for (uint64_t i = 1; i <= 6; i++) ASSERT_EQ(0, shmbus_pub_publish(p.get(), &i, 8));
  p.reset();  // closed cleanly
  shmbus_bus_info info;
  ASSERT_EQ(0, shmbus_sub_info(s.get(), &info));
  EXPECT_EQ(1, info.writer_closed);
  EXPECT_EQ(0, info.writer_alive);
  uint64_t buf;
  shmbus_record_info in;
  ASSERT_EQ(8, shmbus_sub_read_latest(s.get(), &buf, 8, &in));
  EXPECT_EQ(-EOWNERDEAD, shmbus_sub_wait(s.get(), 1000000000, SHMBUS_WAIT_HYBRID))
      << "a closed writer is reported at once";
  EXPECT_EQ(-ETIMEDOUT,
            shmbus_sub_wait(s.get(), 1000000, SHMBUS_WAIT_SLEEP | SHMBUS_WAIT_THROUGH_DEATH));
  Pub p2 = OpenPub(bus.c_str(), 0, 0, nullptr);  // adopt whatever it is
  EXPECT_EQ(6u, shmbus_pub_version(p2.get()));
  uint64_t seven = 7;
  ASSERT_EQ(0, shmbus_pub_publish(p2.get(), &seven, 8));
  ASSERT_EQ(0, shmbus_sub_wait(s.get(), 1000000000, SHMBUS_WAIT_HYBRID));
  ASSERT_EQ(8, shmbus_sub_next(s.get(), &buf, 8, &in));
  EXPECT_EQ(7u, in.version);
  EXPECT_EQ(7u, buf);
  ASSERT_EQ(0, shmbus_sub_info(s.get(), &info));
  EXPECT_STREQ("pose", info.type);
  EXPECT_EQ(1, info.writer_alive);
}

TEST(Writer, SameGeometryAdoptsAndChangesMode) {
  TempBus bus;
  { Pub p = OpenPub(bus.c_str(), 4, 64, "a"); }
  Sub s = OpenSub(bus.c_str());
  Pub p = OpenPub(bus.c_str(), 4, 64, "a", 0644);
  shmbus_bus_info info;
  ASSERT_EQ(0, shmbus_sub_info(s.get(), &info));
  EXPECT_EQ(0, info.replaced);
  EXPECT_EQ(0644u, info.mode);
  EXPECT_EQ(0666, shmbus_test::WakeMode(bus)) << "readers of a 0644 bus may set the wake flag";
}

TEST(Writer, OtherGeometryReplacesAndOldReadersAreTold) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str(), 4, 64, "a");
  uint64_t one = 1;
  ASSERT_EQ(0, shmbus_pub_publish(p.get(), &one, 8));
  Sub old_reader = OpenSub(bus.c_str());
  p.reset();
  for (auto change : {0, 1, 2}) {
    Pub p2 = change == 0   ? OpenPub(bus.c_str(), 8, 64, "a")
             : change == 1 ? OpenPub(bus.c_str(), 8, 128, "a")
                           : OpenPub(bus.c_str(), 8, 128, "b");
    uint64_t buf;
    EXPECT_EQ(-ESTALE, shmbus_sub_read_latest(old_reader.get(), &buf, 8, nullptr));
    EXPECT_EQ(-ESTALE, shmbus_sub_next(old_reader.get(), &buf, 8, nullptr));
    EXPECT_EQ(-ESTALE, shmbus_sub_wait(old_reader.get(), 1000000000, SHMBUS_WAIT_SLEEP));
    old_reader = OpenSub(bus.c_str());  // reopen by name
    shmbus_bus_info info;
    ASSERT_EQ(0, shmbus_sub_info(old_reader.get(), &info));
    EXPECT_EQ(8u, info.slots);
    EXPECT_EQ(0u, info.latest) << "a replaced bus starts a new version sequence";
  }
}

TEST(Writer, ForeignObjectIsNeverOverwritten) {
  TempBus bus;
  int fd = open(bus.path().c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  std::string junk(8192, 'j');
  ASSERT_EQ(ssize_t(junk.size()), write(fd, junk.data(), junk.size()));
  close(fd);
  shmbus_pub* p = nullptr;
  EXPECT_EQ(-EPROTO, shmbus_pub_open(bus.c_str(), nullptr, &p));
  shmbus_sub* s = nullptr;
  EXPECT_EQ(-EPROTO, shmbus_sub_open(bus.c_str(), 0, &s));
  struct stat st;
  ASSERT_EQ(0, stat(bus.path().c_str(), &st));
  EXPECT_EQ(8192, st.st_size) << "still the foreign file";
}

TEST(Writer, SymlinkIsRefused) {
  TempBus bus;
  ASSERT_EQ(0, symlink("/etc/passwd", bus.path().c_str()));
  shmbus_pub* p = nullptr;
  EXPECT_EQ(-EPERM, shmbus_pub_open(bus.c_str(), nullptr, &p));
  shmbus_sub* s = nullptr;
  EXPECT_EQ(-EPROTO, shmbus_sub_open(bus.c_str(), 0, &s));
  unlink(bus.path().c_str());
}

TEST(Validation, TruncatedAndInconsistentHeaders) {
  TempBus bus;
  { Pub p = OpenPub(bus.c_str(), 4, 64); }
  std::string path = bus.path();
  struct stat st;
  ASSERT_EQ(0, stat(path.c_str(), &st));
  int wake = shmbus_test::WakeShmid(bus);  // the header that names it is about to go
  shmbus_sub* s = nullptr;
  // Truncated below the declared size: refused at open, never a SIGBUS later.
  ASSERT_EQ(0, truncate(path.c_str(), st.st_size - 1));
  EXPECT_EQ(-EPROTO, shmbus_sub_open(bus.c_str(), 0, &s));
  ASSERT_EQ(0, truncate(path.c_str(), 100));
  EXPECT_EQ(-EPROTO, shmbus_sub_open(bus.c_str(), 0, &s));
  ASSERT_EQ(0, truncate(path.c_str(), 0));
  EXPECT_EQ(-EPROTO, shmbus_sub_open(bus.c_str(), 0, &s));
  shmbus_pub* p = nullptr;
  EXPECT_EQ(-EPROTO, shmbus_pub_open(bus.c_str(), nullptr, &p));
  EXPECT_EQ(nullptr, s);
  shmctl(wake, IPC_RMID, nullptr);
}

void PatchHeader(const std::string& path, size_t off, const void* bytes, size_t n) {
  int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ssize_t(n), pwrite(fd, bytes, n, off));
  close(fd);
}

TEST(Validation, LayoutVersionAndGeometryFields) {
  struct Case {
    size_t off;
    uint64_t value;
    size_t n;
    int want;
  } cases[] = {
      {8, 3, 4, -EPROTONOSUPPORT},          // layout_version (1 and 2 are read)
      {0, 0x5858585858585858, 8, -EPROTO},  // magic
      {12, 64, 4, -EPROTO},                 // header_size
      {16, 1, 4, -EPROTO},                  // slot_count
      {16, 1000, 4, -EPROTO},               // slot_count beyond the object's size
      {20, 32, 4, -EPROTO},                 // slot_header_size
      {24, 0, 8, -EPROTO},                  // capacity
      {24, 1ull << 40, 8, -EPROTO},         // capacity
      {32, 72, 8, -EPROTO},                 // stride
      {40, 1ull << 50, 8, -EPROTO},         // total_size
  };
  for (const Case& c : cases) {
    TempBus bus;
    { Pub p = OpenPub(bus.c_str(), 4, 64); }
    PatchHeader(bus.path(), c.off, &c.value, c.n);
    shmbus_sub* s = nullptr;
    EXPECT_EQ(c.want, shmbus_sub_open(bus.c_str(), 0, &s)) << "offset " << c.off;
  }
  TempBus bus;
  { Pub p = OpenPub(bus.c_str(), 4, 64); }
  std::string type(32, 'T');  // no terminating NUL
  PatchHeader(bus.path(), 64, type.data(), 32);
  shmbus_sub* s = nullptr;
  EXPECT_EQ(-EPROTO, shmbus_sub_open(bus.c_str(), 0, &s));
}

TEST(Validation, CorruptRecordLengthIsBadMessage) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str(), 4, 64);
  uint64_t x = 1;
  ASSERT_EQ(0, shmbus_pub_publish(p.get(), &x, 8));
  Sub s = OpenSub(bus.c_str());
  uint64_t huge = 1ull << 40;
  // Slot of version 1 is slot 1: header 4096 + 1 x stride (64 + 64), length at +16.
  PatchHeader(bus.path(), 4096 + 128 + 16, &huge, 8);
  std::vector<char> buf(1 << 16);
  EXPECT_EQ(-EBADMSG, shmbus_sub_read_latest(s.get(), buf.data(), buf.size(), nullptr));
  EXPECT_EQ(-EBADMSG, shmbus_sub_next(s.get(), buf.data(), buf.size(), nullptr));
}

TEST(Validation, CorruptSlotSequenceNeverHangsAReader) {
  for (uint64_t seq : {uint64_t(0), uint64_t(7), uint64_t(1) << 60}) {
    TempBus bus;
    Pub p = OpenPub(bus.c_str(), 4, 64);
    uint64_t x = 1;
    ASSERT_EQ(0, shmbus_pub_publish(p.get(), &x, 8));
    Sub s = OpenSub(bus.c_str());
    PatchHeader(bus.path(), 4096 + 128, &seq, 8);  // slot 1's seq: never 2 again
    uint64_t buf;
    EXPECT_EQ(-EBADMSG, shmbus_sub_read_latest(s.get(), &buf, 8, nullptr)) << seq;
    ssize_t n = shmbus_sub_next(s.get(), &buf, 8, nullptr);
    EXPECT_TRUE(n == -EBADMSG || n == -EAGAIN) << seq << ": " << n;
  }
}

// read_next() answers "nothing new" from the cursor's slot alone, without loading `latest`
// (bench/README.md, "Small-record fast path"): a `latest` that runs ahead of every slot is still
// corruption, reported once the reader has seen it (here through a wait).
TEST(Validation, LatestAheadOfTheSlotsIsBadMessageAfterAWait) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str(), 4, 64);
  uint64_t x = 1;
  ASSERT_EQ(0, shmbus_pub_publish(p.get(), &x, 8));
  Sub s = OpenSub(bus.c_str());
  ASSERT_EQ(0, shmbus_sub_seek(s.get(), SHMBUS_SEEK_NEW));  // cursor 2: slot 2 never written
  uint64_t buf;
  EXPECT_EQ(-EAGAIN, shmbus_sub_next(s.get(), &buf, 8, nullptr));
  uint64_t ahead = 3;
  PatchHeader(bus.path(), 128, &ahead, 8);  // latest = 3, but slots 2 and 3 hold nothing
  EXPECT_EQ(0, shmbus_sub_wait(s.get(), 0, SHMBUS_WAIT_SPIN));
  EXPECT_EQ(-EBADMSG, shmbus_sub_next(s.get(), &buf, 8, nullptr));
}

TEST(Admin, StatListAndRemove) {
  TempBus bus;
  {
    Pub p = OpenPub(bus.c_str(), 2, 10, "cfg");
    ASSERT_EQ(0, shmbus_pub_publish(p.get(), "x", 1));
  }
  shmbus_bus_info info;
  ASSERT_EQ(0, shmbus_stat(bus.c_str(), &info));
  EXPECT_STREQ("cfg", info.type);
  EXPECT_EQ(2u, info.slots);
  EXPECT_EQ(10u, info.capacity);
  EXPECT_EQ(1u, info.latest);
  EXPECT_EQ(getuid(), info.uid);
  bool found = false;
  auto cb = [](const char* name, void* arg) -> int {
    auto* pair = static_cast<std::pair<const char*, bool*>*>(arg);
    if (strcmp(name, pair->first) == 0) *pair->second = true;
    return 0;
  };
  std::pair<const char*, bool*> arg(bus.c_str(), &found);
  ASSERT_EQ(0, shmbus_list(cb, &arg));
  EXPECT_TRUE(found);
  EXPECT_EQ(7, shmbus_list([](const char*, void*) { return 7; }, nullptr))
      << "a callback stops the walk";
  int wake = shmbus_test::WakeShmid(bus);
  ASSERT_GE(wake, 0);
  ASSERT_EQ(0, shmbus_unlink(bus.c_str(), 0));
  for (const char* prefix : {"shmbus.", "shmbus-lock."})
    EXPECT_NE(0, access(bus.path(prefix).c_str(), F_OK)) << prefix;
  struct shmid_ds ds;
  EXPECT_NE(0, shmctl(wake, IPC_STAT, &ds)) << "the wake page is removed with the bus";
  EXPECT_EQ(-ENOENT, shmbus_unlink(bus.c_str(), 0));
}

TEST(Admin, ForcedRemoveTellsReaders) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str());
  Sub s = OpenSub(bus.c_str());
  ASSERT_EQ(0, shmbus_unlink(bus.c_str(), 1));
  EXPECT_EQ(-ESTALE, shmbus_sub_wait(s.get(), 1000000000, SHMBUS_WAIT_SLEEP));
  char c;
  EXPECT_EQ(-ESTALE, shmbus_sub_read_latest(s.get(), &c, 1, nullptr));
}

TEST(Wait, BadModesAreRefused) {
  TempBus bus;
  Pub p = OpenPub(bus.c_str());
  Sub s = OpenSub(bus.c_str());
  EXPECT_EQ(-EINVAL, shmbus_sub_wait(s.get(), 0, 3));
  EXPECT_EQ(-EINVAL, shmbus_sub_wait(s.get(), 0, 64));
  EXPECT_EQ(-EINVAL, shmbus_sub_wait(nullptr, 0, 0));
  shmbus_sub* s2 = nullptr;
  EXPECT_EQ(-EINVAL, shmbus_sub_open(bus.c_str(), 1, &s2));
}

}  // namespace

// shmbus.h: a writer forced out by `shmbus rm --force` (or a replacement) sees -ESTALE.
TEST(Writer, ForcedOutWriterGetsStale) {
  TempBus bus("forced");
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), nullptr, &p));
  ASSERT_EQ(0, shmbus_pub_publish(p, "a", 1));
  ASSERT_EQ(0, shmbus_unlink(bus.c_str(), 1));
  EXPECT_EQ(-ESTALE, shmbus_pub_publish(p, "b", 1));
  void* data = nullptr;
  EXPECT_EQ(-ESTALE, shmbus_pub_reserve(p, 1, &data));
  shmbus_pub_close(p);
}

// One version, from one source: the library says the version of the header it was built with.
TEST(Version, TheLibrarySaysItsVersion) { EXPECT_STREQ(SHMBUS_VERSION_STRING, shmbus_version()); }

// SHMBUS_PUB_CREATE: create or fail; an existing bus is neither adopted nor replaced.
TEST(Writer, CreateOnlyNeverAdoptsNorReplaces) {
  TempBus bus("create");
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.flags = SHMBUS_PUB_CREATE;
  o.slots = 4;
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), &o, &p));  // absent: created
  ASSERT_EQ(0, shmbus_pub_publish(p, "mine", 4));
  shmbus_pub_close(p);
  o.slots = 16;  // another geometry: would replace without the flag
  EXPECT_EQ(-EEXIST, shmbus_pub_open(bus.c_str(), &o, &p));
  EXPECT_EQ(nullptr, p);
  shmbus_bus_info info;
  ASSERT_EQ(0, shmbus_stat(bus.c_str(), &info));
  EXPECT_EQ(4u, info.slots) << "the existing bus was replaced";
  EXPECT_EQ(1u, info.latest);
  o.flags = 0x80;
  EXPECT_EQ(-EINVAL, shmbus_pub_open(bus.c_str(), &o, &p));
}
