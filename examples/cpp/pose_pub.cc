// pose_pub - publish example::Pose on a typed bus: one pose per tick, written in place.
//   pose_pub [-b BUS] [-n COUNT] [-r HZ]        (defaults: pose, 1000, 100)
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <shmbus.hpp>

#include "examples/cpp/pose.hpp"

int main(int argc, char** argv) {
  std::string bus = "pose";
  long count = 1000, hz = 100;
  for (int c; (c = getopt(argc, argv, "b:n:r:h")) != -1;) {
    switch (c) {
      case 'b': bus = optarg; break;
      case 'n': count = std::atol(optarg); break;
      case 'r': hz = std::atol(optarg); break;
      default:
        std::fprintf(stderr, "usage: pose_pub [-b BUS] [-n COUNT] [-r HZ]\n");
        return c == 'h' ? 0 : 2;
    }
  }
  try {
    shmbus::PublisherOptions opts;
    opts.mode = 0644;  // other users may read it
    shmbus::TypedPublisher<example::Pose> pub(bus, example::kPoseType, opts);
    auto period = std::chrono::nanoseconds(1000000000L / (hz > 0 ? hz : 1));
    auto next = std::chrono::steady_clock::now();
    for (long i = 1; i <= count; i++) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      double a = 0.01 * double(i);
      auto pose = pub.loan();  // committed at the end of the scope, dropped on an exception
      pose->seq = uint64_t(i);
      pose->stamp_ns = int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
      pose->position[0] = std::cos(a);
      pose->position[1] = std::sin(a);
      pose->position[2] = 0.5;
      pose->orientation[0] = pose->orientation[1] = 0;
      pose->orientation[2] = std::sin(a / 2);
      pose->orientation[3] = std::cos(a / 2);
      pose.commit();
      next += period;
      std::this_thread::sleep_until(next);
    }
    std::printf("pose_pub: published %ld poses on '%s'\n", count, bus.c_str());
  } catch (const shmbus::Error& e) {
    std::fprintf(stderr, "pose_pub: %s\n", e.what());
    return 1;
  }
  return 0;
}
