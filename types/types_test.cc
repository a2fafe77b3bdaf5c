// types_test.cc - the typed-records library (types/shmbus_types.h): parsing and refusals,
// JSON both ways at every bound, text, fields, CDR, describe.
#include <gtest/gtest.h>

#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "types/shmbus_types.h"

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string AllIdl() { return ReadFile("types/testdata/all.idl"); }

struct Type {
  shmbus_type* t = nullptr;
  std::string err;
  int rc = 0;
  Type(const std::string& idl, const char* name) {
    char e[512] = "";
    rc = shmbus_type_parse(idl.data(), idl.size(), name, &t, e, sizeof e);
    err = e;
  }
  ~Type() { shmbus_type_free(t); }
  std::vector<unsigned char> Rec(const std::string& json, std::string* error = nullptr) const {
    std::vector<unsigned char> rec(shmbus_type_size(t), 0xAA);
    char e[512] = "";
    ssize_t n =
        shmbus_type_from_json(t, json.data(), json.size(), rec.data(), rec.size(), e, sizeof e);
    if (error) *error = n < 0 ? e : "";
    EXPECT_TRUE(n < 0 || (size_t)n == rec.size());
    if (n < 0) rec.clear();
    return rec;
  }
  std::string Json(const std::vector<unsigned char>& rec) const {
    char* out = nullptr;
    char e[256];
    ssize_t n = shmbus_type_to_json(t, rec.data(), rec.size(), &out, e, sizeof e);
    EXPECT_GE(n, 0) << e;
    std::string s = n >= 0 ? std::string(out, (size_t)n) : "";
    free(out);
    return s;
  }
  std::string RoundTrip(const std::string& json) const {
    std::string error;
    std::vector<unsigned char> rec = Rec(json, &error);
    return rec.empty() ? "error: " + error : Json(rec);
  }
  std::string Error(const std::string& json) const {
    std::string error;
    std::vector<unsigned char> rec = Rec(json, &error);
    EXPECT_TRUE(rec.empty()) << json;
    return error;
  }
};

// One struct with one member of the given IDL type: "long", "double v[2]" ...
std::string One(const std::string& member) { return "struct S { " + member + "; };"; }

TEST(TypesParse, NameSizeAlignAndScopedLookup) {
  Type a(AllIdl(), "sensors::All");
  ASSERT_EQ(0, a.rc) << a.err;
  EXPECT_STREQ("sensors::All", shmbus_type_name(a.t));
  EXPECT_EQ(8u, shmbus_type_align(a.t));
  Type b(AllIdl(), "::sensors::inner::Flags");
  ASSERT_EQ(0, b.rc) << b.err;
  EXPECT_STREQ("sensors::inner::Flags", shmbus_type_name(b.t));
  EXPECT_EQ(4u, shmbus_type_size(b.t));
  EXPECT_EQ(2u, shmbus_type_align(b.t));
}

TEST(TypesParse, UnknownTypeAndSyntaxErrorsSaySo) {
  Type a(AllIdl(), "sensors::Nope");
  EXPECT_EQ(-EINVAL, a.rc);
  EXPECT_EQ("the IDL defines no struct named sensors::Nope", a.err);
  Type b(AllIdl(), "All");  // not in the global scope
  EXPECT_EQ(-EINVAL, b.rc);
  Type c("struct S { long x }", "S");
  EXPECT_EQ(-EINVAL, c.rc);
  // Cyclone's own message, captured (idl_log.c): not printed, and with its position.
  EXPECT_EQ("IDL: line 1, column 19: syntax error", c.err);
  Type d("struct S { Missing m; };", "S");
  EXPECT_EQ("IDL: line 1, column 12: Scoped name 'Missing' cannot be resolved", d.err);
}

TEST(TypesParse, BoundsOnTheText) {
  std::string nul = One("long x");
  nul[3] = '\0';
  Type a(nul, "S");
  EXPECT_EQ(-EINVAL, a.rc);
  EXPECT_EQ("the IDL contains a NUL byte", a.err);
  std::string big(size_t(1) << 20, ' ');
  big += One("long x");
  Type b(big, "S");
  EXPECT_EQ(-EINVAL, b.rc);
  EXPECT_NE(std::string::npos, b.err.find("more than the 1048576 allowed")) << b.err;
  Type c(std::string(1000, ' ') + One("long x"), "S");  // not NUL-terminated: fine
  EXPECT_EQ(0, c.rc) << c.err;
}

struct Refusal {
  const char* idl;
  const char* message;
};

