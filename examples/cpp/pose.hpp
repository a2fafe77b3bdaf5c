// pose.hpp - the record of the C++ example: a 6-DoF pose. Trivially copyable, fixed-width
// fields, no pointers; the bus's type tag names the layout.
#ifndef SHMBUS_EXAMPLE_POSE_HPP
#define SHMBUS_EXAMPLE_POSE_HPP

#include <cstdint>
#include <type_traits>

namespace example {

inline constexpr const char* kPoseType = "pose.v1";

struct Pose {
  uint64_t seq;           // 1, 2, 3, ...
  int64_t stamp_ns;       // CLOCK_REALTIME when computed
  double position[3];     // m
  double orientation[4];  // quaternion x, y, z, w
};

static_assert(std::is_trivially_copyable_v<Pose>);
static_assert(sizeof(Pose) == 72, "the layout is part of the type tag");

}  // namespace example

#endif
