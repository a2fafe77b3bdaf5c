// view_fixture.h - what the view tests share: a unique bus that is always removed, a writer
// thread publishing version-derived payloads, and the reader's checker.
#ifndef SHMBUS_TESTS_VIEW_FIXTURE_H
#define SHMBUS_TESTS_VIEW_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/shmbus.h"
#include "view/shmbus_view.h"

namespace viewtest {

// Every payload word is derived from the record's version: word i = version * kMul + i. A
// reader that sees any other word looks at a torn, overwritten or freed (poisoned) snapshot.
constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;

inline std::string UniqueBusName(const char *what) {
  std::random_device rd;
  char buf[96];
  snprintf(buf, sizeof buf, "viewtest-%s-%d-%08x", what, (int)getpid(), (unsigned)rd());
  return buf;
}

// Remove every bus of these tests whose creating process is gone (a death-test child that
// aborted, or a run a sanitizer halted): names are viewtest-WHAT-PID-RANDOM.
inline void SweepDeadBuses() {
  static const char *const prefixes[] = {"shmbus.", "shmbus-lock."};
  DIR *d = opendir("/dev/shm");
  if (d == nullptr) return;
  while (struct dirent *e = readdir(d)) {
    for (const char *pre : prefixes) {
      size_t n = strlen(pre);
      if (strncmp(e->d_name, pre, n) != 0 || strncmp(e->d_name + n, "viewtest-", 9) != 0) continue;
      std::string name = e->d_name + n;
      size_t last = name.rfind('-');
      size_t prev = last == std::string::npos ? last : name.rfind('-', last - 1);
      if (prev == std::string::npos) continue;
      int pid = atoi(name.c_str() + prev + 1);
      if (pid <= 0 || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH) continue;
      shmbus_unlink(name.c_str(), 1);
      unlinkat(dirfd(d), e->d_name, 0);  // whatever shmbus_unlink did not find
    }
  }
  closedir(d);
}

// A bus with a writer; removed (all three objects) when the object dies, even on failure.
class Bus {
 public:
  explicit Bus(const char *what, uint64_t capacity = 4096, uint32_t slots = 8)
      : name_(UniqueBusName(what)) {
    Open(capacity, slots);
  }
  ~Bus() {
    shmbus_pub_close(pub_);
    shmbus_unlink(name_.c_str(), 1);
  }
  // (Re)open the writer: same geometry adopts the bus, another one replaces it.
  void Open(uint64_t capacity, uint32_t slots = 8) {
    struct shmbus_pub_opts o;
    shmbus_pub_opts_init(&o);
    o.capacity = capacity;
    o.slots = slots;
    shmbus_pub_close(pub_);
    pub_ = nullptr;
    int rc = shmbus_pub_open(name_.c_str(), &o, &pub_);
    EXPECT_EQ(0, rc) << shmbus_strerror(rc);
  }
  void CloseWriter() {
    shmbus_pub_close(pub_);
    pub_ = nullptr;
  }
  // Publish the next version with @len bytes of version-derived words (len % 8 == 0).
  uint64_t Publish(size_t len) {
    void *data = nullptr;
    uint64_t v = shmbus_pub_version(pub_) + 1;
    int rc = shmbus_pub_reserve(pub_, len, &data);
    EXPECT_EQ(0, rc) << shmbus_strerror(rc);
    if (rc != 0) return 0;
    uint64_t *w = static_cast<uint64_t *>(data);
    for (size_t i = 0; i < len / 8; i++) w[i] = v * kMul + i;
    EXPECT_EQ(0, shmbus_pub_commit(pub_, len));
    return v;
  }
  const char *name() const { return name_.c_str(); }
  shmbus_pub *pub() { return pub_; }