TEST(TypesParse, EveryUnsupportedConstructIsRefusedNamingMemberAndConstruct) {
  const char* tail = " shmbus types do not support (a record is a fixed-size C struct)";
  const Refusal cases[] = {
      {"struct S { sequence<long> q; };", "member S.q is a sequence, which"},
      {"struct S { sequence<long, 4> q; };", "member S.q is a sequence, which"},
      {"struct S { string s; };",
       "member S.s is a string, which (use a char array such as char name[32])"},
      {"struct S { string<8> s; };",
       "member S.s is a string, which (use a char array such as char name[32])"},
      {"struct S { wchar w; };", "member S.w is a wide character (wchar), which"},
      {"struct S { long double ld; };", "member S.ld is a long double, which"},
      {"union U switch (long) { case 1: long a; }; struct S { U u; };",
       "member S.u is a union, which"},
      {"bitmask B { f1, f2 }; struct S { B b; };", "member S.b is a bitmask, which"},
      {"typedef sequence<long> Seq; struct S { Seq q[2]; };", "member S.q is a sequence, which"},
      {"module m { struct In { string s; }; }; struct S { m::In in; };",
       "member m::In.s is a string, which (use a char array such as char name[32])"},
  };
  for (const Refusal& c : cases) {
    Type t(c.idl, "S");
    EXPECT_EQ(-EINVAL, t.rc) << c.idl;
    EXPECT_EQ(std::string(c.message) + tail, t.err) << c.idl;
  }
  const Refusal others[] = {
      {"struct S { @optional long a; };",
       "member S.a is @optional, which shmbus types do not support (a record is a fixed-size C "
       "struct)"},
      {"struct S { @external long a; };",
       "member S.a is @external, which shmbus types do not support (a record is a fixed-size C "
       "struct)"},
      {"struct B { long a; }; struct S : B { long b; };",
       "struct S inherits from another struct, which shmbus types do not support"},
      {"@mutable struct S { long a; };",
       "struct S is @mutable, which shmbus types do not support (only final and appendable "
       "structs)"},
      {"struct S { };", "struct S has no members"},
      {"struct S { long a[0]; };", "member S.a: an array dimension is 0"},
      {"struct S { long a[1][1][1][1][1][1][1][1][1]; };",
       "member S.a: more than 8 array dimensions"},
      {"struct S { double a[100000][100000]; };",
       "member S.a: the array is larger than 1073741824 bytes"},
      {"struct S { double a[100000000]; double b[100000000]; };",
       "struct S is larger than 1073741824 bytes (at member b)"},
      // Annotations Cyclone 0.10.2 would crash on (tests/fuzz/corpus/types_idl/cyclone-*).
      {"@final9 struct S { long a; };",
       "IDL: line 1: the annotation @final9 is not supported (supported: @key, @value, @final, "
       "@appendable, @mutable, @id, ...)"},
      {"struct S {\n  @bit_bound(3) long a; };",
       "IDL: line 2: the annotation @bit_bound is not supported (supported: @key, @value, "
       "@final, @appendable, @mutable, @id, ...)"},
      // Not in Cyclone 0.10's grammar: its syntax error, and which construct it was.
      {"struct S { any a; };",
       "IDL: line 1, column 12: syntax error (any is not supported: a record is a fixed-size C "
       "struct)"},
      {"struct S {\n  fixed<5,2> f; };",
       "IDL: line 2, column 3: syntax error (fixed is not supported: a record is a fixed-size C "
       "struct)"},
      {"struct S { wstring w; };",
       "IDL: line 1, column 12: syntax error (wstring is not supported: a record is a "
       "fixed-size C struct)"},
      {"struct S { map<long, long> m; };",
       "IDL: line 1, column 12: syntax error (map is not supported: a record is a fixed-size C "
       "struct)"},
      {"bitset B { bitfield<3> a; }; struct S { B b; };",
       "IDL: line 1, column 1: syntax error (bitset is not supported: a record is a fixed-size "
       "C struct)"},
  };
  for (const Refusal& c : others) {
    Type t(c.idl, "S");
    EXPECT_EQ(-EINVAL, t.rc) << c.idl;
    EXPECT_EQ(c.message, t.err) << c.idl;
  }
}

TEST(TypesParse, AnnotationsInCommentsAndStringsAreNotAnnotations) {
  Type t("// @foo\n/* @bar */ const string X = \"@baz\"; const char C = '@';\n"
         "@final struct S { @key long id; @appendable long x; };",
         "S");
  // @appendable on a member is Cyclone's to judge (a semantic error), not a crash.
  EXPECT_EQ(-EINVAL, t.rc);
  EXPECT_EQ(std::string::npos, t.err.find("is not supported")) << t.err;
  Type u("// @foo\n/* @bar */ const string X = \"@baz\";\n@final struct S { @key long id; };", "S");
  EXPECT_EQ(0, u.rc) << u.err;
}

TEST(TypesParse, NestingDeeperThan32IsRefused) {
  std::string idl = "struct S0 { long x; };";
  for (int i = 1; i <= 33; i++)
    idl += "struct S" + std::to_string(i) + " { S" + std::to_string(i - 1) + " s; };";
  Type ok(idl, "S32");
  EXPECT_EQ(0, ok.rc) << ok.err;
  Type deep(idl, "S33");
  EXPECT_EQ(-EINVAL, deep.rc);
  EXPECT_EQ("struct S0 is nested more than 32 deep", deep.err);
}

TEST(TypesParse, CheckIsADryRun) {
  char e[256];
  std::string idl = AllIdl();
  EXPECT_EQ(0, shmbus_type_check(idl.data(), idl.size(), "sensors::All", e, sizeof e));
  EXPECT_EQ(-EINVAL, shmbus_type_check(idl.data(), idl.size(), "sensors::X", e, sizeof e));
  EXPECT_STREQ("the IDL defines no struct named sensors::X", e);
  EXPECT_EQ(-EINVAL, shmbus_type_check(idl.data(), idl.size(), "", nullptr, 0));
  shmbus_type_free(nullptr);  // a harmless no-op
}

struct IntCase {
  const char* type;
  const char* min;
  const char* max;
  const char* below;
  const char* above;
  const char* range;
};

TEST(TypesJson, EveryIntegerTypeAtItsBoundsAndOneBeyond) {
  const IntCase cases[] = {
      {"int8", "-128", "127", "-129", "128", "int8 (-128 to 127)"},
      {"uint8", "0", "255", "-1", "256", "uint8 (0 to 255)"},
      {"octet", "0", "255", "-1", "256", "octet (0 to 255)"},
      {"short", "-32768", "32767", "-32769", "32768", "int16 (-32768 to 32767)"},
      {"int16", "-32768", "32767", "-32769", "32768", "int16 (-32768 to 32767)"},
      {"unsigned short", "0", "65535", "-1", "65536", "uint16 (0 to 65535)"},
      {"uint16", "0", "65535", "-1", "65536", "uint16 (0 to 65535)"},
      {"long", "-2147483648", "2147483647", "-2147483649", "2147483648",
       "int32 (-2147483648 to 2147483647)"},
      {"int32", "-2147483648", "2147483647", "-2147483649", "2147483648",
       "int32 (-2147483648 to 2147483647)"},
      {"unsigned long", "0", "4294967295", "-1", "4294967296", "uint32 (0 to 4294967295)"},
      {"uint32", "0", "4294967295", "-1", "4294967296", "uint32 (0 to 4294967295)"},
      {"long long", "-9223372036854775808", "9223372036854775807", "-9223372036854775809",
       "9223372036854775808", "int64 (-9223372036854775808 to 9223372036854775807)"},
      {"int64", "-9223372036854775808", "9223372036854775807", "-9223372036854775809",
       "9223372036854775808", "int64 (-9223372036854775808 to 9223372036854775807)"},
      {"unsigned long long", "0", "18446744073709551615", "-1", "18446744073709551616",
       "uint64 (0 to 18446744073709551615)"},
      {"uint64", "0", "18446744073709551615", "-1", "18446744073709551616",
       "uint64 (0 to 18446744073709551615)"},
  };
  for (const IntCase& c : cases) {
    Type t(One(std::string(c.type) + " v"), "S");
    ASSERT_EQ(0, t.rc) << t.err;
    for (const char* v : {c.min, c.max}) {
      std::string j = std::string("{\"v\":") + v + "}";
      EXPECT_EQ(j, t.RoundTrip(j)) << c.type;
    }
    for (const char* v : {c.below, c.above})
      EXPECT_EQ(std::string("v: ") + v + " is out of range for " + c.range,
                t.Error(std::string("{\"v\":") + v + "}"))
          << c.type;
    EXPECT_EQ("v: expected an integer, got 1.5", t.Error("{\"v\":1.5}")) << c.type;
    EXPECT_EQ("v: expected an integer, got a string", t.Error("{\"v\":\"1\"}")) << c.type;
    EXPECT_EQ("{\"v\":100}", t.RoundTrip("{\"v\":1e2}")) << c.type;  // an integral real
  }
}

