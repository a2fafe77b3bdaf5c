/* fuzz_types_cdr.c - fuzz target: shmbus_type_from_cdr() over arbitrary bytes against a fixed
 * rich type (every supported construct: types/testdata/all.idl's sensors::All), as `shmbus
 * play` reads the CDR messages of any MCAP file.
 * Checks, for the input as it is: accepted exactly when its header is CDR_LE/CDR_BE and its
 * length is the type's CDR size (+ up to 3 bytes); a refusal says why and leaves the record
 * untouched. For the input fitted to that size with a CDR_LE or CDR_BE header (so the payload
 * is always fuzzed): accepted; the record is a fixed point (to_cdr then from_cdr gives the
 * same bytes), its booleans are 0 or 1, and it prints as JSON. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_common.h"
#include "types/shmbus_types.h"

/* The same schema as fuzz_types_json.c (types/testdata/all.idl). */
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

/* Byte offsets of the boolean members in the C record (b, fl.a, flags[0..2]): from the
 * layout, checked by types/layout_test.cc against the C compiler. Found at start-up below. */
static size_t bools[5];

static shmbus_type *type(void) {
  static shmbus_type *t;
  char err[256], *out = NULL;
  if (t != NULL) return t;
  if (shmbus_type_parse(kIdl, sizeof kIdl - 1, "sensors::All", &t, err, sizeof err))
    fuzz_fail("the fixed type does not parse: %s", err);
  /* The offsets from shmbus_type_describe(): "b", "fl" (+0 for a), "flags". */
  if (shmbus_type_describe(t, &out) < 0) fuzz_fail("describe");
  const char *b = strstr(out, "{\"name\":\"b\",\"offset\":"),
             *fl = strstr(out, "{\"name\":\"fl\",\"offset\":"),
             *fs = strstr(out, "{\"name\":\"flags\",\"offset\":");
  if (!b || !fl || !fs) fuzz_fail("describe: no b, fl or flags in %s", out);
  bools[0] = strtoul(strchr(b + 9, ':') + 1, NULL, 10);
  bools[1] = strtoul(strchr(fl + 9, ':') + 1, NULL, 10);
  bools[2] = strtoul(strchr(fs + 9, ':') + 1, NULL, 10);
  bools[3] = bools[2] + 1;
  bools[4] = bools[2] + 2;
  free(out);
  return t;
}

static void check_accepted(const shmbus_type *t, const unsigned char *rec, size_t size) {
  size_t csize = shmbus_type_cdr_size(t);
  unsigned char *cdr = malloc(csize), *back = malloc(size);
  char *json = NULL, err[256] = "";
  for (size_t i = 0; i < 5; i++)
    if (rec[bools[i]] > 1) fuzz_fail("boolean at %zu is %u, not 0 or 1", bools[i], rec[bools[i]]);
  if (shmbus_type_to_cdr(t, rec, size, cdr, csize) != (ssize_t)csize) fuzz_fail("to_cdr");
  if (shmbus_type_from_cdr(t, cdr, csize, back, size, err, sizeof err) != (ssize_t)size)
    fuzz_fail("our own CDR does not read back: %s", err);
  if (memcmp(rec, back, size) != 0) fuzz_fail("CDR -> record -> CDR -> record changed bytes");
  if (shmbus_type_to_json(t, rec, size, &json, err, sizeof err) <= 0) fuzz_fail("to_json: %s", err);
  free(json);
  free(cdr);
  free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  shmbus_type *t = type();
  size_t rsize = shmbus_type_size(t), csize = shmbus_type_cdr_size(t);
  unsigned char *rec = malloc(rsize), *before = malloc(rsize), *fitted = calloc(1, csize);
  char err[256] = "";
  memset(rec, 0xA5, rsize);
  memcpy(before, rec, rsize);
  /* 1. As it is. */
  int ok = size >= csize && size - csize <= 3 && data[0] == 0 && data[1] <= 1;
  ssize_t n = shmbus_type_from_cdr(t, data, size, rec, rsize, err, sizeof err);
  if (ok) {
    if (n != (ssize_t)rsize) fuzz_fail("a well-formed message was refused: %zd %s", n, err);
    check_accepted(t, rec, rsize);
  } else if ((n != -EBADMSG && n != -ENOTSUP) || err[0] == '\0' || memcmp(rec, before, rsize)) {
    fuzz_fail("from_cdr of %zu bytes returned %zd ('%s'), record %s", size, n, err,
              memcmp(rec, before, rsize) ? "changed" : "untouched");
  }
  /* 2. Fitted: the header made CDR_LE or CDR_BE (by the input's second byte), the length the
   *    type's. */
  memcpy(fitted, data, size < csize ? size : csize);
  fitted[0] = 0;
  fitted[1] = size > 1 ? data[1] & 1 : 1;
  n = shmbus_type_from_cdr(t, fitted, csize, rec, rsize, err, sizeof err);
  if (n != (ssize_t)rsize) fuzz_fail("a fitted message was refused: %zd %s", n, err);
  check_accepted(t, rec, rsize);
  free(rec);
  free(before);
  free(fitted);
  return 0;
}
