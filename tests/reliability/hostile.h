// hostile.h - a hostile reader: a process with exactly the access a legitimate reader of a
// world-readable bus has (as root, the tests drop it to the user "nobody"), doing its worst.
#ifndef SHMBUS_RELIABILITY_HOSTILE_H
#define SHMBUS_RELIABILITY_HOSTILE_H

#include <fcntl.h>
#include <grp.h>
#include <linux/futex.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>

#include <atomic>
#include <string>

#include "tests/reliability/procs.h"
#include "tests/test_util.h"

namespace shmbus_rel {

constexpr uid_t kNobody = 65534;

struct HostileState {
  std::atomic<int> armed{0};  // set once it holds every lock it could take
  std::atomic<int> stop{0};
  std::atomic<int> dropped{0};          // runs as nobody (1) or as the writer's user (0)
  std::atomic<int> lock_open_errno{0};  // errno of opening the writer's lock object (0: opened)
  std::atomic<int> locks_taken{0};      // flock / OFD locks it obtained
  std::atomic<uint64_t> rounds{0};
  std::atomic<int> failed{0};        // it could not even start (see stderr)
  std::atomic<int> wake_changed{0};  // it removed or re-moded the wake page (must stay 0)
};

enum class Attack {
  kChaos,      // clear and set the flag, spurious FUTEX_WAKEs, garbage over the wake page
  kClearFlag,  // only clear the flag, as fast as it can: delays other readers' wakeups
  kTruncate,   // try to shrink, remove or re-mode the wake page it may write, over and over
};

// Makes @name world-readable with the reliability geometry, so "nobody" may read it.
inline void CreateWorldReadable(const char* name) {
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.slots = kSlots;
  o.capacity = kCap;
  o.type = "reliability";
  o.mode = 0644;
  shmbus_pub* p = nullptr;
  ASSERT_EQ(0, shmbus_pub_open(name, &o, &p));
  shmbus_pub_close(p);
}

// As root: become nobody (no supplementary groups). Returns whether it did.
inline bool DropToNobody() {
  if (geteuid() != 0) return false;
  if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0) {
    perror("hostile: cannot become nobody");
    _exit(90);
  }
  return true;
}

// The hostile process's body. Bus @name must be world-readable (mode 0644).
inline int HostileMain(const std::string& name, HostileState* hs, Attack attack) {
  hs->dropped = DropToNobody();
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // after the drop, which clears it
  std::string recs = "/dev/shm/shmbus." + name, lock = "/dev/shm/shmbus-lock." + name;
  int rfd = open(recs.c_str(), O_RDONLY);
  if (rfd < 0) {
    perror("hostile: cannot open the bus as a reader");
    hs->failed = 1;
    return 91;
  }
  // Every lock a reader can take: flock and OFD locks on the object it can open (the wake page
  // is a System V segment: no descriptor, nothing to lock).
  struct flock rd = {};
  rd.l_type = F_RDLCK;
  int taken = 0;
  taken += flock(rfd, LOCK_SH | LOCK_NB) == 0;
  taken += fcntl(rfd, F_OFD_SETLK, &rd) == 0;
  int lfd = open(lock.c_str(), O_RDONLY);
  hs->lock_open_errno = lfd < 0 ? errno : 0;
  if (lfd >= 0) taken += flock(lfd, LOCK_SH | LOCK_NB) == 0;  // only the owner gets here
  hs->locks_taken = taken;

  struct stat st;
  if (fstat(rfd, &st) != 0) return 92;
  auto* hdr = static_cast<unsigned char*>(mmap(nullptr, 4096, PROT_READ, MAP_SHARED, rfd, 0));
  if (hdr == MAP_FAILED) return 93;
  int wake_id;
  memcpy(&wake_id, hdr + 216, 4);  // docs/PROTOCOL.md: wake_shmid at 216
  auto* page = static_cast<unsigned char*>(shmat(wake_id, nullptr, 0));
  if (page == reinterpret_cast<unsigned char*>(-1)) {
    perror("hostile: cannot attach the wake page as a reader");
    hs->failed = 1;
    return 94;
  }
  auto* flag = reinterpret_cast<std::atomic<uint32_t>*>(page);
  auto* futex = reinterpret_cast<uint32_t*>(hdr + 136);  // docs/PROTOCOL.md: futex at 136
  hs->armed = 1;
  for (uint64_t k = 0; !hs->stop.load(std::memory_order_relaxed); k++) {
    switch (attack) {
      case Attack::kClearFlag: flag->store(0, std::memory_order_relaxed); break;
      case Attack::kChaos:
        flag->store(k & 1, std::memory_order_relaxed);
        if (k % 64 == 0) memset(page + 4 + (k % 4000), int(k), 92);  // garbage past the flag
        if (k % 16 == 0) syscall(SYS_futex, futex, FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
        break;
      case Attack::kTruncate: {
        // A System V segment has no size to change; only its owner may remove or re-mode it.
        struct shmid_ds ds;
        if (shmctl(wake_id, IPC_STAT, &ds) == 0) {
          ds.shm_perm.mode = 0600;
          if (shmctl(wake_id, IPC_SET, &ds) == 0) hs->wake_changed = 1;
        }
        if (shmctl(wake_id, IPC_RMID, nullptr) == 0) hs->wake_changed = 1;
        int again = shmget(IPC_PRIVATE, 1, 0600);  // a segment of its own is fine, and harmless
        if (again >= 0) shmctl(again, IPC_RMID, nullptr);
        flag->store(0, std::memory_order_relaxed);
        usleep(100);
        break;
      }
    }
    hs->rounds.fetch_add(1, std::memory_order_relaxed);
  }
  return 0;
}

}  // namespace shmbus_rel

#endif  // SHMBUS_RELIABILITY_HOSTILE_H