TEST(TypesJson, SixtyFourBitExtremesAreExactInTheRecord) {
  Type t(One("uint64 u; int64 i; uint64 w[2]"), "S");
  ASSERT_EQ(0, t.rc) << t.err;
  std::vector<unsigned char> rec = t.Rec("{\"u\":18446744073709551615,\"i\":-9223372036854775808,"
                                         "\"w\":[9223372036854775808,18446744073709551614]}");
  ASSERT_EQ(32u, rec.size());
  uint64_t u, w[2];
  int64_t i;
  memcpy(&u, &rec[0], 8);
  memcpy(&i, &rec[8], 8);
  memcpy(w, &rec[16], 16);
  EXPECT_EQ(UINT64_MAX, u);
  EXPECT_EQ(INT64_MIN, i);
  EXPECT_EQ(uint64_t(1) << 63, w[0]);
  EXPECT_EQ(UINT64_MAX - 1, w[1]);
  EXPECT_EQ("{\"u\":18446744073709551615,\"i\":-9223372036854775808,"
            "\"w\":[9223372036854775808,18446744073709551614]}",
            t.Json(rec));
  // Way beyond, as an integer literal and as a real; a big literal in a string is a string.
  EXPECT_EQ("u: 99999999999999999999999 is out of range for uint64 (0 to 18446744073709551615)",
            t.Error("{\"u\":99999999999999999999999}"));
  EXPECT_EQ("u: 1e+20 is out of range for uint64 (0 to 18446744073709551615)",
            t.Error("{\"u\":1e20}"));
  EXPECT_EQ("{\"u\":10000000000000000000,\"i\":0,\"w\":[0,0]}", t.RoundTrip("{\"u\":1e19}"));
  EXPECT_EQ("u: expected an integer, got a string", t.Error("{\"u\":\"18446744073709551615\"}"));
  // A string cannot pose as the rewriter's marker.
  EXPECT_NE(std::string::npos,
            t.Error("{\"u\":18446744073709551615,\"i\":\"\\u00000\"}").find("\\u0000"));
  EXPECT_NE(std::string::npos, t.Error("{\"i\":\"\\u0000\"}").find("not valid JSON"));
}

uint32_t Bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
uint64_t Bits(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}

TEST(TypesJson, FloatAndDoubleBoundsRoundTripBitExactly) {
  Type t(One("float f; double d"), "S");
  ASSERT_EQ(0, t.rc) << t.err;
  const double ds[] = {0.0,      -0.0,      0.1,          1.0 / 3, DBL_MAX,
                       -DBL_MAX, DBL_MIN,   DBL_TRUE_MIN, 1e300,   123456789.123456789,
                       INFINITY, -INFINITY, 5e-324,       2.5};
  const float fs[] = {0.0f,     -0.0f,     0.1f,         1.0f / 3,    FLT_MAX,
                      -FLT_MAX, FLT_MIN,   FLT_TRUE_MIN, 16777217.0f, 3.14159265f,
                      INFINITY, -INFINITY, 1e-45f,       2.5f};
  for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
    std::vector<unsigned char> rec(16, 0);
    memcpy(&rec[0], &fs[k], 4);
    memcpy(&rec[8], &ds[k], 8);
    std::string json = t.Json(rec);
    std::vector<unsigned char> back = t.Rec(json);
    ASSERT_EQ(16u, back.size()) << json;
    float f;
    double d;
    memcpy(&f, &back[0], 4);
    memcpy(&d, &back[8], 8);
    EXPECT_EQ(Bits(fs[k]), Bits(f)) << json;
    EXPECT_EQ(Bits(ds[k]), Bits(d)) << json;
  }
  EXPECT_EQ("{\"f\":0.1,\"d\":0.1}", t.RoundTrip("{\"f\":0.1,\"d\":0.1}"));  // shortest
  EXPECT_EQ("{\"f\":-0.0,\"d\":-0.0}", t.RoundTrip("{\"f\":-0.0,\"d\":-0.0}"));
  EXPECT_EQ("{\"f\":3.4028235e+38,\"d\":1.7976931348623157e+308}",
            t.RoundTrip("{\"f\":3.4028235e38,\"d\":1.7976931348623157e308}"));
  EXPECT_EQ("{\"f\":\"Infinity\",\"d\":\"-Infinity\"}",
            t.RoundTrip("{\"f\":\"Infinity\",\"d\":\"-Infinity\"}"));
  EXPECT_EQ("{\"f\":\"NaN\",\"d\":\"NaN\"}", t.RoundTrip("{\"f\":\"NaN\",\"d\":\"NaN\"}"));
  EXPECT_EQ("{\"f\":1,\"d\":-7}", t.RoundTrip("{\"f\":1,\"d\":-7}"));
  EXPECT_EQ("{\"f\":0,\"d\":1.8446744073709552e+19}", t.RoundTrip("{\"d\":18446744073709551616}"));
  EXPECT_EQ("f: 3.5e+38 is out of range for float32 (largest 3.4028235e+38)",
            t.Error("{\"f\":3.5e38}"));
  EXPECT_EQ("d: expected a number (or \"NaN\", \"Infinity\", \"-Infinity\"), got a string "
            "\"nan\"",
            t.Error("{\"d\":\"nan\"}"));
  EXPECT_EQ("d: expected a number (or \"NaN\", \"Infinity\", \"-Infinity\"), got true",
            t.Error("{\"d\":true}"));
  // Every NaN is "NaN" (the payload is not kept); a signalling or negative NaN too.
  std::vector<unsigned char> rec(16, 0);
  uint64_t nan = 0xfff0000000000001ull;
  memcpy(&rec[8], &nan, 8);
  EXPECT_EQ("{\"f\":0,\"d\":\"NaN\"}", t.Json(rec));
}

