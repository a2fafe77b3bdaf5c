// test_util.h - helpers shared by the core tests: unique bus names that clean up after
// themselves, child processes with deadlines, shared counters, version-derived payloads.
#ifndef SHMBUS_TEST_UTIL_H
#define SHMBUS_TEST_UTIL_H

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>

#include "core/shmbus.h"
#include "tests/header_offsets.h"

namespace shmbus_test {

// A bus name unique to this process and call; the bus is removed when the object dies,
// whether the test passed or not.
class TempBus {
 public:
  explicit TempBus(const char* tag = "t") {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    char buf[96];
    snprintf(buf, sizeof buf, "test-%s-%d-%u-%08x", tag, getpid(), counter++, rd());
    name_ = buf;
  }
  ~TempBus() { shmbus_unlink(name_.c_str(), 1); }
  const char* c_str() const { return name_.c_str(); }
  std::string path(const char* prefix = "shmbus.") const {
    return "/dev/shm/" + std::string(prefix) + name_;
  }

 private:
  std::string name_;
};

// The 32-bit header field at @offset of @bus's records object, @dflt if it cannot be read.
inline int HeaderInt(const TempBus& bus, size_t offset, int dflt) {
  int v = dflt, fd = open(bus.path().c_str(), O_RDONLY);
  if (fd >= 0 && pread(fd, &v, sizeof v, (off_t)offset) != sizeof v) v = dflt;
  if (fd >= 0) close(fd);
  return v;
}

// The System V id of a bus's wake page (the header's wake_shmid, docs/PROTOCOL.md), -1 if none.
inline int WakeShmid(const TempBus& bus) {
  return HeaderInt(bus, shmbus_test_header.wake_shmid, -1);
}

// The System V key of a bus's wake page (the header's wake_key, stored before the segment is
// made), 0 if none.
inline int WakeKey(const TempBus& bus) { return HeaderInt(bus, shmbus_test_header.wake_key, 0); }

// True while @pid is blocked in the futex system call (/proc/PID/syscall names it): a sleeper
// queued on the wake word, so a publish's wake (not an EAGAIN) ends its wait.
inline bool InFutexWait(pid_t pid) {
  char path[64], line[128] = {0};
  snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
  FILE* f = fopen(path, "re");
  if (f == nullptr) return false;
  bool in = fgets(line, sizeof line, f) != nullptr && atol(line) == SYS_futex;
  fclose(f);
  return in;
}

// Whether the reader registry of @bus lists process @pid asleep in a wait for version @cursor
// (subscribed, positioned, and announced in the wake word: a publish of @cursor now wakes it).
// A readiness probe that observes the state itself, never a proxy such as a sleep.
inline bool ReaderAsleep(const char* bus, pid_t pid, uint64_t cursor) {
  shmbus_reader_info r[64];
  int n = shmbus_readers(bus, r, 64);
  for (int i = 0; i < n && i < 64; i++)
    if (r[i].pid == pid && r[i].asleep && r[i].cursor == cursor) return true;
  return false;
}

// Whether process @pid is in a wait (spinning or asleep) for version @cursor of @bus, by the
// registry: a publish of @cursor now reaches it.
inline bool ReaderWaiting(const char* bus, pid_t pid, uint64_t cursor) {
  shmbus_reader_info r[64];
  int n = shmbus_readers(bus, r, 64);
  for (int i = 0; i < n && i < 64; i++)
    if (r[i].pid == pid && (r[i].asleep || r[i].spinning) && r[i].cursor == cursor) return true;
  return false;
}

// The mode of a bus's wake page, or -1 when it does not exist.
inline int WakeMode(const TempBus& bus) {
  struct shmid_ds ds;
  int id = WakeShmid(bus);
  if (id < 0 || shmctl(id, IPC_STAT, &ds) != 0) return -1;
  return ds.shm_perm.mode & 0777;
}

inline int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Memory shared with forked children (anonymous, MAP_SHARED), for counters and flags.
template <typename T>
T* SharedNew() {
  void* p = mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) abort();
  return new (p) T();
}
template <typename T>
void SharedDelete(T* p) {
  p->~T();
  munmap(p, sizeof(T));
}

// Runs fn in a child process; the child's exit status is fn's return value. A child never
// returns into gtest: it _exit()s. A child still running after deadline_s is SIGKILLed.
inline pid_t Spawn(const std::function<int()>& fn) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(120);  // a hung child never outlives the test by much
    _exit(fn());
  }
  return pid;
}

// Waits for pid; returns its exit code, 128+signal if killed, or -1 on timeout (then kills it).
inline int Reap(pid_t pid, double deadline_s = 60) {
  int64_t end = NowNs() + int64_t(deadline_s * 1e9);
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) return -2;
    if (NowNs() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    usleep(1000);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -3;
}

// Polls cond every ms until true or deadline; returns whether it became true.
inline bool Eventually(const std::function<bool()>& cond, double deadline_s = 30) {
  int64_t end = NowNs() + int64_t(deadline_s * 1e9);
  while (!cond()) {
    if (NowNs() > end) return false;
    usleep(1000);
  }
  return true;
}

// Version-derived payloads: byte i of version v's record is byte (i % 8) of word(v, i / 8).
inline uint64_t Word(uint64_t v, uint64_t i) {
  return v * 0x9E3779B97F4A7C15ull + i * 0x100000001b3ull + 1;
}
inline void Fill(uint64_t v, unsigned char* buf, size_t len) {
  for (size_t i = 0; i < len; i += 8) {
    uint64_t w = Word(v, i / 8);
    memcpy(buf + i, &w, len - i < 8 ? len - i : 8);
  }
}
// True when buf holds exactly version v's record of length len.
inline bool Check(uint64_t v, const unsigned char* buf, size_t len) {
  for (size_t i = 0; i < len; i += 8) {
    uint64_t w = Word(v, i / 8);
    if (memcmp(buf + i, &w, len - i < 8 ? len - i : 8) != 0) return false;
  }
  return true;
}

}  // namespace shmbus_test

#endif  // SHMBUS_TEST_UTIL_H
