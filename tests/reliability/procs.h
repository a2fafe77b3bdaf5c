// procs.h - the writer and reader processes of the chaos and soak tests, and the counters
// they share with the supervising test through anonymous shared memory.
//
// The writer publishes version-derived records (shmbus_test::Fill, length LenOf(v)); every
// reader checks each record it gets (shmbus_test::Check), that versions only go up, and that
// no wait overruns its timeout. Readers open the bus once per life and never reopen it.
#ifndef SHMBUS_RELIABILITY_PROCS_H
#define SHMBUS_RELIABILITY_PROCS_H

#include <sys/prctl.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <vector>

#include "tests/test_util.h"

namespace shmbus_rel {

constexpr uint32_t kSlots = 8;
constexpr uint64_t kCap = 1024;
constexpr int kMaxReaders = 32;
constexpr int64_t kWaitNs = 200 * 1000000LL;          // each reader wait's timeout
constexpr int64_t kWaitOverrunNs = 3000 * 1000000LL;  // a wait longer than timeout + this hangs

// Record length of version v: 8 .. kCap bytes, varying, so lengths are checked too.
inline size_t LenOf(uint64_t v) { return 8 + (v * 7919) % (kCap - 7); }

struct ReaderStats {
  std::atomic<uint64_t> records{0}, lost{0};
  std::atomic<uint64_t> bad{0};        // payload or length not what the version implies
  std::atomic<uint64_t> backwards{0};  // a version not above the previous one
  std::atomic<uint64_t> overruns{0};   // a wait that outlived its timeout by kWaitOverrunNs
  std::atomic<uint64_t> errors{0};     // any other unexpected return (-ESTALE, -EBADMSG, ...)
  std::atomic<uint64_t> opens{0}, lives{0};
  std::atomic<uint64_t> writer_lives_seen{0};  // distinct writer lives it got records from
  std::atomic<uint64_t> last_version{0};       // of its current life
  std::atomic<int64_t> heartbeat_ns{0};        // after every wait
};

struct Shared {
  std::atomic<int> stop{0};
  std::atomic<uint64_t> writer_lives{0};  // successful shmbus_pub_open()s
  std::atomic<uint64_t> publishes{0};
  std::atomic<uint64_t> writer_errors{0};
  ReaderStats r[kMaxReaders];
};

enum class Read { kNext, kLatest };

// In a child: die with the test process (even when a failed ASSERT or a crash ends it before
// it could stop us), and drop Spawn()'s 120 s alarm, which a long chaos or soak run outlives.
inline void DieWithParent() {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  alarm(0);
}

// Writer process: become the writer (retrying while a killed predecessor's lock is released),
// publish until told to stop. @pace: sleep 50 us every 32 publishes (chaos), else full rate.
inline int WriterMain(const char* name, Shared* sh, bool pace) {
  DieWithParent();
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.slots = kSlots;
  o.capacity = kCap;
  o.type = "reliability";
  shmbus_pub* p = nullptr;
  int rc;
  int64_t end = shmbus_test::NowNs() + 10 * 1000000000LL;
  while ((rc = shmbus_pub_open(name, &o, &p)) == -EBUSY && shmbus_test::NowNs() < end) usleep(1000);
  if (rc != 0) {
    fprintf(stderr, "writer %d: shmbus_pub_open: %s\n", getpid(), shmbus_strerror(rc));
    sh->writer_errors++;
    return 1;
  }
  sh->writer_lives++;
  std::vector<unsigned char> buf(kCap);
  for (uint64_t k = 1; !sh->stop.load(std::memory_order_relaxed); k++) {
    uint64_t v = shmbus_pub_version(p) + 1;
    shmbus_test::Fill(v, buf.data(), LenOf(v));
    if (shmbus_pub_publish(p, buf.data(), LenOf(v)) != 0) sh->writer_errors++;
    sh->publishes.fetch_add(1, std::memory_order_relaxed);
    if (pace && k % 32 == 0) usleep(50);
  }
  shmbus_pub_close(p);
  return 0;
}

// Reader process number @idx: open once, then wait (HYBRID, through writer deaths) and read
// with next() or read_latest() until told to stop, checking every record.
inline int ReaderMain(const char* name, Shared* sh, int idx, Read how) {
  DieWithParent();
  ReaderStats& st = sh->r[idx];
  st.lives++;
  st.last_version = 0;
  st.heartbeat_ns = shmbus_test::NowNs();
  shmbus_sub* s = nullptr;
  int rc;
  int64_t end = shmbus_test::NowNs() + 10 * 1000000000LL;
  while ((rc = shmbus_sub_open(name, 0, &s)) == -ENOENT && shmbus_test::NowNs() < end) usleep(1000);
  if (rc != 0) {
    fprintf(stderr, "reader %d: shmbus_sub_open: %s\n", idx, shmbus_strerror(rc));
    st.errors++;
    return 1;
  }
  st.opens++;
  std::vector<unsigned char> buf(kCap);
  uint64_t last = 0, seen_life = 0;
  while (!sh->stop.load(std::memory_order_relaxed)) {
    int64_t t0 = shmbus_test::NowNs();
    rc = shmbus_sub_wait(s, kWaitNs, SHMBUS_WAIT_HYBRID | SHMBUS_WAIT_THROUGH_DEATH);
    int64_t t1 = shmbus_test::NowNs();
    st.heartbeat_ns = t1;
    if (t1 - t0 > kWaitNs + kWaitOverrunNs) {
      fprintf(stderr, "reader %d: wait took %.3f s (timeout 0.2 s)\n", idx, (t1 - t0) / 1e9);
      st.overruns++;
    }
    if (rc == -ETIMEDOUT) continue;
    if (rc != 0) {
      fprintf(stderr, "reader %d: wait: %s\n", idx, shmbus_strerror(rc));
      st.errors++;
      usleep(10000);
      continue;
    }
    for (;;) {
      shmbus_record_info info{};
      ssize_t n = how == Read::kNext ? shmbus_sub_next(s, buf.data(), buf.size(), &info)
                                     : shmbus_sub_read_latest(s, buf.data(), buf.size(), &info);
      if (n == -EAGAIN) break;
      if (n < 0) {
        fprintf(stderr, "reader %d: read: %s\n", idx, shmbus_strerror(int(n)));
        st.errors++;
        break;
      }
      if (info.version <= last) {
        fprintf(stderr, "reader %d: version %llu after %llu\n", idx,
                (unsigned long long)info.version, (unsigned long long)last);
        st.backwards++;
      }
      if (size_t(n) != LenOf(info.version) || !shmbus_test::Check(info.version, buf.data(), n)) {
        fprintf(stderr, "reader %d: version %llu: wrong bytes\n", idx,
                (unsigned long long)info.version);
        st.bad++;
      }
      last = info.version;
      st.last_version = last;
      st.lost.fetch_add(info.lost, std::memory_order_relaxed);
      st.records.fetch_add(1, std::memory_order_relaxed);
      uint64_t life = sh->writer_lives.load(std::memory_order_relaxed);
      if (life != seen_life) {
        seen_life = life;
        st.writer_lives_seen++;
      }
      if (how == Read::kLatest) break;  // one record per wakeup: the latest
    }
  }
  shmbus_sub_close(s);
  return 0;
}

// Resident set size of @pid in KiB (VmRSS), or -1.
inline long RssKiB(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", int(pid));
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  long kib = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kib) == 1) break;
  fclose(f);
  return kib;
}

}  // namespace shmbus_rel

#endif  // SHMBUS_RELIABILITY_PROCS_H
