// Two attacks that once worked (found by this suite; see docs/RELIABILITY.md), each run
// against what the design promises:
//
// 1. The wake page used to be a /dev/shm file that readers opened O_RDWR, so a reader could
//    ftruncate() it and kill the writer with SIGBUS on its next access. It is now a System V
//    segment: a fixed size, removable and re-modable only by its owner.
// 2. Another local user could create the writer's temporary "shmbus.NAME~PID" in the sticky
//    /dev/shm first, making its O_EXCL create fail. The name now ends in 64 random bits.
#include <signal.h>

#include "tests/reliability/hostile.h"
#include "tests/reliability/procs.h"

namespace rel = shmbus_rel;

namespace {

TEST(Attacks, ResizingOrRemovingTheWakePageFailsAndHarmsNobody) {
  shmbus_test::TempBus bus("truncate");
  const char* name = bus.c_str();
  rel::CreateWorldReadable(name);
  rel::Shared* sh = shmbus_test::SharedNew<rel::Shared>();
  rel::HostileState* hs = shmbus_test::SharedNew<rel::HostileState>();
  pid_t writer = shmbus_test::Spawn([&] { return rel::WriterMain(name, sh, true); });
  ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->writer_lives.load() == 1; }, 10));
  pid_t reader = shmbus_test::Spawn([&] { return rel::ReaderMain(name, sh, 0, rel::Read::kNext); });
  pid_t hostile =
      shmbus_test::Spawn([&] { return rel::HostileMain(name, hs, rel::Attack::kTruncate); });
  usleep(1000000);
  hs->stop = 1;
  sh->stop = 1;
  int hostile_status = shmbus_test::Reap(hostile);
  int writer_status = shmbus_test::Reap(writer);
  int reader_status = shmbus_test::Reap(reader);
  printf("SUMMARY: wake-page attack rounds=%llu writer_status=%d (%s) reader_status=%d\n",
         (unsigned long long)hs->rounds.load(), writer_status,
         writer_status == 128 + SIGBUS ? "killed by SIGBUS" : "-", reader_status);
  EXPECT_EQ(0, hostile_status);
  EXPECT_GT(hs->rounds.load(), 10u);
  EXPECT_EQ(0, writer_status) << "a reader killed the writer through the wake page";
  if (hs->dropped.load()) {
    EXPECT_EQ(0, hs->wake_changed.load()) << "a reader removed or re-moded the wake page";
  }
  EXPECT_EQ(0, reader_status);
  shmbus_test::SharedDelete(hs);
  shmbus_test::SharedDelete(sh);
}

// The writer is a child running as an ordinary user (uid 4242; root could remove anything)
// that waits until a hostile user ("nobody") has created the temporary name it will use,
// then creates its bus.
TEST(Attacks, SquattedTemporaryNameDoesNotStopTheWriter) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to act as a second user";
  shmbus_test::TempBus bus("squat");
  const char* name = bus.c_str();
  int go[2];
  ASSERT_EQ(0, pipe(go));
  pid_t writer = shmbus_test::Spawn([&] {
    char c;
    if (setgroups(0, nullptr) != 0 || setgid(4242) != 0 || setuid(4242) != 0) return 11;
    if (read(go[0], &c, 1) != 1) return 10;
    shmbus_pub* p = nullptr;
    int rc = shmbus_pub_open(name, nullptr, &p);
    if (rc != 0) fprintf(stderr, "writer: shmbus_pub_open: %s\n", shmbus_strerror(rc));
    shmbus_pub_close(p);
    return rc == 0 ? 0 : 1;
  });
  std::string squat = bus.path() + "~" + std::to_string(writer);
  pid_t squatter = shmbus_test::Spawn([&] {
    rel::DropToNobody();
    int fd = open(squat.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    return fd >= 0 ? 0 : 1;
  });
  ASSERT_EQ(0, shmbus_test::Reap(squatter));
  ASSERT_EQ(1, write(go[1], "x", 1));
  int status = shmbus_test::Reap(writer);
  unlink(squat.c_str());
  shmbus_unlink(name, 1);
  close(go[0]);
  close(go[1]);
  printf("SUMMARY: squatted temporary: writer_status=%d\n", status);
  EXPECT_EQ(0, status) << "another user's file named like the writer's temporary stopped it";
}

}  // namespace