TEST(TypesJson, EnumsByNameUnknownNumbersAsNumbers) {
  Type t(AllIdl(), "sensors::All");
  ASSERT_EQ(0, t.rc) << t.err;
  Type e("enum Mode { IDLE, RUN, @value(10) FAULT }; struct S { Mode m; Mode ms[2]; };", "S");
  ASSERT_EQ(0, e.rc) << e.err;
  EXPECT_EQ("{\"m\":\"FAULT\",\"ms\":[\"RUN\",7]}", e.RoundTrip("{\"m\":10,\"ms\":[\"RUN\",7]}"));
  EXPECT_EQ("{\"m\":4294967295,\"ms\":[\"IDLE\",\"IDLE\"]}", e.RoundTrip("{\"m\":4294967295}"));
  EXPECT_EQ("m: \"STOP\" is not an enumerator of Mode", e.Error("{\"m\":\"STOP\"}"));
  EXPECT_EQ("ms[1]: -1 is out of range for an enum (0 to 4294967295)", e.Error("{\"ms\":[0,-1]}"));
  std::vector<unsigned char> rec = e.Rec("{\"m\":\"FAULT\"}");
  ASSERT_EQ(12u, rec.size());
  uint32_t v;
  memcpy(&v, &rec[0], 4);
  EXPECT_EQ(10u, v);
}

TEST(TypesJson, CharArraysAreLatin1StringsAndTooLongIsAnError) {
  Type t(One("char name[4]; char names[2][3]; char c"), "S");
  ASSERT_EQ(0, t.rc) << t.err;
  EXPECT_EQ(11u, shmbus_type_size(t.t));
  EXPECT_EQ("{\"name\":\"abcd\",\"names\":[\"x\",\"\"],\"c\":\"q\"}",
            t.RoundTrip("{\"name\":\"abcd\",\"names\":[\"x\",\"\"],\"c\":\"q\"}"));
  EXPECT_EQ("name: the string is longer than the 4 characters the field holds",
            t.Error("{\"name\":\"abcde\"}"));
  EXPECT_EQ("c: the string is longer than the 1 character the field holds",
            t.Error("{\"c\":\"ab\"}"));
  EXPECT_EQ("names[1]: the string is longer than the 3 characters the field holds",
            t.Error("{\"names\":[\"\",\"abcd\"]}"));
  EXPECT_EQ("name: character 2 is not in ISO 8859-1 (Latin-1), the character set of IDL char",
            t.Error("{\"name\":\"a\xe2\x82\xac\"}"));  // a euro sign
  EXPECT_EQ("name: expected a string, got an integer", t.Error("{\"name\":3}"));
  // é is one byte (0xE9) in the record and UTF-8 in JSON.
  std::vector<unsigned char> rec = t.Rec("{\"name\":\"\xc3\xa9t\xc3\xa9\",\"c\":\"\xc3\xbf\"}");
  ASSERT_EQ(11u, rec.size());
  EXPECT_EQ(0xE9, rec[0]);
  EXPECT_EQ('t', rec[1]);
  EXPECT_EQ(0xE9, rec[2]);
  EXPECT_EQ(0, rec[3]);
  EXPECT_EQ(0xFF, rec[10]);
  // Up to the first NUL; what follows it is not shown. Control characters are escaped.
  std::vector<unsigned char> raw = {'a', 0, 'z', 'z', '"', '\\', 1, 'q', 0, 0, 0};
  EXPECT_EQ("{\"name\":\"a\",\"names\":[\"\\\"\\\\\\u0001\",\"q\"],\"c\":\"\"}", t.Json(raw));
}

TEST(TypesJson, BooleansAnyNonZeroByteIsTrue) {
  Type t(One("boolean b; boolean bs[2]"), "S");
  ASSERT_EQ(0, t.rc) << t.err;
  EXPECT_EQ("{\"b\":true,\"bs\":[false,true]}", t.RoundTrip("{\"b\":true,\"bs\":[0,1]}"));
  std::vector<unsigned char> raw = {7, 0, 0x80};
  EXPECT_EQ("{\"b\":true,\"bs\":[false,true]}", t.Json(raw));
  EXPECT_EQ("b: expected true or false, got an integer", t.Error("{\"b\":2}"));
}

TEST(TypesJson, ErrorsNameTheFieldAndWriteNothing) {
  Type t(AllIdl(), "sensors::All");
  ASSERT_EQ(0, t.rc) << t.err;
  EXPECT_EQ("bogus: unknown field (sensors::All has i8, u8, i16, u16, i32, u32, i64, u64, x16, "
            "y16, x32, y32, x64, y64, f32, f64, b, c, o, mode, name, names, acc, tails, m, p, "
            "fl, grid, bytes, modes, flags, last)",
            t.Error("{\"bogus\":1}"));
  EXPECT_EQ("acc.w: unknown field (sensors::Vec3 has x, y, z)", t.Error("{\"acc\":{\"w\":1}}"));
  EXPECT_EQ("tails[1].c: expected a string, got an integer", t.Error("{\"tails\":[{},{\"c\":5}]}"));
  EXPECT_EQ("acc: expected an object (a sensors::Vec3), got an array", t.Error("{\"acc\":[1]}"));
  EXPECT_EQ("m: expected an array of 2 elements, got 3", t.Error("{\"m\":[[],[],[]]}"));
  EXPECT_EQ("m[1]: expected an array of 3 elements, got 2", t.Error("{\"m\":[[1,2,3],[1,2]]}"));
  EXPECT_EQ("grid[1][2][0]: expected a number (or \"NaN\", \"Infinity\", \"-Infinity\"), got "
            "null",
            t.Error("{\"grid\":[[[0,0],[0,0],[0,0]],[[0,0],[0,0],[null,0]]]}"));
  EXPECT_EQ("bytes: expected an array of 3 elements, got an integer", t.Error("{\"bytes\":3}"));
  EXPECT_EQ("fl.b: 65536 is out of range for uint16 (0 to 65535)",
            t.Error("{\"fl\":{\"b\":65536}}"));
  EXPECT_EQ("modes[0]: \"WALK\" is not an enumerator of sensors::Mode",
            t.Error("{\"modes\":[\"WALK\",\"RUN\"]}"));
  EXPECT_EQ("expected a JSON object, got an array", t.Error("[1,2]"));
  EXPECT_NE(std::string::npos, t.Error("{\"i8\":1,}").find("not valid JSON:"));
  EXPECT_NE(std::string::npos, t.Error("{\"i8\":1} x").find("not valid JSON:"));
  EXPECT_NE(std::string::npos, t.Error("{\"i8\":1,\"i8\":2}").find("duplicate"));
  EXPECT_NE(std::string::npos, t.Error("").find("not valid JSON:"));
  // Nothing is written unless the whole object converts.
  std::vector<unsigned char> rec(shmbus_type_size(t.t), 0x5A);
  char e[256];
  std::string bad = "{\"i8\":1,\"u8\":256}";
  EXPECT_EQ(-EINVAL, shmbus_type_from_json(t.t, bad.data(), bad.size(), rec.data(), rec.size(), e,
                                           sizeof e));
  for (unsigned char c : rec) ASSERT_EQ(0x5A, c);
  EXPECT_EQ(-EMSGSIZE,
            shmbus_type_from_json(t.t, "{}", 2, rec.data(), rec.size() - 1, e, sizeof e));
  EXPECT_STREQ("the buffer is 327 bytes; a sensors::All is 328", e);
}

