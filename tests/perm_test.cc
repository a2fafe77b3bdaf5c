// Permissions and resources, as another user and in a private mount namespace: an owner-only bus cannot be opened, a group-readable one can
// by a member, a world-readable one by anyone; no reader can ever write a record; nobody can
// plant an object for the writer to adopt. Needs root to create and become a second user:
// run as non-root the tests report themselves skipped (and fail instead under CI=true).
#include <dirent.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <pwd.h>
#include <sys/stat.h>

#include <string>

#include "tests/test_util.h"

using shmbus_test::TempBus;

namespace {

const char* kUser = "shmbus-test";
const char* kGroup = "shmbus-testg";

bool InCI() {
  const char* ci = getenv("CI");
  return ci && *ci && strcmp(ci, "0") != 0;
}

// Run as non-root: skipped by name and reason; under CI=true a failure instead.
#define REQUIRE_ROOT()                                                                      \
  do {                                                                                      \
    if (geteuid() != 0) {                                                                   \
      if (InCI()) FAIL() << "CI must run the permission tests as root; never skip them";    \
      GTEST_SKIP() << "needs root to create and become a second user (useradd, setresuid)"; \
    }                                                                                       \
  } while (0)

struct Ids {
  uid_t uid;
  gid_t gid;    // the user's own primary group
  gid_t extra;  // kGroup, which the user is a member of
};

// Creates the test user and group once (idempotent), returns their ids.
Ids EnsureUser() {
  if (getgrnam(kGroup) == nullptr) {
    EXPECT_EQ(0, system("groupadd --system shmbus-testg >/dev/null 2>&1 || "
                        "getent group shmbus-testg >/dev/null"));
  }
  if (getpwnam(kUser) == nullptr) {
    EXPECT_EQ(0, system("useradd --system --no-create-home --shell /usr/sbin/nologin "
                        "--groups shmbus-testg shmbus-test >/dev/null 2>&1 || "
                        "getent passwd shmbus-test >/dev/null"));
  }
  struct passwd* pw = getpwnam(kUser);
  struct group* gr = getgrnam(kGroup);
  EXPECT_NE(nullptr, pw);
  EXPECT_NE(nullptr, gr);
  if (!pw || !gr) return Ids{0, 0, 0};
  return Ids{pw->pw_uid, pw->pw_gid, gr->gr_gid};
}

// In a child: become the test user (with or without kGroup), then run fn.
int AsUser(const Ids& ids, bool in_group, const std::function<int()>& fn) {
  pid_t pid = shmbus_test::Spawn([&] {
    gid_t groups[1] = {ids.extra};
    if (setgroups(in_group ? 1 : 0, groups) != 0) return 90;
    if (setresgid(ids.gid, ids.gid, ids.gid) != 0) return 91;
    if (setresuid(ids.uid, ids.uid, ids.uid) != 0) return 92;
    if (geteuid() != ids.uid) return 93;
    return fn();
  });
  return shmbus_test::Reap(pid, 30);
}

shmbus_pub* Create(const char* name, mode_t mode, gid_t gid = (gid_t)-1) {
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.mode = mode;
  o.gid = gid;
  o.capacity = 64;
  shmbus_pub* p = nullptr;
  EXPECT_EQ(0, shmbus_pub_open(name, &o, &p));
  if (p) {
    EXPECT_EQ(0, shmbus_pub_publish(p, "secret", 6));
  }
  return p;
}

TEST(Permissions, OwnerOnlyBusCannotBeOpenedByAnotherUser) {
  REQUIRE_ROOT();
  Ids ids = EnsureUser();
  TempBus bus("perm");
  shmbus_pub* p = Create(bus.c_str(), 0);  // the default
  EXPECT_EQ(0, AsUser(ids, true, [&] {
              shmbus_sub* s = nullptr;
              shmbus_bus_info info;
              if (shmbus_sub_open(bus.c_str(), 0, &s) != -EACCES) return 1;
              if (shmbus_stat(bus.c_str(), &info) != -EACCES) return 2;
              return 0;
            }));
  shmbus_pub_close(p);
}

// What a legitimate reader of @name may do, and what it must not be able to do.
int ReaderChecks(const char* name, const std::string& path, const std::string& lock) {
  shmbus_sub* s = nullptr;
  if (shmbus_sub_open(name, 0, &s) != 0) return 1;
  char buf[64];
  shmbus_record_info in;
  if (shmbus_sub_read_latest(s, buf, sizeof buf, &in) != 6 || memcmp(buf, "secret", 6)) return 2;
  shmbus_bus_info info;
  if (shmbus_sub_info(s, &info) != 0 || info.writer_alive != 1) return 3;
  // No write access to records, by any route.
  if (open(path.c_str(), O_RDWR) >= 0 || errno != EACCES) return 4;
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return 5;
  if (mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) != MAP_FAILED) return 6;
  if (fchmod(fd, 0666) == 0) return 7;
  close(fd);
  if (unlink(path.c_str()) == 0) return 8;  // /dev/shm is sticky
  // The writer's lock is out of reach: a reader cannot keep writers out.
  if (open(lock.c_str(), O_RDONLY) >= 0) return 9;
  shmbus_pub* p = nullptr;
  if (shmbus_pub_open(name, nullptr, &p) == 0) return 10;
  if (shmbus_unlink(name, 1) == 0) return 11;
  shmbus_sub_close(s);
  return 0;
}

