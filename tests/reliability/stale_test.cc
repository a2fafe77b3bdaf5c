// Stale objects: after kill -9 of every process of some buses, the buses are still listed,
// stat shows their writers dead (not closed), nobody holds their locks, and shmbus_unlink()
// removes them without force, leaving nothing of theirs in /dev/shm. A writer killed while it
// creates a bus must not leave anything behind either.
// The same through the command line: `shmbus ls` shows them dead, `shmbus rm` removes them.
#include <dirent.h>
#include <fcntl.h>
#include <sys/shm.h>
#include <signal.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/reliability/procs.h"

using shmbus_test::TempBus;
namespace rel = shmbus_rel;

namespace {

// Every /dev/shm entry whose name contains @name (all three objects and any temporary).
std::vector<std::string> ObjectsOf(const std::string& name) {
  std::vector<std::string> found;
  DIR* d = opendir("/dev/shm");
  if (!d) return found;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.find(name) != std::string::npos) found.push_back(n);
  }
  closedir(d);
  return found;
}

int WakeShmid(const std::string& name) {
  int id = -1, fd = open(("/dev/shm/shmbus." + name).c_str(), O_RDONLY);
  if (fd >= 0 && pread(fd, &id, sizeof id, 216) != sizeof id) id = -1;  // PROTOCOL.md
  if (fd >= 0) close(fd);
  return id;
}

// How many System V segments process @pid created at or after @since (time(), seconds) and are
// still there: wake pages it leaked. The creator pid alone is not enough: pids are recycled,
// and a segment some other process of that pid left on the machine (a test killed by its
// timeout hours ago) would be counted. A segment of an earlier process with the same pid has
// an earlier creation time (a pid is not reused within the second it was taken).
int SegmentsCreatedBy(pid_t pid, time_t since) {
  struct shm_info info;
  int n = 0, max = shmctl(0, SHM_INFO, reinterpret_cast<struct shmid_ds*>(&info));
  for (int i = 0; i <= max; i++) {
    struct shmid_ds ds;
    if (shmctl(i, SHM_STAT, &ds) >= 0 && ds.shm_cpid == pid && ds.shm_ctime >= since) n++;
  }
  return n;
}

std::set<std::string> Listed() {
  std::set<std::string> names;
  shmbus_list(
      [](const char* n, void* arg) {
        static_cast<std::set<std::string>*>(arg)->insert(n);
        return 0;
      },
      &names);
  return names;
}

TEST(Stale, DeadBusesAreListedAsDeadAndRemovedCleanly) {
  TempBus a("stale-a"), b("stale-b");
  rel::Shared* sh = shmbus_test::SharedNew<rel::Shared>();
  std::vector<pid_t> pids;
  for (const char* name : {a.c_str(), b.c_str()}) {
    uint64_t lives = sh->writer_lives.load();
    pids.push_back(shmbus_test::Spawn([&, name] { return rel::WriterMain(name, sh, true); }));
    ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->writer_lives.load() > lives; }, 10));
    int idx = int(pids.size());
    pids.push_back(shmbus_test::Spawn(
        [&, name, idx] { return rel::ReaderMain(name, sh, idx, rel::Read::kNext); }));
  }
  ASSERT_TRUE(
      shmbus_test::Eventually([&] { return sh->r[1].records > 0 && sh->r[3].records > 0; }, 10));
  for (pid_t p : pids) kill(p, SIGKILL);
  for (pid_t p : pids) EXPECT_EQ(128 + SIGKILL, shmbus_test::Reap(p));

  std::set<std::string> listed = Listed();
  for (const char* name : {a.c_str(), b.c_str()}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(1u, listed.count(name)) << "a dead bus must still be listed";
    shmbus_bus_info info;
    ASSERT_EQ(0, shmbus_stat(name, &info));
    EXPECT_EQ(0, info.writer_alive);
    EXPECT_EQ(0, info.writer_closed) << "killed, not closed";
    EXPECT_NE(0, info.writer_pid);
    EXPECT_GT(info.latest, 0u);
    EXPECT_EQ(0, shmbus_lock_holder(name));
    EXPECT_EQ(2u, ObjectsOf(name).size());  // records and lock; the wake page is System V
    int wake = WakeShmid(name);
    EXPECT_GE(wake, 0);
    EXPECT_EQ(0, shmbus_unlink(name, 0)) << "a dead writer's bus needs no force";
    struct shmid_ds ds;
    EXPECT_NE(0, shmctl(wake, IPC_STAT, &ds)) << "its wake page was left behind";
    EXPECT_EQ(std::vector<std::string>(), ObjectsOf(name)) << "left behind in /dev/shm";
    EXPECT_EQ(-ENOENT, shmbus_stat(name, &info));
  }
  listed = Listed();
  EXPECT_EQ(0u, listed.count(a.c_str()));
  EXPECT_EQ(0u, listed.count(b.c_str()));
  shmbus_test::SharedDelete(sh);
}

