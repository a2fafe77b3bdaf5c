/* fuzz_tools.c - fuzz target 3: the tools' argument and input parsing.
 *
 * The input's first byte picks what to fuzz; the rest is split at NUL bytes into arguments:
 *   0: shmsub's options      1: shmpub's options
 *   2: the value parsers of tools/common.c (sizes, seconds, modes, groups, counts, formats)
 *   3: the record printers of tools/format.c over arbitrary bytes (text, hex, json with UTF-8
 *      validation and base64, raw), verbose or not
 * Anything may be rejected; nothing may crash, read out of bounds or leak (ASan, UBSan). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/shmbus.h"
#include "tools/common.h"
#include "tools/format.h"

void fuzz_shmsub_args(int argc, char **argv);
void fuzz_shmpub_args(int argc, char **argv);

#define MAX_ARGS 24

static FILE *devnull(void) {
  static FILE *f;
  if (f == NULL) f = fopen("/dev/null", "w");
  return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy, *argv[MAX_ARGS + 2];
  int argc = 0, which;
  size_t i, start;
  if (size < 1 || size > 4096) return 0;
  which = data[0] % 4;
  copy = malloc(size + 1);
  if (copy == NULL) return 0;
  memcpy(copy, data + 1, size - 1);
  copy[size - 1] = '\0';
  argv[argc++] = which == 1 ? "shmpub" : "shmsub";
  for (i = 0, start = 0; i < size && argc < MAX_ARGS; i++) {
    if (i == size - 1 || copy[i] == '\0') {
      argv[argc++] = copy + start;
      start = i + 1;
      if (i == size - 1) break;
    }
  }
  argv[argc] = NULL;
  switch (which) {
    case 0: fuzz_shmsub_args(argc, argv); break;
    case 1: fuzz_shmpub_args(argc, argv); break;
    case 2: {
      uint64_t u;
      double d;
      mode_t m;
      gid_t g;
      enum out_format f;
      for (i = 1; i < (size_t)argc; i++) {
        parse_size(argv[i], &u);
        parse_u64(argv[i], &u);
        if (parse_seconds(argv[i], &d) == 0 && !(d > 0 && isfinite(d))) abort();
        if (parse_mode(argv[i], &m) == 0 && m > 07777) abort();
        parse_group(argv[i], &g);
        parse_format(argv[i], &f);
      }
      break;
    }
    case 3: {
      struct out_record r;
      memset(&r, 0, sizeof r);
      r.bus = "fuzz";
      r.data = data + 1;
      r.length = size - 1;
      r.version = size;
      for (int fmt = 0; fmt < 4; fmt++) {
        print_record(devnull(), (enum out_format)fmt, 0, &r);
        print_record(devnull(), (enum out_format)fmt, 1, &r);
      }
      utf8_valid(data + 1, size - 1);
      break;
    }
  }
  free(copy);
  return 0;
}
