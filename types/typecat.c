/* typecat.c - a test driver for types/: IDL file + type name, JSON lines on stdin; for each
 * line prints "HEX JSON" (the record's CDR as hex, then shmbus_type_to_json() of the record)
 * or "error: MESSAGE". Test-only (tests/types_node uses it).
 *   typecat FILE.idl TYPE             JSON lines in, CDR + JSON out
 *   typecat FILE.idl TYPE --describe  the layout (shmbus_type_describe)
 *   typecat FILE.idl TYPE --text      JSON lines in, text out */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "types/shmbus_types.h"

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  char *buf = NULL;
  size_t cap = 0;
  *len = 0;
  for (;;) {
    if (*len == cap && (buf = realloc(buf, cap = cap * 2 + 4096)) == NULL) break;
    size_t n = fread(buf + *len, 1, cap - *len, f);
    if (n == 0) break;
    *len += n;
  }
  fclose(f);
  return buf;
}

static int convert_line(const shmbus_type *t, const char *line, size_t n, int text) {
  char err[512];
  size_t size = shmbus_type_size(t), cdr_cap = shmbus_type_cdr_size(t);
  unsigned char *rec = malloc(size), *cdr = malloc(cdr_cap);
  char *out = NULL;
  ssize_t r = shmbus_type_from_json(t, line, n, rec, size, err, sizeof err);
  if (r >= 0 && !text) r = shmbus_type_to_cdr(t, rec, size, cdr, cdr_cap);
  if (r >= 0 && !text)
    for (ssize_t i = 0; i < r; i++) printf("%02x", cdr[i]);
  if (r >= 0)
    r = text ? shmbus_type_to_text(t, rec, size, &out, err, sizeof err)
             : shmbus_type_to_json(t, rec, size, &out, err, sizeof err);
  if (r >= 0) printf("%s%s\n", text ? "" : " ", out);
  else printf("error: %s\n", err);
  free(out);
  free(rec);
  free(cdr);
  return r < 0;
}

int main(int argc, char **argv) {
  size_t len;
  char err[512], *idl;
  shmbus_type *t;
  if (argc < 3 || (idl = slurp(argv[1], &len)) == NULL) {
    fprintf(stderr, "usage: typecat FILE.idl TYPE [--describe|--text] < json-lines\n");
    return 2;
  }
  if (shmbus_type_parse(idl, len, argv[2], &t, err, sizeof err) < 0) {
    printf("error: %s\n", err);
    return 1;
  }
  free(idl);
  if (argc > 3 && strcmp(argv[3], "--describe") == 0) {
    char *d;
    if (shmbus_type_describe(t, &d) < 0) return 1;
    printf("%s\n", d);
    free(d);
    shmbus_type_free(t);
    return 0;
  }
  int text = argc > 3 && strcmp(argv[3], "--text") == 0, bad = 0;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    if (n > 0) bad |= convert_line(t, line, (size_t)n, text);
  }
  free(line);
  shmbus_type_free(t);
  return bad;
}