// Runs @cmd (a shell command line); returns its exit status and stdout.
int Shell(const std::string& cmd, std::string* out) {
  out->clear();
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
  int st = pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// The line of `shmbus ls --json` for bus @name, or "".
std::string LsLine(const std::string& ls, const std::string& name) {
  std::string key = "\"name\":\"" + name + "\"";
  size_t at = ls.find(key);
  if (at == std::string::npos) return "";
  size_t begin = ls.rfind('\n', at), end = ls.find('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return ls.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// The CLI (//tools:shmbus, from the test's runfiles) on buses whose processes were killed.
TEST(Stale, ShmbusToolShowsDeadBusesAndRemovesThem) {
  const std::string tool = "tools/shmbus";
  ASSERT_EQ(0, access(tool.c_str(), X_OK)) << "no " << tool << " in the runfiles";
  TempBus bus("stale-cli");
  const char* name = bus.c_str();
  rel::Shared* sh = shmbus_test::SharedNew<rel::Shared>();
  pid_t w = shmbus_test::Spawn([&] { return rel::WriterMain(name, sh, true); });
  ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->writer_lives.load() == 1; }, 10));
  pid_t r = shmbus_test::Spawn([&] { return rel::ReaderMain(name, sh, 0, rel::Read::kNext); });
  ASSERT_TRUE(shmbus_test::Eventually([&] { return sh->r[0].records > 0; }, 10));
  std::string out;
  ASSERT_EQ(0, Shell(tool + " ls --json", &out));
  EXPECT_NE(std::string::npos, LsLine(out, name).find("\"writer_alive\":true")) << out;
  kill(w, SIGKILL);
  kill(r, SIGKILL);
  shmbus_test::Reap(w);
  shmbus_test::Reap(r);

  ASSERT_EQ(0, Shell(tool + " ls --json", &out));
  std::string line = LsLine(out, name);
  EXPECT_NE(std::string::npos, line.find("\"writer_alive\":false")) << "ls: " << out;
  ASSERT_EQ(0, Shell(tool + " ls", &out));
  {
    size_t at =
        out.find(std::string("\n") + name + " ");  // the text row of this bus: WRITER says died
    size_t end = at == std::string::npos ? at : out.find('\n', at + 1);
    std::string row = at == std::string::npos ? "" : out.substr(at + 1, end - at - 1);
    EXPECT_NE(std::string::npos, row.find(" died ")) << out;
  }
  ASSERT_EQ(0, Shell(tool + " stat " + name + " --json", &out));
  EXPECT_NE(std::string::npos, out.find("\"writer_state\":\"died\"")) << out;
  EXPECT_EQ(0, Shell(tool + " rm " + name, &out)) << "rm of a dead writer's bus needs no --force";
  EXPECT_EQ(std::vector<std::string>(), ObjectsOf(name)) << "left behind in /dev/shm";
  ASSERT_EQ(0, Shell(tool + " ls --json", &out));
  EXPECT_EQ("", LsLine(out, name));
  EXPECT_EQ(3, Shell(tool + " stat " + name + " 2>/dev/null", &out)) << "exit 3: no such bus";
  shmbus_test::SharedDelete(sh);
}

// Writers SIGKILLed at random moments of shmbus_pub_open() on a new bus big enough that
// creating it takes a while (allocate and touch 32 MiB): the next writer of the name, or
// shmbus_unlink(), must leave nothing of the dead one in /dev/shm, temporaries included.
TEST(Stale, WriterKilledWhileCreatingLeavesNothingBehind) {
  std::mt19937 rng(std::random_device{}());
  int killed_mid_open = 0, leftovers = 0;
  for (int round = 0; round < 12; round++) {
    TempBus bus("stale-create");
    const char* name = bus.c_str();
    std::atomic<int>* opened = shmbus_test::SharedNew<std::atomic<int>>();
    time_t spawned = time(nullptr);
    pid_t w = shmbus_test::Spawn([&] {
      rel::DieWithParent();
      shmbus_pub_opts o;
      shmbus_pub_opts_init(&o);
      o.slots = 2;
      o.capacity = 16u << 20;
      shmbus_pub* p = nullptr;
      if (shmbus_pub_open(name, &o, &p) != 0) return 1;
      *opened = 1;
      pause();
      return 0;
    });
    usleep(rng() % 80000);
    kill(w, SIGKILL);
    shmbus_test::Reap(w);
    if (!*opened) killed_mid_open++;
    if (round % 2) {
      // A new writer cleans up after its killed predecessor: the bus's three objects only.
      shmbus_pub* p = nullptr;
      EXPECT_EQ(0, shmbus_pub_open(name, nullptr, &p));
      shmbus_pub_close(p);
      EXPECT_EQ(2u, ObjectsOf(name).size());
    }
    shmbus_unlink(name, 0);
    EXPECT_EQ(0, SegmentsCreatedBy(w, spawned)) << "the killed writer's wake page was left behind";
    std::vector<std::string> left = ObjectsOf(name);
    for (const std::string& f : left) {
      ADD_FAILURE() << "left in /dev/shm after kill -9 and shmbus_unlink: " << f;
      unlink(("/dev/shm/" + f).c_str());
      leftovers++;
    }
    shmbus_test::SharedDelete(opened);
  }
  printf("SUMMARY: stale-create rounds=12 killed_mid_open=%d leftovers=%d\n", killed_mid_open,
         leftovers);
}

}  // namespace