TEST(TypesJson, MissingFieldsAreZeroAndPaddingIsZero) {
  Type t(AllIdl(), "sensors::All");
  ASSERT_EQ(0, t.rc) << t.err;
  std::vector<unsigned char> rec = t.Rec("{\"tails\":[{\"d\":1,\"c\":\"x\"},{}]}");
  ASSERT_EQ(shmbus_type_size(t.t), rec.size());
  size_t nonzero = 0;
  for (unsigned char c : rec) nonzero += c != 0;
  EXPECT_EQ(3u, nonzero);  // 1.0 is 00..f0 3f: two bytes; 'x' one
}

const char* kRich =
    "{\"i8\":-128,\"u8\":255,\"i16\":-32768,\"u16\":65535,\"i32\":-2147483648,"
    "\"u32\":4294967295,\"i64\":-9223372036854775808,\"u64\":18446744073709551615,"
    "\"x16\":32767,\"y16\":1,\"x32\":2147483647,\"y32\":2,\"x64\":9223372036854775807,"
    "\"y64\":9007199254740993,\"f32\":3.4028235e+38,\"f64\":-0.0,\"b\":true,\"c\":\"Z\","
    "\"o\":200,\"mode\":\"FAULT\",\"name\":\"imu-1\",\"names\":[\"ab\",\"\xc3\xa9\"],"
    "\"acc\":{\"x\":0.1,\"y\":\"NaN\",\"z\":\"-Infinity\"},"
    "\"tails\":[{\"d\":1e-300,\"c\":\"q\"},{\"d\":5e-324,\"c\":\"\"}],"
    "\"m\":[[1.5,-2,1e-45],[\"Infinity\",0.1,-0.0]],\"p\":{\"x\":1,\"y\":2,\"z\":3},"
    "\"fl\":{\"a\":true,\"b\":65535},"
    "\"grid\":[[[1,2],[3,4],[5,6]],[[7,8],[9,10],[11,1.7976931348623157e+308]]],"
    "\"bytes\":[0,127,255],\"modes\":[\"RUN\",3],\"flags\":[true,false,true],\"last\":\"!\"}";

TEST(TypesJson, RichRecordRoundTripsExactly) {
  Type t(AllIdl(), "sensors::All");
  ASSERT_EQ(0, t.rc) << t.err;
  EXPECT_EQ(kRich, t.RoundTrip(kRich));
  // And the record made from that JSON is what it was made from, byte for byte.
  std::vector<unsigned char> a = t.Rec(kRich), b = t.Rec(t.Json(a));
  EXPECT_EQ(a, b);
}

TEST(TypesText, FieldEqualsValuePairs) {
  Type t("enum M { A, B }; struct V { double x; float y; }; "
         "struct S { V v; M m; char s[4]; int8 a[2][2]; V vs[2]; };",
         "S");
  ASSERT_EQ(0, t.rc) << t.err;
  std::vector<unsigned char> rec =
      t.Rec("{\"v\":{\"x\":1.5,\"y\":\"NaN\"},\"m\":\"B\",\"s\":\"a b\",\"a\":[[1,2],[3,-4]],"
            "\"vs\":[{\"x\":-0.0},{\"y\":0.1}]}");
  char *out = nullptr, e[256];
  ssize_t n = shmbus_type_to_text(t.t, rec.data(), rec.size(), &out, e, sizeof e);
  ASSERT_GT(n, 0) << e;
  EXPECT_EQ("v.x=1.5 v.y=\"NaN\" m=\"B\" s=\"a b\" a[0][0]=1 a[0][1]=2 a[1][0]=3 a[1][1]=-4 "
            "vs[0].x=-0.0 vs[0].y=0 vs[1].x=0 vs[1].y=0.1",
            std::string(out, (size_t)n));
  free(out);
  EXPECT_EQ(-EMSGSIZE, shmbus_type_to_text(t.t, rec.data(), 3, &out, e, sizeof e));
  EXPECT_EQ(-EMSGSIZE, shmbus_type_to_json(t.t, rec.data(), rec.size() + 1, &out, e, sizeof e));
}

std::string Field(const Type& t, const std::vector<unsigned char>& rec, const char* path,
                  int* rc = nullptr) {
  char *out = nullptr, e[256] = "";
  ssize_t n = shmbus_type_field(t.t, rec.data(), rec.size(), path, &out, e, sizeof e);
  if (rc) *rc = n < 0 ? (int)n : 0;
  std::string s = n >= 0 ? std::string(out, (size_t)n) : std::string("error: ") + e;
  free(out);
  return s;
}