TEST(Permissions, GroupReadableBusIsReadableByMembersOnly) {
  REQUIRE_ROOT();
  Ids ids = EnsureUser();
  TempBus bus("perm");
  shmbus_pub* p = Create(bus.c_str(), 0640, ids.extra);
  struct stat st;
  ASSERT_EQ(0, stat(bus.path().c_str(), &st));
  EXPECT_EQ(ids.extra, st.st_gid);
  EXPECT_EQ(0640u, st.st_mode & 0777);
  EXPECT_EQ(0660, shmbus_test::WakeMode(bus)) << "members may set the wake flag";
  EXPECT_EQ(0, AsUser(ids, true, [&] {
              return ReaderChecks(bus.c_str(), bus.path(), bus.path("shmbus-lock."));
            }));
  EXPECT_EQ(0, AsUser(ids, false, [&] {
              shmbus_sub* s = nullptr;
              return shmbus_sub_open(bus.c_str(), 0, &s) == -EACCES ? 0 : 1;
            }));
  shmbus_pub_close(p);
}

TEST(Permissions, WorldReadableBusIsReadableButNeverWritable) {
  REQUIRE_ROOT();
  Ids ids = EnsureUser();
  TempBus bus("perm");
  shmbus_pub* p = Create(bus.c_str(), 0644);
  EXPECT_EQ(0, AsUser(ids, false, [&] {
              return ReaderChecks(bus.c_str(), bus.path(), bus.path("shmbus-lock."));
            }));
  // The reader's wakeups work across users: it can announce that it sleeps (wake page 0666).
  pid_t child = shmbus_test::Spawn([&] {
    return AsUser(ids, false, [&] {
      shmbus_sub* s = nullptr;
      if (shmbus_sub_open(bus.c_str(), 0, &s) != 0) return 1;
      shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
      return shmbus_sub_wait(s, 20 * 1000000000LL, SHMBUS_WAIT_SLEEP) == 0 ? 0 : 2;
    });
  });
  EXPECT_TRUE(shmbus_test::Eventually([&] {
    shmbus_bus_info info;
    return shmbus_pub_info(p, &info) == 0 && info.sleepers == 1;
  })) << "a reader of another user could not announce its sleep";
  ASSERT_EQ(0, shmbus_pub_publish(p, "more", 4));
  EXPECT_EQ(0, shmbus_test::Reap(child, 30));
  shmbus_pub_close(p);
}

TEST(Permissions, NoSquatting) {
  REQUIRE_ROOT();
  Ids ids = EnsureUser();
  for (const char* prefix : {"shmbus.", "shmbus-lock."}) {
    TempBus bus("squat");
    std::string path = bus.path(prefix);
    ASSERT_EQ(0, AsUser(ids, false, [&] {
                int fd = open(path.c_str(), O_CREAT | O_EXCL | O_RDWR, 0666);
                if (fd < 0) return 1;
                fchmod(fd, 0666);
                return 0;
              }));
    shmbus_pub* p = nullptr;
    int rc = shmbus_pub_open(bus.c_str(), nullptr, &p);
    EXPECT_TRUE(rc == -EPERM || rc == -EACCES) << prefix << ": " << rc;
    EXPECT_EQ(nullptr, p);
    unlink(path.c_str());
  }
}

