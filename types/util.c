/* util.c - error messages and the growable output string of types/. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "types/internal.h"

int st_err(char *err, size_t errlen, int rc, const char *fmt, ...) {
  if (err == NULL || errlen == 0) return rc;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return rc;
}

static bool grow(struct st_buf *b, size_t more) {
  if (b->failed) return false;
  if (b->len + more + 1 <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (p == NULL) return !(b->failed = true);
  b->p = p;
  b->cap = cap;
  return true;
}

void st_buf_put(struct st_buf *b, const char *s, size_t n) {
  if (!grow(b, n)) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void st_buf_puts(struct st_buf *b, const char *s) { st_buf_put(b, s, strlen(s)); }

void st_buf_printf(struct st_buf *b, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    st_buf_put(b, tmp, (size_t)n);
    return;
  }
  if (!grow(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

ssize_t st_buf_finish(struct st_buf *b, char **out) {
  if (!grow(b, 0)) {
    free(b->p);
    return -ENOMEM;
  }
  b->p[b->len] = '\0';
  *out = b->p;
  return (ssize_t)b->len;
}
