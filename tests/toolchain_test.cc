// Proves the toolchain: POSIX shared memory crosses a fork, and liburcu links.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include <atomic>
#include <cstdio>
#include <string>

namespace {

std::string UniqueName() {
  char buf[64];
  snprintf(buf, sizeof buf, "/shmbus-toolchain-%d-%u", getpid(), (unsigned)random());
  return buf;
}

TEST(Toolchain, SharedMemoryWriteCrossesProcesses) {
  const std::string name = UniqueName();
  int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(0, ftruncate(fd, 4096));
  auto* word = static_cast<std::atomic<uint64_t>*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_NE(MAP_FAILED, static_cast<void*>(word));
  shm_unlink(name.c_str());  // the mapping outlives the name; nothing left behind
  close(fd);

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    word->store(0x5eed, std::memory_order_release);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(child, waitpid(child, &status, 0));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(0x5eedu, word->load(std::memory_order_acquire));
  munmap(word, 4096);
}

TEST(Toolchain, LiburcuLinksAndRuns) {
  urcu_memb_register_thread();
  urcu_memb_read_lock();
  urcu_memb_read_unlock();
  urcu_memb_synchronize_rcu();
  urcu_memb_unregister_thread();
  SUCCEED();
}

}  // namespace