TEST(TypesField, PathsSelectOneFieldOrASubtree) {
  Type t(AllIdl(), "sensors::All");
  ASSERT_EQ(0, t.rc) << t.err;
  std::vector<unsigned char> rec = t.Rec(kRich);
  EXPECT_EQ("18446744073709551615", Field(t, rec, "u64"));
  EXPECT_EQ("0.1", Field(t, rec, "acc.x"));
  EXPECT_EQ("{\"x\":0.1,\"y\":\"NaN\",\"z\":\"-Infinity\"}", Field(t, rec, "acc"));
  EXPECT_EQ("[\"Infinity\",0.1,-0.0]", Field(t, rec, "m[1]"));
  EXPECT_EQ("1e-45", Field(t, rec, "m[0][2]"));
  EXPECT_EQ("\"q\"", Field(t, rec, "tails[0].c"));
  EXPECT_EQ("1.7976931348623157e+308", Field(t, rec, "grid[1][2][1]"));
  EXPECT_EQ("[[7,8],[9,10],[11,1.7976931348623157e+308]]", Field(t, rec, "grid[1]"));
  EXPECT_EQ("\"imu-1\"", Field(t, rec, "name"));
  EXPECT_EQ("\"\xc3\xa9\"", Field(t, rec, "names[1]"));
  EXPECT_EQ("\"FAULT\"", Field(t, rec, "mode"));
  EXPECT_EQ("65535", Field(t, rec, "fl.b"));
  int rc;
  EXPECT_EQ("error: nope: no such field", Field(t, rec, "nope", &rc));
  EXPECT_EQ(-ENOENT, rc);
  EXPECT_EQ("error: m[2]: index out of range", Field(t, rec, "m[2]"));
  EXPECT_EQ("error: m[0][0][0]: too many indices", Field(t, rec, "m[0][0][0]"));
  EXPECT_EQ("error: name[1]: a char array is one string; it has no elements",
            Field(t, rec, "name[1]"));
  EXPECT_EQ("error: acc.w: no such field", Field(t, rec, "acc.w"));
  EXPECT_EQ("error: tails.d: only a struct element has members", Field(t, rec, "tails.d"));
  EXPECT_EQ("error: u8.x: only a struct element has members", Field(t, rec, "u8.x"));
  EXPECT_EQ("error: m[x]: expected a number after [", Field(t, rec, "m[x]"));
  EXPECT_EQ("error: m[1: expected ] after the index", Field(t, rec, "m[1"));
  EXPECT_EQ("error: : no such field", Field(t, rec, ""));
}

TEST(TypesField, NumbersOfNumericBooleanAndEnumScalars) {
  Type t(AllIdl(), "sensors::All");
  ASSERT_EQ(0, t.rc) << t.err;
  std::vector<unsigned char> rec = t.Rec(kRich);
  char e[256];
  double v = 0;
  struct {
    const char* path;
    double want;
  } cases[] = {{"i8", -128},
               {"u64", 18446744073709551615.0},
               {"mode", 10},
               {"b", 1},
               {"o", 200},
               {"fl.b", 65535},
               {"m[0][0]", 1.5},
               {"modes[1]", 3},
               {"tails[0].d", 1e-300},
               {"f32", FLT_MAX}};
  for (auto& c : cases) {
    ASSERT_EQ(0, shmbus_type_field_number(t.t, rec.data(), rec.size(), c.path, &v, e, sizeof e))
        << c.path << ": " << e;
    EXPECT_EQ(c.want, v) << c.path;
  }
  EXPECT_EQ(-EINVAL, shmbus_type_field_number(t.t, rec.data(), rec.size(), "acc", &v, e, sizeof e));
  EXPECT_STREQ("acc is not a number, a boolean or an enum", e);
  EXPECT_EQ(-EINVAL,
            shmbus_type_field_number(t.t, rec.data(), rec.size(), "m[0]", &v, e, sizeof e));
  EXPECT_EQ(-EINVAL,
            shmbus_type_field_number(t.t, rec.data(), rec.size(), "name", &v, e, sizeof e));
  EXPECT_EQ(-EINVAL, shmbus_type_field_number(t.t, rec.data(), rec.size(), "c", &v, e, sizeof e));
  EXPECT_EQ(-ENOENT, shmbus_type_field_number(t.t, rec.data(), rec.size(), "zz", &v, e, sizeof e));
  EXPECT_EQ(-EMSGSIZE, shmbus_type_field_number(t.t, rec.data(), 1, "i8", &v, e, sizeof e));
}

std::string Hex(const unsigned char* p, size_t n) {
  std::string s;
  char b[3];
  for (size_t i = 0; i < n; i++) {
    snprintf(b, sizeof b, "%02x", p[i]);
    s += b;
  }
  return s;
}

TEST(TypesCdr, AlignmentIsRelativeToThePayloadAndStructsHaveNoPadding) {
  Type t("enum M { A, B }; struct T { double d; char c; };"
         "struct S { octet a; double b; boolean c; M m; int16 s[2]; T t[2]; uint8 x; "
         "char name[3]; uint64 u; };",
         "S");
  ASSERT_EQ(0, t.rc) << t.err;
  EXPECT_EQ(80u, shmbus_type_size(t.t));  // C: a@0 b@8 c@16 m@20 s@24 t@32 x@64 name@65 u@72
  std::vector<unsigned char> rec =
      t.Rec("{\"a\":1,\"b\":-2,\"c\":true,\"m\":\"B\",\"s\":[3,-1],"
            "\"t\":[{\"d\":0.5,\"c\":\"x\"},{\"d\":1,\"c\":\"y\"}],\"x\":9,\"name\":\"ab\","
            "\"u\":18446744073709551615}");
  ASSERT_EQ(80u, rec.size());
  const size_t want_size = 76;
  EXPECT_EQ(want_size, shmbus_type_cdr_size(t.t));
  std::vector<unsigned char> cdr(want_size + 8, 0xEE);
  ASSERT_EQ((ssize_t)want_size,
            shmbus_type_to_cdr(t.t, rec.data(), rec.size(), cdr.data(), cdr.size()));
  EXPECT_EQ("00010000"  // CDR_LE encapsulation header
            "01"
            "00000000000000"    // a, pad to 8 (relative to the payload)
            "00000000000000c0"  // b = -2.0
            "01"
            "000000"    // c, pad to 4
            "01000000"  // m = B
            "0300"
            "ffff"      // s
            "00000000"  // pad to 8 (payload offset 28)
            "000000000000e03f"
            "78"              // t[0]: no trailing padding in CDR
            "00000000000000"  // pad to 8 for t[1].d
            "000000000000f03f"
            "79"  // t[1]
            "09"
            "616200"             // x, name (3 bytes)
            "000000"             // pad to 8 (payload offset 61)
            "ffffffffffffffff",  // u
            Hex(cdr.data(), want_size));
  EXPECT_EQ(0xEE, cdr[want_size]);  // nothing written beyond
  // A boolean byte other than 0 or 1 goes out as 1.
  rec[16] = 0x7F;
  ASSERT_EQ((ssize_t)want_size,
            shmbus_type_to_cdr(t.t, rec.data(), rec.size(), cdr.data(), cdr.size()));
  EXPECT_EQ(1, cdr[4 + 16]);
  EXPECT_EQ(-EMSGSIZE, shmbus_type_to_cdr(t.t, rec.data(), rec.size(), cdr.data(), want_size - 1));
  EXPECT_EQ(-EMSGSIZE, shmbus_type_to_cdr(t.t, rec.data(), rec.size() - 1, cdr.data(), cdr.size()));
}

