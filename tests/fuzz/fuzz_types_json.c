/* fuzz_types_json.c - fuzz target: shmbus_type_from_json() over arbitrary JSON against a fixed
 * rich type (every supported construct: types/testdata/all.idl's sensors::All).
 * Checks: a refusal says why and leaves the record untouched; an accepted record prints as
 * JSON that reads back to the same bytes (NaN payloads aside: every NaN prints as "NaN"), and
 * converts to text, CDR and fields. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_common.h"
#include "types/shmbus_types.h"

static const char kIdl[] =
    "module sensors {\n"
    "  const long N = 3;\n"
    "  enum Mode { IDLE, RUN, @value(10) FAULT };\n"
    "  struct Vec3 { double x, y, z; };\n"
    "  struct Tail { double d; char c; };\n"
    "  typedef float Row[N];\n"
    "  typedef Row Mat[2];\n"
    "  typedef Vec3 Point;\n"
    "  module inner { struct Flags { boolean a; uint16 b; }; };\n"
    "  struct All {\n"
    "    int8 i8; uint8 u8; short i16; unsigned short u16; long i32; unsigned long u32;\n"
    "    long long i64; unsigned long long u64; int16 x16; uint16 y16; int32 x32; uint32 y32;\n"
    "    int64 x64; uint64 y64; float f32; double f64; boolean b; char c; octet o;\n"
    "    Mode mode; char name[8]; char names[2][4]; Vec3 acc; Tail tails[2]; Mat m; Point p;\n"
    "    inner::Flags fl; double grid[2][3][2]; uint8 bytes[3]; Mode modes[2];\n"
    "    boolean flags[3]; char last;\n"
    "  };\n"
    "};\n";

static shmbus_type *type(void) {
  static shmbus_type *t;
  char err[256];
  if (t == NULL && shmbus_type_parse(kIdl, sizeof kIdl - 1, "sensors::All", &t, err, sizeof err))
    fuzz_fail("the fixed type does not parse: %s", err);
  return t;
}

/* Same bytes, except that any two NaNs of a float or double member compare equal: a record
 * read from JSON holds the one NaN strtod makes. Compared through JSON text instead. */
static void check_round_trip(const shmbus_type *t, const unsigned char *rec, size_t size) {
  char *j1 = NULL, *j2 = NULL, err[256];
  unsigned char *back = malloc(size);
  ssize_t n = shmbus_type_to_json(t, rec, size, &j1, err, sizeof err);
  if (n <= 0) fuzz_fail("to_json: %s", err);
  if (shmbus_type_from_json(t, j1, (size_t)n, back, size, err, sizeof err) != (ssize_t)size)
    fuzz_fail("our own JSON does not read back: %s\n%s", err, j1);
  if (shmbus_type_to_json(t, back, size, &j2, err, sizeof err) != n || memcmp(j1, j2, (size_t)n))
    fuzz_fail("JSON -> record -> JSON changed:\n%s\n%s", j1, j2);
  free(j1);
  free(j2);
  free(back);
}

static void check_others(const shmbus_type *t, const unsigned char *rec, size_t size) {
  char *out = NULL, err[256];
  double v;
  unsigned char cdr[1024];
  if (shmbus_type_to_text(t, rec, size, &out, err, sizeof err) < 0) fuzz_fail("to_text: %s", err);
  free(out);
  if (shmbus_type_to_cdr(t, rec, size, cdr, sizeof cdr) != (ssize_t)shmbus_type_cdr_size(t))
    fuzz_fail("to_cdr");
  const char *paths[] = {"u64", "grid[1][2][1]", "tails[1].c", "names[1]", "acc", "m[1]"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    if (shmbus_type_field(t, rec, size, paths[i], &out, err, sizeof err) < 0)
      fuzz_fail("field %s: %s", paths[i], err);
    free(out);
  }
  if (shmbus_type_field_number(t, rec, size, "mode", &v, err, sizeof err) < 0)
    fuzz_fail("field_number: %s", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  shmbus_type *t = type();
  size_t rsize = shmbus_type_size(t);
  unsigned char *rec = malloc(rsize), *before = malloc(rsize);
  char err[256] = "";
  memset(rec, 0xA5, rsize);
  memcpy(before, rec, rsize);
  ssize_t n = shmbus_type_from_json(t, (const char *)data, size, rec, rsize, err, sizeof err);
  if (n == (ssize_t)rsize) {
    check_round_trip(t, rec, rsize);
    check_others(t, rec, rsize);
  } else if (n != -EINVAL || err[0] == '\0' || memcmp(rec, before, rsize) != 0) {
    fuzz_fail("from_json returned %zd ('%s'), record %s", n, err,
              memcmp(rec, before, rsize) ? "changed" : "untouched");
  }
  free(rec);
  free(before);
  return 0;
}
