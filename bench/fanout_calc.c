/* fanout_calc.c - the pure arithmetic of the fan-out benchmark; see fanout_calc.h. */
#include "bench/fanout_calc.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One item of a list: a number 1..@limit, or "all" (INT_MAX). Return: 0 and *@v; -EINVAL. */
static int parse_item(const char *p, size_t len, int limit, int allow_all, int *v) {
  char tmp[16], *end;
  long x;
  if (len == 0 || len >= sizeof tmp) return -EINVAL;
  memcpy(tmp, p, len);
  tmp[len] = 0;
  if (allow_all && strcmp(tmp, "all") == 0) {
    *v = INT_MAX;
    return 0;
  }
  x = strtol(tmp, &end, 10);
  if (*end != 0 || tmp[0] < '0' || tmp[0] > '9' || x < 1 || x > limit) return -EINVAL;
  *v = (int)x;
  return 0;
}

int fanout_parse_list(const char *s, int *out, int max, int limit, int allow_all) {
  int n = 0;
  if (s == NULL || *s == 0) return -EINVAL;
  for (;;) {
    size_t len = strcspn(s, ",");
    if (n == max || parse_item(s, len, limit, allow_all, &out[n]) < 0) return -EINVAL;
    n++;
    if (s[len] == 0) return n;
    s += len + 1;
  }
}

void fanout_spread(const int64_t *arrival, int n, int64_t t0, uint64_t *first, uint64_t *last) {
  int64_t lo = arrival[0], hi = arrival[0];
  int i;
  for (i = 1; i < n; i++) {
    if (arrival[i] < lo) lo = arrival[i];
    if (arrival[i] > hi) hi = arrival[i];
  }
  *first = lo > t0 ? (uint64_t)(lo - t0) : 0;
  *last = hi > t0 ? (uint64_t)(hi - t0) : 0;
}

int fanout_proc_state(const char *line, size_t len) {
  size_t i, close = len;
  for (i = 0; i < len; i++)
    if (line[i] == ')') close = i;
  if (close == len) return -1;
  for (i = close + 1; i < len; i++)
    if (line[i] != ' ') return line[i] >= 'A' && line[i] <= 'Z' ? line[i] : -1;
  return -1;
}

const char *fanout_design_name(int fanout, char *buf, size_t n) {
  if (fanout == INT_MAX) snprintf(buf, n, "shmbus-wake-all");
  else snprintf(buf, n, "shmbus-wake-%d", fanout);
  return buf;
}

struct fanout_target fanout_target_eval(uint64_t num, uint64_t den, double limit) {
  struct fanout_target t = {-1.0, 0};
  if (num == 0 || den == 0) return t;
  t.ratio = (double)num / (double)den;
  t.met = t.ratio <= limit;
  return t;
}