TEST(TypesCdr, SizeOfLargeArraysOfStructsIsComputedWithoutVisitingEachElement) {
  // shmbus_type_cdr_size() skips whole periods of cdr_delta; shmbus_type_to_cdr() visits every
  // element and returns the length it wrote: they must agree, whatever the element's phase.
  const char* elems[] = {"char c; int32 i; char d;", "char c[3]; double d;",
                         "int16 s; char c;",         "char c;",
                         "double d; char c;",        "uint8 a; uint16 b; uint8 c[5];"};
  for (const char* e : elems)
    for (int count : {1, 2, 3, 7, 8, 9, 17, 100001}) {
      std::string idl = std::string("struct E { ") + e + " }; struct S { octet o; E e[" +
                        std::to_string(count) + "]; char z; E f[3]; };";
      Type t(idl, "S");
      ASSERT_EQ(0, t.rc) << t.err;
      std::vector<unsigned char> rec(shmbus_type_size(t.t), 0);
      std::vector<unsigned char> cdr(shmbus_type_cdr_size(t.t));
      EXPECT_EQ((ssize_t)cdr.size(),
                shmbus_type_to_cdr(t.t, rec.data(), rec.size(), cdr.data(), cdr.size()))
          << idl;
    }
}

// shmbus_type_from_cdr(): the inverse of to_cdr, over untrusted bytes.
std::vector<unsigned char> FromHex(const std::string& h) {
  std::vector<unsigned char> v;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    v.push_back((unsigned char)std::stoi(h.substr(i, 2), nullptr, 16));
  return v;
}

ssize_t FromCdr(const Type& t, const std::vector<unsigned char>& cdr,
                std::vector<unsigned char>* rec, std::string* error = nullptr) {
  char e[512] = "";
  rec->assign(shmbus_type_size(t.t), 0xAA);
  ssize_t n =
      shmbus_type_from_cdr(t.t, cdr.data(), cdr.size(), rec->data(), rec->size(), e, sizeof e);
  if (error) *error = e;
  return n;
}

std::vector<unsigned char> ToCdr(const Type& t, const std::vector<unsigned char>& rec) {
  std::vector<unsigned char> cdr(shmbus_type_cdr_size(t.t));
  EXPECT_EQ((ssize_t)cdr.size(),
            shmbus_type_to_cdr(t.t, rec.data(), rec.size(), cdr.data(), cdr.size()));
  return cdr;
}

TEST(TypesFromCdr, EveryRecordOfEveryTypeReadsBackToTheSameBytes) {
  Type t(AllIdl(), "sensors::All");
  ASSERT_EQ(0, t.rc) << t.err;
  const char* records[] = {
      "{}",
      "{\"i8\":-128,\"u8\":255,\"i16\":-32768,\"u16\":65535,\"i32\":-2147483648,"
      "\"u32\":4294967295,\"i64\":-9223372036854775808,\"u64\":18446744073709551615,"
      "\"f32\":\"NaN\",\"f64\":-0.0,\"b\":true,\"c\":\"\\u00ff\",\"o\":200,\"mode\":4294967295,"
      "\"name\":\"12345678\",\"names\":[\"ab\",\"wxyz\"],\"acc\":{\"x\":0.1,\"y\":\"Infinity\","
      "\"z\":5e-324},\"tails\":[{\"d\":1,\"c\":\"q\"},{\"d\":\"-Infinity\",\"c\":\"\"}],"
      "\"m\":[[1.5,-2,1e-45],[\"Infinity\",0.1,-0.0]],\"fl\":{\"a\":true,\"b\":65535},"
      "\"grid\":[[[1,2],[3,4],[5,6]],[[7,8],[9,10],[11,-1.7976931348623157e+308]]],"
      "\"bytes\":[0,127,255],\"modes\":[\"RUN\",3],\"flags\":[true,false,true],\"last\":\"!\"}",
  };
  for (const char* json : records) {
    std::vector<unsigned char> rec = t.Rec(json), back;
    ASSERT_FALSE(rec.empty()) << json;
    std::vector<unsigned char> cdr = ToCdr(t, rec);
    std::string error;
    ASSERT_EQ((ssize_t)rec.size(), FromCdr(t, cdr, &back, &error)) << error;
    EXPECT_EQ(Hex(rec.data(), rec.size()), Hex(back.data(), back.size())) << json;  // NaN bits too
  }
}

TEST(TypesFromCdr, PaddingIsIgnoredBooleansAnyByteEnumsAsTheyAreBigEndianSwapped) {
  Type t("enum M { A, B }; struct T { double d; char c; };"
         "struct S { octet a; double b; boolean c; M m; int16 s[2]; T t[2]; uint8 x; "
         "char name[3]; uint64 u; };",
         "S");
  ASSERT_EQ(0, t.rc) << t.err;
  // The CDR of AlignmentIsRelativeToThePayload..., with 0xEE in every padding byte, the
  // boolean as 0x7F and the enum as 12345 (no name).
  std::string le = "00010000"
                   "01"
                   "eeeeeeeeeeeeee"
                   "00000000000000c0"
                   "7f"
                   "eeeeee"
                   "39300000"
                   "0300"
                   "ffff"
                   "eeeeeeee"
                   "000000000000e03f"
                   "78"
                   "eeeeeeeeeeeeee"
                   "000000000000f03f"
                   "79"
                   "09"
                   "616200"
                   "eeeeee"
                   "ffffffffffffffff";
  std::vector<unsigned char> rec;
  std::string error;
  ASSERT_EQ(80, FromCdr(t, FromHex(le), &rec, &error)) << error;
  EXPECT_EQ("{\"a\":1,\"b\":-2,\"c\":true,\"m\":12345,\"s\":[3,-1],\"t\":[{\"d\":0.5,\"c\":\"x\"},"
            "{\"d\":1,\"c\":\"y\"}],\"x\":9,\"name\":\"ab\",\"u\":18446744073709551615}",
            t.Json(rec));
  EXPECT_EQ(1, rec[16]);  // the C bool is 0 or 1
  // The record's own padding is zero, whatever the CDR's was: a@0, pad 1..7; c@16, pad 17..19.
  for (size_t i : {1, 7, 17, 19, 28, 31, 41, 47, 57, 63, 68, 71}) EXPECT_EQ(0, rec[i]) << i;
  // The same message big-endian (CDR_BE): every primitive swapped, chars and octets as they are.
  std::string be = "00000000"
                   "01"
                   "00000000000000"
                   "c000000000000000"
                   "01"
                   "000000"
                   "00003039"
                   "0003"
                   "ffff"
                   "00000000"
                   "3fe0000000000000"
                   "78"
                   "00000000000000"
                   "3ff0000000000000"
                   "79"
                   "09"
                   "616200"
                   "000000"
                   "ffffffffffffffff";
  std::vector<unsigned char> rec_be;
  ASSERT_EQ(80, FromCdr(t, FromHex(be), &rec_be, &error)) << error;
  EXPECT_EQ(Hex(rec.data(), rec.size()), Hex(rec_be.data(), rec_be.size()));
}

