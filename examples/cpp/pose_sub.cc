// pose_sub - follow example::Pose on a typed bus until pose number COUNT (or the writer goes
// away), checking the type tag, and print what arrived.
//   pose_sub [-b BUS] [-n COUNT] [-t SECONDS]   (defaults: pose, 1000, 30)
// Waits up to SECONDS for the bus and its writer to appear, and for each pose. Exit status: 0 got pose COUNT;
// 1 an error or the writer went away first; 2 usage.
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <shmbus.hpp>

#include "examples/cpp/pose.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  std::string bus = "pose";
  long count = 1000, timeout_s = 30;
  for (int c; (c = getopt(argc, argv, "b:n:t:h")) != -1;) {
    switch (c) {
      case 'b': bus = optarg; break;
      case 'n': count = std::atol(optarg); break;
      case 't': timeout_s = std::atol(optarg); break;
      default:
        std::fprintf(stderr, "usage: pose_sub [-b BUS] [-n COUNT] [-t SECONDS]\n");
        return c == 'h' ? 0 : 2;
    }
  }
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  try {
    shmbus::TypedSubscriber<example::Pose> sub;
    for (;;) {  // the publisher may not have created the bus yet
      try {
        sub = shmbus::TypedSubscriber<example::Pose>(bus, example::kPoseType);
        break;
      } catch (const shmbus::Error& e) {
        if (e.code() != std::errc::no_such_file_or_directory ||
            std::chrono::steady_clock::now() > give_up)
          throw;
        std::this_thread::sleep_for(10ms);
      }
    }
    uint64_t received = 0, lost = 0, last = 0;
    example::Pose pose{};
    while (last < uint64_t(count)) {
      // Until the first pose, wait through "no writer": a bus that was just created, or whose
      // writer has not started yet, has none (shmbus_sub_wait() says -EOWNERDEAD).
      shmbus::WaitStatus st =
          sub.wait(std::chrono::seconds(timeout_s), shmbus::WaitMode::hybrid, received == 0);
      for (const auto& sample : sub.records()) {
        received++;
        lost += sample.info.lost;
        last = sample.value.seq;
        pose = sample.value;
      }
      if (st == shmbus::WaitStatus::timeout) {
        std::fprintf(stderr, "pose_sub: no pose within %ld s\n", timeout_s);
        return 1;
      }
      if (st == shmbus::WaitStatus::writer_gone && last < uint64_t(count)) {
        std::fprintf(stderr, "pose_sub: the writer went away after pose %llu\n",
                     (unsigned long long)last);
        return 1;
      }
    }
    std::printf("pose_sub: %llu poses (%llu lost), last seq %llu at (%.3f, %.3f, %.3f)\n",
                (unsigned long long)received, (unsigned long long)lost, (unsigned long long)last,
                pose.position[0], pose.position[1], pose.position[2]);
  } catch (const shmbus::Error& e) {
    std::fprintf(stderr, "pose_sub: %s\n", e.what());
    return 1;
  }
  return 0;
}
