// layout_test.cc - the layout shmbus_type_describe() computes for types/testdata/all.idl is the
// C compiler's, for a struct written by hand here and for the struct idlc generates from the
// same IDL (//types:all_idl_h).
#include <gtest/gtest.h>
#include <jansson.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "types/all.h"  // idlc -f case-sensitive types/testdata/all.idl
#include "types/shmbus_types.h"

namespace hand {
enum Mode : uint32_t { IDLE, RUN, FAULT = 10 };
struct Vec3 {
  double x, y, z;
};
struct Tail {
  double d;
  char c;
};
struct Flags {
  bool a;
  uint16_t b;
};
struct All {
  int8_t i8;
  uint8_t u8;
  int16_t i16;
  uint16_t u16;
  int32_t i32;
  uint32_t u32;
  int64_t i64;
  uint64_t u64;
  int16_t x16;
  uint16_t y16;
  int32_t x32;
  uint32_t y32;
  int64_t x64;
  uint64_t y64;
  float f32;
  double f64;
  bool b;
  char c;
  uint8_t o;
  Mode mode;
  char name[8];
  char names[2][4];
  Vec3 acc;
  Tail tails[2];
  float m[2][3];
  Vec3 p;
  Flags fl;
  double grid[2][3][2];
  uint8_t bytes[3];
  Mode modes[2];
  bool flags[3];
  char last;
};
}  // namespace hand

namespace {

// name -> offset of every member, "acc.x" for nested ones, from shmbus_type_describe().
struct Described {
  size_t size = 0, align = 0;
  std::map<std::string, size_t> offset;
  std::map<std::string, size_t> struct_size;
};

void Walk(json_t* fields, const std::string& prefix, size_t base, Described* d) {
  size_t i;
  json_t* f;
  json_array_foreach(fields, i, f) {
    std::string name = prefix + json_string_value(json_object_get(f, "name"));
    size_t off = base + (size_t)json_integer_value(json_object_get(f, "offset"));
    d->offset[name] = off;
    json_t* type = json_object_get(f, "type");
    if (json_is_object(type) && json_object_get(type, "struct")) {
      d->struct_size[json_string_value(json_object_get(type, "struct"))] =
          (size_t)json_integer_value(json_object_get(type, "size"));
      Walk(json_object_get(type, "fields"), name + ".", off, d);
    }
  }
}

Described Describe() {
  std::ifstream in("types/testdata/all.idl");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string idl = ss.str();
  shmbus_type* t = nullptr;
  char err[256], *out = nullptr;
  Described d;
  EXPECT_EQ(0, shmbus_type_parse(idl.data(), idl.size(), "sensors::All", &t, err, sizeof err))
      << err;
  if (t == nullptr) return d;
  EXPECT_GT(shmbus_type_describe(t, &out), 0);
  json_t* root = json_loads(out, 0, nullptr);
  d.size = (size_t)json_integer_value(json_object_get(root, "size"));
  d.align = (size_t)json_integer_value(json_object_get(root, "align"));
  Walk(json_object_get(root, "fields"), "", 0, &d);
  json_decref(root);
  free(out);
  shmbus_type_free(t);
  return d;
}

// clang-format 14 reflows this X-macro differently on every run: it stays as written.
// clang-format off
#define MEMBERS(X)                                                                              \
  X(i8) X(u8) X(i16) X(u16) X(i32) X(u32) X(i64) X(u64) X(x16) X(y16) X(x32) X(y32) X(x64)    \
  X(y64) X(f32) X(f64) X(b) X(c) X(o) X(mode) X(name) X(names) X(acc) X(tails) X(m) X(p) X(fl) \
  X(grid) X(bytes) X(modes) X(flags) X(last)
// clang-format on

TEST(TypesLayout, DescribeMatchesTheCCompilerForAHandWrittenStruct) {
  Described d = Describe();
  EXPECT_EQ(sizeof(hand::All), d.size);
  EXPECT_EQ(alignof(hand::All), d.align);
  EXPECT_EQ(sizeof(hand::Mode), 4u);
#define CHECK(m) EXPECT_EQ(offsetof(hand::All, m), d.offset[#m]) << #m;
  MEMBERS(CHECK)
#undef CHECK
  EXPECT_EQ(offsetof(hand::All, acc) + offsetof(hand::Vec3, z), d.offset["acc.z"]);
  EXPECT_EQ(offsetof(hand::All, tails) + offsetof(hand::Tail, c), d.offset["tails.c"]);
  EXPECT_EQ(offsetof(hand::All, fl) + offsetof(hand::Flags, b), d.offset["fl.b"]);
  EXPECT_EQ(sizeof(hand::Tail), d.struct_size["sensors::Tail"]);  // 16: trailing padding
  EXPECT_EQ(16u, sizeof(hand::Tail));
  EXPECT_EQ(sizeof(hand::Vec3), d.struct_size["sensors::Vec3"]);
  EXPECT_EQ(sizeof(hand::Flags), d.struct_size["sensors::inner::Flags"]);
}

TEST(TypesLayout, DescribeMatchesTheStructIdlcGeneratesFromTheSameIdl) {
  Described d = Describe();
  EXPECT_EQ(sizeof(sensors_All), d.size);
  EXPECT_EQ(alignof(sensors_All), d.align);
  EXPECT_EQ(sizeof(sensors_Mode), 4u);
#define CHECK(m) EXPECT_EQ(offsetof(sensors_All, m), d.offset[#m]) << #m;
  MEMBERS(CHECK)
#undef CHECK
  EXPECT_EQ(offsetof(sensors_All, acc) + offsetof(sensors_Vec3, z), d.offset["acc.z"]);
  EXPECT_EQ(offsetof(sensors_All, tails) + offsetof(sensors_Tail, c), d.offset["tails.c"]);
  EXPECT_EQ(offsetof(sensors_All, fl) + offsetof(sensors_inner_Flags, b), d.offset["fl.b"]);
  EXPECT_EQ(sizeof(sensors_Tail), d.struct_size["sensors::Tail"]);
  EXPECT_EQ(sizeof(sensors_inner_Flags), d.struct_size["sensors::inner::Flags"]);
  // The same bytes: the element types idlc chose have the sizes the encoding says.
  EXPECT_EQ(sizeof(sensors_Mat), 2 * 3 * sizeof(float));
  EXPECT_EQ(sizeof(((sensors_All*)nullptr)->names), 8u);
  EXPECT_EQ(sizeof(((sensors_All*)nullptr)->b), 1u);
}

}  // namespace