 private:
  std::string name_;
  shmbus_pub *pub_ = nullptr;
};

// Check @s in place (inside the critical section). Return 0 when every word matches its
// version, else the index + 1 of the first bad word (or of a bad length).
inline uint64_t BadWord(const shmbus_view_snap *s, uint64_t want_len) {
  uint64_t version = s->version, len = s->length;
  if (len != want_len) return UINT64_MAX;
  const volatile uint64_t *w = static_cast<const volatile uint64_t *>(s->data);
  for (uint64_t i = 0; i < len / 8; i++)
    if (w[i] != version * kMul + i) return i + 1;
  if (s->version != version) return UINT64_MAX;  // poisoned while we looked
  return 0;
}

inline int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

inline void SleepUs(long us) { std::this_thread::sleep_for(std::chrono::microseconds(us)); }

// RAII registration for reader threads.
struct Registered {
  Registered() { shmbus_view_thread_register(); }
  ~Registered() { shmbus_view_thread_unregister(); }
};

struct StressParams {
  int readers = 4;
  size_t len = 4096;
  unsigned history = 1;
  int records = 1000;
  bool exit_on_failure = false;  // negative control: print the first bad read and _exit(3)
  int64_t deadline_ns = 60ll * 1000000000;
};

struct StressResult {
  uint64_t reads = 0, older_checked = 0, failures = 0, published = 0;
  std::string first_failure;
};

// Many readers check every snapshot they see (and the history chain) in place, while a writer
// publishes @records records and the view follows. Readers stop once they have seen the
// writer's last version.
inline StressResult RunStress(const StressParams &p) {
  StressResult r;
  Bus bus("stress", p.len);
  struct shmbus_view_opts o;
  shmbus_view_opts_init(&o);
  o.history = p.history;
  shmbus_view *v = nullptr;
  int rc = shmbus_view_open(bus.name(), &o, &v);
  EXPECT_EQ(0, rc) << shmbus_strerror(rc);
  if (rc != 0) return r;
  std::atomic<uint64_t> final_version{0}, reads{0}, older{0}, failures{0};
  std::atomic<bool> failure_taken{false};
  const int64_t deadline = NowNs() + p.deadline_ns;

  auto fail = [&](const std::string &what) {
    failures.fetch_add(1);
    if (p.exit_on_failure) {
      shmbus_unlink(bus.name(), 1);  // _exit skips the destructors
      fprintf(stderr, "checker: %s\n", what.c_str());
      fflush(stderr);
      _exit(3);
    }
    if (!failure_taken.exchange(true)) r.first_failure = what;
  };

  auto reader = [&]() {
    Registered reg;
    uint64_t last_seq = 0, last_version = 0, n = 0, nolder = 0;
    for (uint64_t iter = 0;; iter++) {
      uint64_t seen_version = 0;
      char why[200] = "";
      shmbus_view_read_lock();
      const shmbus_view_snap *s = shmbus_view_latest(v);
      if (s != nullptr) {
        uint64_t bad = BadWord(s, p.len);
        if (bad) {
          snprintf(why, sizeof why,
                   "snapshot seq %llu version %llu: word %llu is wrong (torn or freed)",
                   (unsigned long long)s->seq, (unsigned long long)s->version,
                   (unsigned long long)(bad - 1));
        } else if (s->seq < last_seq || s->version < last_version) {
          snprintf(why, sizeof why, "went backwards: seq %llu after %llu",
                   (unsigned long long)s->seq, (unsigned long long)last_seq);
        }
        last_seq = s->seq;
        last_version = seen_version = s->version;
        unsigned depth = 1;
        for (const shmbus_view_snap *q = s, *b; !why[0] && (b = shmbus_view_older(q)); q = b) {
          depth++;
          nolder++;
          if (BadWord(b, p.len) || b->seq + 1 != q->seq || b->version >= q->version)
            snprintf(why, sizeof why, "history: seq %llu under seq %llu is wrong",
                     (unsigned long long)b->seq, (unsigned long long)q->seq);
          else if (depth > p.history)
            snprintf(why, sizeof why, "history longer than %u", p.history);
        }
        n++;
      }
      shmbus_view_read_unlock();
      if (why[0]) fail(why);
      uint64_t fin = final_version.load(std::memory_order_acquire);
      if (fin != 0 && seen_version == fin) break;
      if (NowNs() > deadline) {
        fail("deadline: the reader never saw the last version");
        break;
      }
      if (iter % 64 == 63) SleepUs(10);
      else std::this_thread::yield();
    }
    reads.fetch_add(n);
    older.fetch_add(nolder);
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < p.readers; i++) threads.emplace_back(reader);
  uint64_t last = 0;
  struct shmbus_view_stats st;
  for (int i = 0; i < p.records; i++) {
    last = bus.Publish(p.len);
    SleepUs(20);
  }
  // On a loaded machine the follower may have run only once in those few milliseconds: go on
  // until it has published twice (the state the test needs), within the deadline.
  while (shmbus_view_stats(v, &st) == 0 && st.published < 2 && NowNs() < deadline) {
    last = bus.Publish(p.len);
    SleepUs(1000);
  }
  final_version.store(last, std::memory_order_release);
  for (auto &t : threads) t.join();
  shmbus_view_stats(v, &st);
  r.published = st.published;
  shmbus_view_close(v);
  r.reads = reads.load();
  r.older_checked = older.load();
  r.failures = failures.load();
  return r;
}

}  // namespace viewtest

#endif  // SHMBUS_TESTS_VIEW_FIXTURE_H
