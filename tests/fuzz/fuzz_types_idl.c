/* fuzz_types_idl.c - fuzz target: shmbus_type_parse() over arbitrary schema text and type
 * name (types/, through Cyclone's IDL parser), and every call over a parsed type.
 * Input: the type name, a newline, then the IDL. Checks: a refusal says why; a parsed type has
 * a sane layout; a zeroed record converts to JSON and back to the same bytes, to text and to
 * CDR of the advertised size. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_common.h"
#include "types/shmbus_types.h"

static void check_type(const shmbus_type *t) {
  size_t size = shmbus_type_size(t), align = shmbus_type_align(t);
  if (size == 0 || align == 0 || align > 8 || size % align != 0)
    fuzz_fail("layout: size %zu align %zu", size, align);
  char *d = NULL, *j = NULL, *x = NULL, err[256];
  if (shmbus_type_describe(t, &d) <= 0) fuzz_fail("describe failed");
  free(d);
  if (size > 65536) return; /* a large record: the conversions below are linear in it */
  unsigned char *rec = calloc(1, size), *back = malloc(size),
                *cdr = malloc(shmbus_type_cdr_size(t));
  ssize_t n = shmbus_type_to_json(t, rec, size, &j, err, sizeof err);
  if (n <= 0) fuzz_fail("to_json of a zero record: %zd %s", n, err);
  if (shmbus_type_from_json(t, j, (size_t)n, back, size, err, sizeof err) != (ssize_t)size)
    fuzz_fail("from_json of our own JSON failed: %s (%s)", err, j);
  if (memcmp(rec, back, size) != 0) fuzz_fail("zero record did not round-trip: %s", j);
  if (shmbus_type_to_text(t, rec, size, &x, err, sizeof err) < 0) fuzz_fail("to_text: %s", err);
  if (shmbus_type_to_cdr(t, rec, size, cdr, shmbus_type_cdr_size(t)) !=
      (ssize_t)shmbus_type_cdr_size(t))
    fuzz_fail("to_cdr length differs from cdr_size");
  free(j);
  free(x);
  free(rec);
  free(back);
  free(cdr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nl = memchr(data, '\n', size < 256 ? size : 256);
  if (nl == NULL) return 0;
  char name[256];
  memcpy(name, data, (size_t)(nl - data));
  name[nl - data] = '\0';
  const char *idl = (const char *)nl + 1;
  size_t len = size - (size_t)(nl - data) - 1;
  shmbus_type *t = NULL;
  char err[256] = "";
  int rc = shmbus_type_parse(idl, len, name, &t, err, sizeof err);
  if (rc == 0) {
    check_type(t);
    shmbus_type_free(t);
  } else if (rc != -EINVAL || err[0] == '\0') {
    fuzz_fail("parse returned %d with message '%s'", rc, err);
  }
  return 0;
}
