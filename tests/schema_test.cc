// schema_test.cc - the schema a typed bus carries (docs/PROTOCOL.md, Schema block): stored by
// the creator, read back by readers, compared on adopt, kept on replace, bounded on the way in
// and refused when the stored block breaks any rule.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace {

using shmbus_test::TempBus;

const char kIdl[] = "struct X { long a; };";

// @text is a reference to an lvalue: the schema points into it (a temporary would dangle).
shmbus_schema Schema(const char* name, std::string& text, const char* menc = SHMBUS_MSG_CSTRUCT) {
  shmbus_schema s = {name, "omgidl", menc, text.data(), text.size(), 0};
  return s;
}

shmbus_pub* Open(const TempBus& bus, const shmbus_schema* sc, uint64_t cap = 64) {
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.capacity = cap;
  o.schema = sc;
  shmbus_pub* p = nullptr;
  int rc = shmbus_pub_open(bus.c_str(), &o, &p);
  EXPECT_EQ(rc, 0) << shmbus_strerror(rc);
  return p;
}

ino_t Inode(const TempBus& bus) {
  struct stat st;
  return stat(bus.path().c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(Schema, HashIsFnv1aOfTheFourPartsWithNulSeparators) {
  // Reference value computed independently (Python) for these exact bytes:
  // b"sensors::Imu\0omgidl\0x-shmbus-cstruct\0struct X { long a; };"
  std::string text = "struct X { long a; };";
  shmbus_schema s = Schema("sensors::Imu", text);
  EXPECT_EQ(shmbus_schema_hash(&s), 0x03b12f2c8a08f7d1ull);
  s.text_len--;  // any byte changes it
  EXPECT_NE(shmbus_schema_hash(&s), 0x03b12f2c8a08f7d1ull);
}

TEST(Schema, ReadersGetTheWritersSchemaAndRecordsStillWork) {
  TempBus bus("schema");
  std::string text(200000, 'x');  // several pages: slots start after the block
  for (size_t i = 0; i < text.size(); i++) text[i] = char('a' + i % 26);
  shmbus_schema sc = Schema("sensors::Imu", text);
  shmbus_pub* p = Open(bus, &sc);
  ASSERT_NE(p, nullptr);
  shmbus_sub* s = nullptr;
  ASSERT_EQ(shmbus_sub_open(bus.c_str(), 0, &s), 0);
  shmbus_schema got;
  ASSERT_EQ(shmbus_pub_schema(p, &got), 0);
  EXPECT_EQ(got.hash, shmbus_schema_hash(&sc));
  EXPECT_NE(got.text, sc.text);  // its own copy
  ASSERT_EQ(shmbus_sub_schema(s, &got), 0);
  EXPECT_STREQ(got.type_name, "sensors::Imu");
  EXPECT_STREQ(got.schema_encoding, "omgidl");
  EXPECT_STREQ(got.message_encoding, SHMBUS_MSG_CSTRUCT);
  ASSERT_EQ(got.text_len, text.size());
  EXPECT_EQ(std::string((const char*)got.text, got.text_len), text);
  EXPECT_EQ(((const char*)got.text)[got.text_len], '\0');
  EXPECT_EQ(got.hash, shmbus_schema_hash(&sc));
  shmbus_bus_info bi;
  ASSERT_EQ(shmbus_stat(bus.c_str(), &bi), 0);
  EXPECT_STREQ(bi.type_name, "sensors::Imu");
  EXPECT_STREQ(bi.message_encoding, SHMBUS_MSG_CSTRUCT);
  EXPECT_EQ(bi.schema_len, text.size());
  EXPECT_EQ(bi.schema_hash, got.hash);
  EXPECT_EQ(bi.total_size % 4096, (4096 + 8 * 128) % 4096);
  EXPECT_GT(bi.total_size, 4096 + text.size());
  // Records go to the slots after the block, every slot of the ring.
  for (uint64_t v = 1; v <= 20; v++) ASSERT_EQ(shmbus_pub_publish(p, &v, sizeof v), 0);
  ASSERT_EQ(shmbus_sub_seek(s, SHMBUS_SEEK_OLDEST), 0);
  uint64_t got_v = 0, first = 0;
  shmbus_record_info info;
  ASSERT_EQ(shmbus_sub_next(s, &first, sizeof first, &info), (ssize_t)sizeof first);
  EXPECT_GE(first, 20u - 8 + 1);  // the ring's oldest, within its N = 8 slots
  for (uint64_t v = first + 1; v <= 20; v++) {
    ASSERT_EQ(shmbus_sub_next(s, &got_v, sizeof got_v, &info), (ssize_t)sizeof got_v);
    EXPECT_EQ(got_v, v);
  }
  // The text in the bus is intact after the ring was written over twice.
  shmbus_sub* s2 = nullptr;
  ASSERT_EQ(shmbus_sub_open(bus.c_str(), 0, &s2), 0);
  ASSERT_EQ(shmbus_sub_schema(s2, &got), 0);
  EXPECT_EQ(std::string((const char*)got.text, got.text_len), text);
  shmbus_sub_close(s2);
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}

TEST(Schema, UntypedBusHasNone) {
  TempBus bus("schema");
  shmbus_pub* p = Open(bus, nullptr);
  ASSERT_NE(p, nullptr);
  shmbus_sub* s = nullptr;
  ASSERT_EQ(shmbus_sub_open(bus.c_str(), 0, &s), 0);
  shmbus_schema got;
  EXPECT_EQ(shmbus_sub_schema(s, &got), -ENOENT);
  EXPECT_EQ(shmbus_pub_schema(p, &got), -ENOENT);
  shmbus_bus_info bi;
  ASSERT_EQ(shmbus_sub_info(s, &bi), 0);
  EXPECT_STREQ(bi.type_name, "");
  EXPECT_EQ(bi.schema_hash, 0u);
  EXPECT_EQ(bi.total_size, 4096u + 8 * 128);
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}

TEST(Schema, AdoptNeedsTheSameHashAndADifferentOneReplaces) {
  TempBus bus("schema");
  std::string a = kIdl, b = "struct X { long long a; };";
  shmbus_schema sa = Schema("X", a), sb = Schema("X", b);
  shmbus_pub* p = Open(bus, &sa);
  ASSERT_NE(p, nullptr);
  uint64_t v = 7;
  ASSERT_EQ(shmbus_pub_publish(p, &v, sizeof v), 0);
  shmbus_pub_close(p);
  ino_t first = Inode(bus);

  p = Open(bus, &sa);  // same schema: adopted, versions go on
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(Inode(bus), first);
  shmbus_bus_info bi;
  ASSERT_EQ(shmbus_pub_info(p, &bi), 0);
  EXPECT_EQ(bi.latest, 1u);
  EXPECT_EQ(bi.schema_hash, shmbus_schema_hash(&sa));
  shmbus_pub_close(p);

  p = Open(bus, nullptr);  // no schema asked: adopt whatever it has
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(Inode(bus), first);
  ASSERT_EQ(shmbus_pub_info(p, &bi), 0);
  EXPECT_EQ(bi.schema_hash, shmbus_schema_hash(&sa));
  shmbus_pub_close(p);

  shmbus_sub* old = nullptr;
  ASSERT_EQ(shmbus_sub_open(bus.c_str(), 0, &old), 0);
  p = Open(bus, &sb);  // another schema: replaced, old readers told
  ASSERT_NE(p, nullptr);
  EXPECT_NE(Inode(bus), first);
  ASSERT_EQ(shmbus_sub_info(old, &bi), 0);
  EXPECT_EQ(bi.replaced, 1);
  EXPECT_EQ(bi.schema_hash, shmbus_schema_hash(&sa));  // the old reader keeps its copy
  shmbus_sub_close(old);
  ASSERT_EQ(shmbus_pub_info(p, &bi), 0);
  EXPECT_EQ(bi.schema_hash, shmbus_schema_hash(&sb));
  shmbus_pub_close(p);

  // A replacement for another reason (capacity) that asks for no schema keeps the old one.
  p = Open(bus, nullptr, 128);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(shmbus_pub_info(p, &bi), 0);
  EXPECT_EQ(bi.capacity, 128u);
  EXPECT_EQ(bi.schema_hash, shmbus_schema_hash(&sb));
  shmbus_pub_close(p);

  // The empty schema asks for an untyped bus: replaced by one.
  shmbus_schema none = {nullptr, nullptr, nullptr, nullptr, 0, 0};
  p = Open(bus, &none, 128);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(shmbus_pub_info(p, &bi), 0);
  EXPECT_EQ(bi.schema_hash, 0u);
  EXPECT_EQ(bi.total_size, 4096u + 8 * (64 + 128));
  shmbus_pub_close(p);
}

TEST(Schema, BadSchemasAreRefusedAndNothingIsCreated) {
  std::string big(SHMBUS_SCHEMA_MAX + 1, 'x'), ok = kIdl;
  std::string long_name(SHMBUS_TYPE_NAME_MAX + 1, 'n'), max_name(SHMBUS_TYPE_NAME_MAX, 'n');
  std::vector<shmbus_schema> bad = {
      Schema("", ok),                                         // a schema without a type name
      Schema(long_name.c_str(), ok),                          // name too long
      Schema("a\tb", ok),                                     // control character
      Schema("X", ok, ""),                                    // no message encoding
      Schema("X", ok, "0123456789012345678901234567890123"),  // encoding too long
      Schema("X", big),                                       // text too long
  };
  shmbus_schema nulltext = {"X", "omgidl", "cdr", nullptr, 3, 0};
  bad.push_back(nulltext);
  for (const shmbus_schema& sc : bad) {
    TempBus bus("schema");
    shmbus_pub_opts o;
    shmbus_pub_opts_init(&o);
    o.schema = &sc;
    shmbus_pub* p = nullptr;
    EXPECT_EQ(shmbus_pub_open(bus.c_str(), &o, &p), -EINVAL) << sc.type_name;
    EXPECT_EQ(p, nullptr);
    EXPECT_NE(access(bus.path().c_str(), F_OK), 0) << "created anyway";
  }
  // The bounds themselves are accepted: the longest name, the largest text.
  std::string max_text(SHMBUS_SCHEMA_MAX, 'y');
  TempBus bus("schema");
  shmbus_schema sc = Schema(max_name.c_str(), max_text);
  shmbus_pub* p = Open(bus, &sc);
  ASSERT_NE(p, nullptr);
  shmbus_sub* s = nullptr;
  ASSERT_EQ(shmbus_sub_open(bus.c_str(), 0, &s), 0);
  shmbus_schema got;
  ASSERT_EQ(shmbus_sub_schema(s, &got), 0);
  EXPECT_EQ(got.text_len, max_text.size());
  EXPECT_EQ(strlen(got.type_name), max_name.size());
  shmbus_sub_close(s);
  shmbus_pub_close(p);
}

// Each corruption of a typed bus's header fields or schema block: a reader refuses it with
// -EPROTO; the unchanged bus (the control) opens.
TEST(Schema, ReadersRefuseEveryBrokenBlock) {
  struct Poke {
    const char* what;
    size_t off;
    uint64_t value;
    size_t width;
  };
  const size_t b = 4096;
  const Poke pokes[] = {
      {"control: nothing changed", 0, 0, 0},
      {"magic", b, 0, 8},
      {"name_len 0", b + 8, 0, 4},
      {"name_len huge", b + 8, 0xffffffffu, 4},
      {"name_len one short (NUL misplaced)", b + 8, 9, 4},
      {"schema_encoding_len huge", b + 12, 4096, 4},
      {"message_encoding_len 0", b + 16, 0, 4},
      {"text_len past the block", b + 20, 1u << 20, 4},
      {"text_len one short", b + 20, sizeof kIdl - 2, 4},
      {"block hash", b + 24, 1, 8},
      {"header hash", 232, 1, 8},
      {"schema_size not a page multiple", 224, 100, 8},
      {"schema_size huge", 224, uint64_t(1) << 40, 8},
      {"schema_size 0 with a hash", 224, 0, 8},
      {"schema_size past the object", 224, 8192, 8},
      {"NUL inside the name", b + 32, 0, 1},
      {"control character in the name", b + 32, 7, 1},
  };
  for (const Poke& k : pokes) {
    TempBus bus("schema");
    std::string idl = kIdl;
    shmbus_schema sc = Schema("sensors::X", idl);
    shmbus_pub* p = Open(bus, &sc, 8);
    ASSERT_NE(p, nullptr);
    shmbus_pub_close(p);
    int fd = open(bus.path().c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    if (k.width) {
      ASSERT_EQ(pwrite(fd, &k.value, k.width, (off_t)k.off), (ssize_t)k.width);
    }
    close(fd);
    shmbus_sub* s = nullptr;
    int rc = shmbus_sub_open(bus.c_str(), 0, &s);
    if (k.width == 0) {
      EXPECT_EQ(rc, 0) << k.what;
    } else {
      EXPECT_EQ(rc, -EPROTO) << k.what;
      EXPECT_EQ(s, nullptr);
      // A writer never adopts nor overwrites it either.
      shmbus_pub_opts o;
      shmbus_pub_opts_init(&o);
      EXPECT_EQ(shmbus_pub_open(bus.c_str(), &o, &p), -EPROTO) << k.what;
    }
    shmbus_sub_close(s);
  }
}

}  // namespace
