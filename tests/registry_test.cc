// The reader registry (docs/PROTOCOL.md, Reader registry): every subscriber is listed while
// it is open, with what it is doing; dead ones are not listed and their entries are reused;
// administrative looks do not count themselves; a hostile scribble is bounded. Also: a bus
// of layout 1 (an older writer) is still readable.
#include <sys/shm.h>

#include <vector>

#include "tests/test_util.h"

using shmbus_test::TempBus;

namespace {

constexpr int kEntries = 1022;  // (65536 - 128) / 64
constexpr int64_t kSecond = 1000000000LL;

shmbus_pub* Create(const char* name) {
  shmbus_pub* p = nullptr;
  EXPECT_EQ(0, shmbus_pub_open(name, nullptr, &p));
  return p;
}

int Readers(const char* name, std::vector<shmbus_reader_info>* out = nullptr) {
  std::vector<shmbus_reader_info> v(kEntries + 1);
  int n = shmbus_readers(name, v.data(), v.size());
  if (out) out->assign(v.begin(), v.begin() + (n > 0 ? std::min<int>(n, v.size()) : 0));
  return n;
}

// The wake page, attached read-write as any reader may.
unsigned char* AttachWake(const TempBus& bus) {
  void* w = shmat(shmbus_test::WakeShmid(bus), nullptr, 0);
  return w == (void*)-1 ? nullptr : static_cast<unsigned char*>(w);
}

uint64_t* Owner(unsigned char* wake, int i) {
  return reinterpret_cast<uint64_t*>(wake + 128 + 64 * i);
}

}  // namespace

TEST(Registry, OpenRegistersCloseLeavesAndLooksDoNotCount) {
  TempBus bus("reg");
  shmbus_pub* p = Create(bus.c_str());
  EXPECT_EQ(0, Readers(bus.c_str()));
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  std::vector<shmbus_reader_info> r;
  ASSERT_EQ(1, Readers(bus.c_str(), &r));
  EXPECT_EQ(getpid(), r[0].pid);
  EXPECT_EQ(0, r[0].asleep);
  EXPECT_GT(r[0].opened_ns, 0u);
  shmbus_bus_info info;
  ASSERT_EQ(0, shmbus_stat(bus.c_str(), &info));  // does not register itself
  EXPECT_EQ(1, info.readers);
  EXPECT_EQ(0, info.sleepers);
  EXPECT_EQ(2u, info.layout_version);
  ASSERT_EQ(0, shmbus_pub_info(p, &info));
  EXPECT_EQ(1, info.readers);
  shmbus_sub_close(s);
  EXPECT_EQ(0, Readers(bus.c_str()));
  shmbus_pub_close(p);
}

TEST(Registry, ShowsSleepingSpinningCursorAndLost) {
  TempBus bus("modes");
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.slots = 4;
  o.capacity = 8;
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), &o, &p));
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  ASSERT_EQ(0, shmbus_sub_seek(s, SHMBUS_SEEK_NEW));
  for (int i = 0; i < 10; i++) ASSERT_EQ(0, shmbus_pub_publish(p, "abcdefgh", 8));
  char buf[8];
  shmbus_record_info in;
  ASSERT_EQ(8, shmbus_sub_next(s, buf, sizeof buf, &in));  // lapped: 1..7 lost
  EXPECT_EQ(7u, in.lost);
  while (shmbus_sub_next(s, buf, sizeof buf, &in) == 8) {
  }
  EXPECT_EQ(-ETIMEDOUT, shmbus_sub_wait(s, 0, SHMBUS_WAIT_SLEEP));
  std::vector<shmbus_reader_info> r;
  ASSERT_EQ(1, Readers(bus.c_str(), &r));
  EXPECT_EQ(11u, r[0].cursor);
  EXPECT_EQ(7u, r[0].lost);
  EXPECT_EQ(SHMBUS_WAIT_SLEEP, r[0].mode);
  EXPECT_EQ(0, r[0].asleep);  // it returned
  shmbus_sub_close(s);

  for (int mode : {SHMBUS_WAIT_SLEEP, SHMBUS_WAIT_SPIN}) {
    pid_t child = shmbus_test::Spawn([&] {
      shmbus_sub* cs = nullptr;
      if (shmbus_sub_open(bus.c_str(), 0, &cs) != 0) return 10;
      shmbus_sub_seek(cs, SHMBUS_SEEK_NEW);
      return shmbus_sub_wait(cs, 60 * kSecond, mode) == 0 ? 0 : 11;
    });
    ASSERT_TRUE(shmbus_test::Eventually([&] {
      std::vector<shmbus_reader_info> v;
      return Readers(bus.c_str(), &v) == 1 && v[0].pid == child &&
             (mode == SHMBUS_WAIT_SLEEP ? v[0].asleep : v[0].spinning) == 1 && v[0].mode == mode;
    })) << "mode "
        << mode;
    ASSERT_EQ(0, shmbus_pub_publish(p, "x", 1));
    EXPECT_EQ(0, shmbus_test::Reap(child, 60));
  }
  shmbus_pub_close(p);
}

