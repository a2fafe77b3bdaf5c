// Publishes a typed record and reads it back through the installed C++ binding: prog BUS LABEL
#include <chrono>
#include <cstdio>
#include <shmbus.hpp>

struct Point {
  double x, y;
  unsigned long long seq;
};

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  if (argc < 3) return 2;
  try {
    shmbus::TypedPublisher<Point> pub(argv[1], "point.v1");
    shmbus::TypedSubscriber<Point> sub(argv[1], "point.v1");
    sub.seek(shmbus::Seek::fresh);
    pub.publish(Point{1.5, 2.5, 7});
    if (sub.wait(60s) != shmbus::WaitStatus::ready) return 1;
    for (const auto& s : sub.records())
      std::printf("from C++ %g %g %llu (%s, shmbus %s)\n", s.value.x, s.value.y, s.value.seq,
                  argv[2], shmbus::version());
  } catch (const shmbus::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