TEST(Permissions, ReaderMappingIsReadOnly) {
  TempBus bus("rom");
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), nullptr, &p));
  ASSERT_EQ(0, shmbus_pub_publish(p, "v1", 2));
  int status = shmbus_test::Reap(shmbus_test::Spawn([&] {
    shmbus_sub* s = nullptr;
    if (shmbus_sub_open(bus.c_str(), 0, &s) != 0) return 1;
    // Find the reader's mapping of the records object; it must be r--s.
    FILE* f = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned long lo = 0;
    char perms[8] = "";
    std::string path = bus.path();
    while (f && fgets(line, sizeof line, f)) {
      if (strstr(line, path.c_str()) && !strstr(line, "~")) {
        sscanf(line, "%lx-%*x %7s", &lo, perms);
        break;
      }
    }
    if (f) fclose(f);
    if (lo == 0) return 2;
    if (strcmp(perms, "r--s") != 0) return 3;
    signal(SIGSEGV, SIG_DFL);  // sanitizers catch SIGSEGV; we want the plain fault
    *reinterpret_cast<volatile char*>(lo + 128) = 1;  // must fault
    return 4;
  }));
  EXPECT_EQ(128 + SIGSEGV, status);
  char buf[4];
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s));
  EXPECT_EQ(2, shmbus_sub_read_latest(s, buf, sizeof buf, nullptr)) << "the bus is unharmed";
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}

}  // namespace