TEST(Registry, ADeadReaderIsNotListedAndItsEntryIsReused) {
  TempBus bus("dead");
  shmbus_pub* p = Create(bus.c_str());
  int pipefd[2];
  ASSERT_EQ(0, pipe(pipefd));
  pid_t child = shmbus_test::Spawn([&] {
    shmbus_sub* s = nullptr;
    if (shmbus_sub_open(bus.c_str(), 0, &s) != 0) return 10;
    char c = 1;
    if (write(pipefd[1], &c, 1) != 1) return 11;
    pause();
    return 0;
  });
  char c;
  ASSERT_EQ(1, read(pipefd[0], &c, 1));
  EXPECT_EQ(1, Readers(bus.c_str()));
  kill(child, SIGKILL);
  EXPECT_EQ(128 + SIGKILL, shmbus_test::Reap(child));
  EXPECT_EQ(0, Readers(bus.c_str())) << "a killed reader is still listed";

  // Fill every entry with dead owners (pid 1 with a start time it does not have): a new
  // reader reclaims one.
  unsigned char* wake = AttachWake(bus);
  ASSERT_NE(nullptr, wake);
  for (int i = 0; i < kEntries; i++) *Owner(wake, i) = 1 | (999999ull << 22);
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  std::vector<shmbus_reader_info> r;
  ASSERT_EQ(1, Readers(bus.c_str(), &r));
  EXPECT_EQ(getpid(), r[0].pid);
  shmbus_sub_close(s);
  shmdt(wake);
  close(pipefd[0]);
  close(pipefd[1]);
  shmbus_pub_close(p);
}

TEST(Registry, AFullRegistryStillLetsReadersRead) {
  TempBus bus("full");
  shmbus_pub* p = Create(bus.c_str());
  std::vector<shmbus_sub*> subs(kEntries);
  for (auto& s : subs) ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  EXPECT_EQ(kEntries, Readers(bus.c_str()));
  shmbus_sub* extra = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &extra));  // unregistered, but a reader
  EXPECT_EQ(kEntries, Readers(bus.c_str()));
  ASSERT_EQ(0, shmbus_pub_publish(p, "y", 1));
  char buf[4];
  EXPECT_EQ(1, shmbus_sub_read_latest(extra, buf, sizeof buf, nullptr));
  shmbus_sub_close(extra);
  for (auto s : subs) shmbus_sub_close(s);
  EXPECT_EQ(0, Readers(bus.c_str()));
  shmbus_pub_close(p);
}

// Any reader may write the wake page: garbage there is bounded (no crash, no dead or
// invented pids listed, modes in range) and never stops records or wakes.
TEST(Registry, AHostileScribbleIsBounded) {
  TempBus bus("scribble");
  shmbus_pub* p = Create(bus.c_str());
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  unsigned char* wake = AttachWake(bus);
  ASSERT_NE(nullptr, wake);
  std::mt19937_64 rng(12345);
  for (int i = 64; i < 65536; i += 8) {  // leases and registry
    uint64_t x = rng();
    memcpy(wake + i, &x, 8);
  }
  // One entry that names this live process, with an impossible mode and huge numbers.
  uint64_t self = 0;
  {
    FILE* f = fopen("/proc/self/stat", "re");
    ASSERT_NE(nullptr, f);
    char buf[1024];
    ASSERT_NE(nullptr, fgets(buf, sizeof buf, f));
    fclose(f);
    char* q = strrchr(buf, ')');
    for (int field = 2; field < 22 && *q; q++)
      if (*q == ' ') field++;
    self = (uint64_t)getpid() | (strtoull(q, nullptr, 10) << 22);
  }
  *Owner(wake, 7) = self;
  reinterpret_cast<uint32_t*>(wake + 128 + 64 * 7)[2] = 0xffffffffu;  // state
  std::vector<shmbus_reader_info> r;
  int n = Readers(bus.c_str(), &r);
  ASSERT_GE(n, 1);
  EXPECT_LE(n, kEntries);
  for (auto& e : r) {
    EXPECT_EQ(getpid(), e.pid) << "an invented reader was listed";
    EXPECT_GE(e.mode, 0);
    EXPECT_LE(e.mode, 2);
  }
  ASSERT_EQ(0, shmbus_pub_publish(p, "z", 1));
  EXPECT_EQ(0, shmbus_sub_wait(s, 30 * kSecond, SHMBUS_WAIT_SLEEP));
  shmdt(wake);
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}

// Layout 1 (a bus made by an older writer) stays readable: records, waits (polled at the
// tick), no registry; a layout-2 writer replaces it, and its old readers are told.
TEST(Layout1, ABusOfAnOlderWriterIsReadableAndReplacedByANewWriter) {
  TempBus bus("v1");
  shmbus_pub* p = Create(bus.c_str());
  ASSERT_EQ(0, shmbus_pub_publish(p, "old", 3));
  shmbus_pub_close(p);
  int fd = open(bus.path().c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  uint32_t one = 1;
  ASSERT_EQ(4, pwrite(fd, &one, 4, shmbus_test_header.layout_version));
  close(fd);
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  char buf[8];
  shmbus_record_info in;
  ASSERT_EQ(3, shmbus_sub_read_latest(s, buf, sizeof buf, &in));
  EXPECT_EQ(0, memcmp(buf, "old", 3));
  shmbus_bus_info info;
  ASSERT_EQ(0, shmbus_sub_info(s, &info));
  EXPECT_EQ(1u, info.layout_version);
  EXPECT_EQ(-1, info.readers);
  EXPECT_EQ(-ENOTSUP, shmbus_readers(bus.c_str(), nullptr, 0));
  EXPECT_EQ(-EOWNERDEAD, shmbus_sub_wait(s, 0, SHMBUS_WAIT_SLEEP));  // its writer closed
  p = Create(bus.c_str());  // a layout-2 writer: replaces it
  EXPECT_EQ(-ESTALE, shmbus_sub_wait(s, 30 * kSecond, SHMBUS_WAIT_SLEEP));
  shmbus_sub_close(s);
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  ASSERT_EQ(0, shmbus_sub_info(s, &info));
  EXPECT_EQ(2u, info.layout_version);
  EXPECT_EQ(1, Readers(bus.c_str()));
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}