TEST(TypesFromCdr, TruncatedOversizedAndForeignInputIsRefusedAndLeavesTheRecordAlone) {
  Type t(AllIdl(), "sensors::All");
  ASSERT_EQ(0, t.rc) << t.err;
  std::vector<unsigned char> cdr = ToCdr(t, t.Rec("{\"i8\":5,\"last\":\"z\"}")), rec;
  const std::vector<unsigned char> untouched(shmbus_type_size(t.t), 0xAA);
  std::string error;
  for (size_t n = 0; n < cdr.size(); n++) {  // every truncation
    std::vector<unsigned char> cut(cdr.begin(), cdr.begin() + (long)n);
    ASSERT_EQ(-EBADMSG, FromCdr(t, cut, &rec, &error)) << n;
    EXPECT_EQ(untouched, rec) << n;
    EXPECT_NE(std::string::npos, error.find(n < 4 ? "too short" : "truncated")) << n << error;
  }
  for (size_t extra = 1; extra <= 3; extra++) {  // the padding to 4 that DDS writers add
    std::vector<unsigned char> padded = cdr;
    padded.resize(cdr.size() + extra, 0);
    EXPECT_EQ((ssize_t)rec.size(), FromCdr(t, padded, &rec, &error)) << error;
  }
  std::vector<unsigned char> longer = cdr;
  longer.resize(cdr.size() + 4, 0);
  EXPECT_EQ(-EBADMSG, FromCdr(t, longer, &rec, &error));
  EXPECT_NE(std::string::npos, error.find("not a message of this type")) << error;
  EXPECT_EQ(untouched, rec);
  std::vector<unsigned char> big(1 << 20, 0);  // a 1 MiB message of something else
  big[1] = 1;
  EXPECT_EQ(-EBADMSG, FromCdr(t, big, &rec, &error));
  std::vector<unsigned char> other = cdr;
  other[1] = 0x07;  // XCDR2 little-endian
  EXPECT_EQ(-ENOTSUP, FromCdr(t, other, &rec, &error));
  EXPECT_NE(std::string::npos, error.find("XCDR2")) << error;
  other[1] = 0x03;  // PL_CDR
  EXPECT_EQ(-ENOTSUP, FromCdr(t, other, &rec, &error));
  // Not an encapsulation header.
  other[0] = 0x01;
  other[1] = 0x00;
  EXPECT_EQ(-EBADMSG, FromCdr(t, other, &rec, &error));
  EXPECT_NE(std::string::npos, error.find("not CDR")) << error;
  EXPECT_EQ(untouched, rec);
  std::vector<unsigned char> small(shmbus_type_size(t.t) - 1);
  char e[128];
  EXPECT_EQ(-EMSGSIZE, shmbus_type_from_cdr(t.t, cdr.data(), cdr.size(), small.data(), small.size(),
                                            e, sizeof e));
  EXPECT_EQ(-EBADMSG, shmbus_type_from_cdr(t.t, nullptr, 0, small.data(), 1 << 20, nullptr, 0));
}

TEST(TypesFromCdr, LargeArraysOfStructsAtEveryPhaseRoundTrip) {
  // to_cdr(from_cdr(to_cdr(rec))) == to_cdr(rec) for records of random bytes (booleans aside,
  // none here), whatever the phase of each element: from_cdr walks exactly where to_cdr wrote.
  const char* elems[] = {"char c; int32 i; char d;", "char c[3]; double d;", "int16 s; char c;",
                         "double d; char c;", "uint8 a; uint16 b; uint8 c[5]; float f[3];"};
  unsigned seed = 1;
  for (const char* e : elems)
    for (int count : {1, 3, 9, 1001}) {
      std::string idl = std::string("struct E { ") + e + " }; struct S { octet o; E e[" +
                        std::to_string(count) + "]; char z; E f[3]; uint8 img[1001]; uint64 u; };";
      Type t(idl, "S");
      ASSERT_EQ(0, t.rc) << t.err;
      std::vector<unsigned char> rec(shmbus_type_size(t.t)), back;
      for (auto& b : rec) b = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 16);
      std::vector<unsigned char> cdr = ToCdr(t, rec);
      std::string error;
      ASSERT_EQ((ssize_t)rec.size(), FromCdr(t, cdr, &back, &error)) << idl << error;
      EXPECT_EQ(cdr, ToCdr(t, back)) << idl;
    }
}

TEST(TypesDescribe, LayoutAsJson) {
  Type t("module m { enum E { A, @value(5) B }; struct V { float x; char tag[3]; }; };"
         "struct S { uint8 a; m::V v[2]; m::E e; double g[2][3]; char names[4][8]; };",
         "S");
  ASSERT_EQ(0, t.rc) << t.err;
  char* out = nullptr;
  ssize_t n = shmbus_type_describe(t.t, &out);
  ASSERT_GT(n, 0);
  EXPECT_EQ("{\"name\":\"S\",\"size\":104,\"align\":8,\"fields\":["
            "{\"name\":\"a\",\"offset\":0,\"type\":\"uint8\",\"dims\":[]},"
            "{\"name\":\"v\",\"offset\":4,\"type\":{\"struct\":\"m::V\",\"size\":8,\"align\":4,"
            "\"fields\":[{\"name\":\"x\",\"offset\":0,\"type\":\"float32\",\"dims\":[]},"
            "{\"name\":\"tag\",\"offset\":4,\"type\":{\"chars\":3},\"dims\":[]}]},\"dims\":[2]},"
            "{\"name\":\"e\",\"offset\":20,\"type\":{\"enum\":\"m::E\",\"size\":4,"
            "\"values\":{\"A\":0,\"B\":5}},\"dims\":[]},"
            "{\"name\":\"g\",\"offset\":24,\"type\":\"float64\",\"dims\":[2,3]},"
            "{\"name\":\"names\",\"offset\":72,\"type\":{\"chars\":8},\"dims\":[4]}]}",
            std::string(out, (size_t)n));
  free(out);
}

}  // namespace