namespace {

// A full /dev/shm is -ENOSPC when the bus is created (fallocate), never a SIGBUS later, and
// leaves nothing behind. Runs in a private mount namespace with a 1 MiB tmpfs on /dev/shm.
TEST(Resources, FullDevShmIsENOSPCAtCreation) {
  REQUIRE_ROOT();
  int status = shmbus_test::Reap(shmbus_test::Spawn([] {
    if (unshare(CLONE_NEWNS) != 0) return 10;
    if (mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 11;
    if (mount("shm", "/dev/shm", "tmpfs", 0, "size=1m,mode=1777") != 0) return 12;
    shmbus_pub_opts o;
    shmbus_pub_opts_init(&o);
    o.capacity = 4u << 20;  // 8 slots x 4 MiB: far more than 1 MiB
    shmbus_pub* p = nullptr;
    int rc = shmbus_pub_open("enospc", &o, &p);
    if (rc != -ENOSPC) return 13;
    if (p != nullptr) return 14;
    // Nothing but the lock object may remain: no half-made bus, no temporary.
    DIR* d = opendir("/dev/shm");
    int left = 0;
    while (struct dirent* e = readdir(d))
      if (e->d_name[0] != '.' && strncmp(e->d_name, "shmbus-lock.", 12) != 0) left++;
    closedir(d);
    if (left != 0) return 15;
    // A bus that fits still works there.
    o.capacity = 1024;
    if (shmbus_pub_open("fits", &o, &p) != 0) return 16;
    if (shmbus_pub_publish(p, "ok", 2) != 0) return 17;
    shmbus_pub_close(p);
    shmbus_unlink("fits", 1);
    shmbus_unlink("enospc", 1);
    return 0;
  }));
  EXPECT_EQ(0, status) << "10-12: namespace setup; 13: not -ENOSPC; 15: objects left behind";
}

}  // namespace

// Issue 12, section 6: the wake page's group, hidepid, the wake page's creator, the reader's
// expected owner. Each needs root and the second user.
namespace {

// A replacement that leaves the group to the old bus (gid -1) used to give the new wake page
// the writer's own group: the group's readers then could not attach it and polled at the tick.
TEST(Permissions, ReplacedBusKeepsItsGroupOnTheWakePage) {
  REQUIRE_ROOT();
  Ids ids = EnsureUser();
  TempBus bus("permgrp");
  shmbus_pub_close(Create(bus.c_str(), 0640, ids.extra));
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.capacity = 128;  // another geometry: a new records object and a new wake page
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(bus.c_str(), &o, &p));
  struct stat st;
  ASSERT_EQ(0, stat(bus.path().c_str(), &st));
  EXPECT_EQ(ids.extra, st.st_gid) << "the records object keeps the group";
  struct shmid_ds ds;
  int wake = shmbus_test::WakeShmid(bus);
  ASSERT_EQ(0, shmctl(wake, IPC_STAT, &ds));
  EXPECT_EQ(ids.extra, ds.shm_perm.gid) << "the new wake page got another group";
  EXPECT_EQ(0660u, ds.shm_perm.mode & 0777);
  shmbus_pub_close(p);
}

// With /proc mounted hidepid=2, another user's /proc/PID does not exist for a reader: its
// live writer used to look dead (-EOWNERDEAD). kill(pid, 0) failing with EPERM now counts as
// alive. The reader runs in a private mount namespace with its own hidepid=2 /proc.
TEST(Permissions, WriterHiddenByHidepidIsAlive) {
  REQUIRE_ROOT();
  Ids ids = EnsureUser();
  TempBus bus("hidepid");
  shmbus_pub* p = Create(bus.c_str(), 0644);  // root's writer, alive
  pid_t writer = getpid();
  int status = shmbus_test::Reap(shmbus_test::Spawn([&] {
    if (unshare(CLONE_NEWNS) != 0) return 10;
    if (mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 11;
    if (mount("proc", "/proc", "proc", 0, "hidepid=2") != 0) return 12;
    if (setgroups(0, nullptr) != 0 || setresgid(ids.gid, ids.gid, ids.gid) != 0 ||
        setresuid(ids.uid, ids.uid, ids.uid) != 0)
      return 13;
    std::string proc = "/proc/" + std::to_string(writer);
    if (access(proc.c_str(), F_OK) == 0) return 14;  // not hidden: the test would prove nothing
    shmbus_bus_info info;
    if (shmbus_stat(bus.c_str(), &info) != 0) return 15;
    if (info.writer_alive != 1) return 16;
    shmbus_sub* s = nullptr;
    if (shmbus_sub_open(bus.c_str(), 0, &s) != 0) return 17;
    char buf[16];
    if (shmbus_sub_read_latest(s, buf, sizeof buf, nullptr) != 6) return 18;
    int rc = shmbus_sub_wait(s, 0, SHMBUS_WAIT_SLEEP);
    shmbus_sub_close(s);
    return rc == -ETIMEDOUT ? 0 : 19;
  }));
  EXPECT_EQ(0, status) << "10-13: namespace and user setup; 14: /proc/PID not hidden; "
                          "16: the live writer looks dead; 19: wait did not time out";
  shmbus_pub_close(p);
}

// The creator of a System V segment keeps full control of it after handing it to another uid
// (IPC_SET), and the wake page's first key is predictable. A segment another user created at
// that key and gave to the bus's owner must never become the bus's wake page.
TEST(Permissions, WakePageCreatedByAnotherUserIsNeverAdopted) {
  REQUIRE_ROOT();
  Ids ids = EnsureUser();
  TempBus bus("cuid");
  shmbus_pub_close(Create(bus.c_str(), 0644));
  int32_t key = 0;
  int fd = open(bus.path().c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(4, pread(fd, &key, 4, shmbus_test_header.wake_key));
  close(fd);
  // Gone: the next writer makes a new one, at the same derived key first.
  ASSERT_EQ(0, shmctl(shmbus_test::WakeShmid(bus), IPC_RMID, nullptr));
  auto* planted = shmbus_test::SharedNew<std::atomic<int>>();
  planted->store(-1);
  ASSERT_EQ(0, AsUser(ids, false, [&] {
              int id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0666);
              if (id < 0) return 1;
              struct shmid_ds ds;
              if (shmctl(id, IPC_STAT, &ds) != 0) return 2;
              ds.shm_perm.uid = 0;  // hand it to root, keep control as its creator
              if (shmctl(id, IPC_SET, &ds) != 0) return 3;
              planted->store(id);
              return 0;
            }));
  shmbus_pub* p = Create(bus.c_str(), 0644);
  int wake = shmbus_test::WakeShmid(bus);
  EXPECT_NE(planted->load(), wake) << "the writer adopted a segment another user controls";
  struct shmid_ds ds;
  ASSERT_EQ(0, shmctl(wake, IPC_STAT, &ds));
  EXPECT_EQ(0u, ds.shm_perm.cuid);
  shmbus_pub_close(p);
  shmctl(planted->load(), IPC_RMID, nullptr);
  shmbus_test::SharedDelete(planted);
}

// A bus planted by another user (with a valid header) is read as genuine by a plain open; a
// reader that names the owner it expects refuses it.
TEST(Permissions, ReaderCanRefuseABusOfAnotherUser) {
  REQUIRE_ROOT();
  Ids ids = EnsureUser();
  TempBus bus("planted");
  ASSERT_EQ(0, AsUser(ids, false, [&] {
              shmbus_pub_opts o;
              shmbus_pub_opts_init(&o);
              o.mode = 0644;
              shmbus_pub* p = nullptr;
              if (shmbus_pub_open(bus.c_str(), &o, &p) != 0) return 1;
              if (shmbus_pub_publish(p, "fake", 4) != 0) return 2;
              shmbus_pub_close(p);
              return 0;
            }));
  shmbus_sub* s = nullptr;
  ASSERT_EQ(0, shmbus_sub_open(bus.c_str(), 0, &s)) << "any owner";
  shmbus_sub_close(s);
  s = nullptr;
  EXPECT_EQ(-EPERM, shmbus_sub_open_owner(bus.c_str(), 0, 0, &s)) << "root's bus expected";
  EXPECT_EQ(nullptr, s);
  ASSERT_EQ(0, shmbus_sub_open_owner(bus.c_str(), ids.uid, 0, &s));
  shmbus_sub_close(s);
}

}  // namespace
