/* json_in.c - one JSON object into a record (shmbus_type_from_json), read with jansson.
 *
 * 64-bit integers exactly: jansson's json_int_t is a long long, and json_loadb() fails on an
 * integer literal outside it ("too big integer"). So before jansson sees the text, a small
 * lexer (mark_big_ints) replaces every integer literal outside [INT64_MIN, INT64_MAX] with a
 * marker string, "\u0000" followed by its index, and keeps the literal; the field decoder reads
 * a marker as that literal (a uint64 takes it when it fits, anything else says "out of range").
 * User strings cannot forge a marker: "\u0000" in the input is refused (as jansson refuses it
 * without JSON_ALLOW_NUL, which only the rewritten text is parsed with). */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "types/internal.h"

struct jin {
  char *err;
  size_t errlen;
  char path[512];
  size_t plen;
  char **big; /* the integer literals replaced by markers */
  size_t nbig;
};

/* ---- the big-integer pre-pass ---- */

static bool fits_int64(const char *s, size_t n) {
  char tmp[32];
  if (n >= sizeof tmp) return false;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  errno = 0;
  (void)strtoll(tmp, NULL, 10);
  return errno != ERANGE;
}

static size_t skip_string(const char *s, size_t len, size_t i, bool *nul) {
  for (i++; i < len && s[i] != '"'; i++) {
    if (s[i] != '\\') continue;
    if (i + 5 < len && s[i + 1] == 'u' && strncmp(s + i + 2, "0000", 4) == 0) *nul = true;
    i++;
  }
  return i + 1;
}

/* Rewrites @s into @out when it holds an integer literal jansson cannot hold; returns 1 then,
 * 0 when the text can be parsed as it is, or a negative errno. */
static int mark_big_ints(struct jin *j, const char *s, size_t len, struct st_buf *out) {
  bool nul = false;
  size_t copied = 0;
  for (size_t i = 0; i < len;) {
    if (s[i] == '"') {
      i = skip_string(s, len, i, &nul);
      continue;
    }
    if (s[i] != '-' && (s[i] < '0' || s[i] > '9')) {
      i++;
      continue;
    }
    size_t k = i + 1;
    bool integer = true;
    while (k < len && strchr("0123456789+-.eE", s[k]) != NULL && s[k] != '\0') {
      integer &= s[k] >= '0' && s[k] <= '9';
      k++;
    }
    if (integer && !fits_int64(s + i, k - i)) {
      char **grow = realloc(j->big, (j->nbig + 1) * sizeof *grow);
      if (grow == NULL) return -ENOMEM;
      j->big = grow;
      if ((grow[j->nbig] = strndup(s + i, k - i)) == NULL) return -ENOMEM;
      st_buf_put(out, s + copied, i - copied);
      st_buf_printf(out, "\"\\u0000%zu\"", j->nbig++);
      copied = k;
    }
    i = k;
  }
  if (j->nbig == 0) return 0;
  if (nul) return st_err(j->err, j->errlen, -EINVAL, "a JSON string contains \\u0000");
  st_buf_put(out, s + copied, len - copied);
  return out->failed ? -ENOMEM : 1;
}

/* ---- errors, naming the field ---- */

static int fail(struct jin *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct jin *j, const char *fmt, ...) {
  char what[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return st_err(j->err, j->errlen, -EINVAL, "%s: %s", j->path, what);
}

static size_t path_push(struct jin *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(struct jin *j, const char *fmt, ...) {
  size_t mark = j->plen;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(j->path + j->plen, sizeof j->path - j->plen, fmt, ap);
  va_end(ap);
  if (n > 0) j->plen += (size_t)n < sizeof j->path - j->plen ? (size_t)n : 0;
  j->path[j->plen] = '\0';
  return mark;
}

static void path_pop(struct jin *j, size_t mark) {
  j->plen = mark;
  j->path[mark] = '\0';
}

static const char *jtype(const json_t *v) {
  switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction or exponent";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    default: return "null";
  }
}

/* The big-integer literal a marker string stands for, or NULL. */
static const char *marker(const struct jin *j, const json_t *v) {
  if (!json_is_string(v) || json_string_length(v) < 2 || json_string_value(v)[0] != '\0')
    return NULL;
  size_t i = strtoull(json_string_value(v) + 1, NULL, 10);
  return i < j->nbig ? j->big[i] : NULL;
}

/* ---- scalars ---- */

struct irange {
  long long min;
  unsigned long long max;
};

static struct irange int_range(enum st_kind k) {
  switch (k) {
    case ST_INT8: return (struct irange){INT8_MIN, INT8_MAX};
    case ST_UINT8:
    case ST_OCTET: return (struct irange){0, UINT8_MAX};
    case ST_INT16: return (struct irange){INT16_MIN, INT16_MAX};
    case ST_UINT16: return (struct irange){0, UINT16_MAX};
    case ST_INT32: return (struct irange){INT32_MIN, INT32_MAX};
    case ST_UINT32:
    case ST_ENUM: return (struct irange){0, UINT32_MAX};
    case ST_INT64: return (struct irange){INT64_MIN, INT64_MAX};
    default: return (struct irange){0, UINT64_MAX};
  }
}

static int out_of_range(struct jin *j, enum st_kind k, const char *text) {
  struct irange r = int_range(k);
  return fail(j, "%s is out of range for %s (%lld to %llu)", text,
              k == ST_ENUM ? "an enum" : st_kind_name(k), r.min, r.max);
}

static void store_int(enum st_kind k, unsigned char *p, unsigned long long u, long long s) {
  size_t n = st_kind_size(k);
  bool is_signed = k == ST_INT8 || k == ST_INT16 || k == ST_INT32 || k == ST_INT64;
  uint64_t v = is_signed ? (uint64_t)s : u;
  memcpy(p, &v, n); /* little-endian: the low n bytes */
}

/* An integer of kind @k from a JSON integer, an integral real (1e3), or a big-integer marker. */
static int dec_int(struct jin *j, enum st_kind k, const json_t *v, unsigned char *p) {
  struct irange r = int_range(k);
  char text[48];
  const char *big = marker(j, v);
  if (json_is_integer(v)) {
    long long x = json_integer_value(v);
    snprintf(text, sizeof text, "%lld", x);
    if (x < r.min || (x > 0 && (unsigned long long)x > r.max)) return out_of_range(j, k, text);
    store_int(k, p, (unsigned long long)x, x);
  } else if (big != NULL) {
    errno = 0;
    unsigned long long u = big[0] == '-' ? 0 : strtoull(big, NULL, 10);
    if (big[0] == '-' || errno == ERANGE || u > r.max) return out_of_range(j, k, big);
    store_int(k, p, u, 0);
  } else if (json_is_real(v)) {
    double d = json_real_value(v);
    st_shortest(text, sizeof text, d, false);
    if (d != trunc(d)) return fail(j, "expected an integer, got %s", text);
    if (d < (double)r.min || d >= ldexp((double)(r.max / 2 + 1), 1))
      return out_of_range(j, k, text);
    if (d < 0) store_int(k, p, 0, (long long)d);
    else store_int(k, p, (unsigned long long)d, (long long)(d < 0x1p63 ? d : 0));
  } else {
    return fail(j, "expected an integer, got %s", jtype(v));
  }
  return 0;
}

static int dec_float(struct jin *j, enum st_kind k, const json_t *v, unsigned char *p) {
  const char *big = marker(j, v);
  double d;
  if (json_is_integer(v)) d = (double)json_integer_value(v);
  else if (json_is_real(v)) d = json_real_value(v);
  else if (big != NULL) d = strtod(big, NULL);
  else if (json_is_string(v) && strcmp(json_string_value(v), "NaN") == 0) d = NAN;
  else if (json_is_string(v) && strcmp(json_string_value(v), "Infinity") == 0) d = INFINITY;
  else if (json_is_string(v) && strcmp(json_string_value(v), "-Infinity") == 0) d = -INFINITY;
  else
    return fail(j, "expected a number (or \"NaN\", \"Infinity\", \"-Infinity\"), got %s%s%s%s",
                jtype(v), json_is_string(v) ? " \"" : "",
                json_is_string(v) ? json_string_value(v) : "", json_is_string(v) ? "\"" : "");
  if (k == ST_FLOAT64) {
    memcpy(p, &d, 8);
    return 0;
  }
  float f;
  if (isfinite(d) && fabs(d) >= 0x1.ffffffp127) { /* rounds to infinity as a float */
    char text[40];
    st_shortest(text, sizeof text, d, false);
    return fail(j, "%s is out of range for float32 (largest 3.4028235e+38)", text);
  }
  if (isfinite(d) && fabs(d) > FLT_MAX) f = d > 0 ? FLT_MAX : -FLT_MAX; /* rounds to FLT_MAX */
  else f = (float)d;
  memcpy(p, &f, 4);
  return 0;
}

/* The code points of a JSON string (valid UTF-8, jansson checks) as Latin-1 bytes into
 * @p (@cap bytes, the rest zeroed). */
static int dec_latin1(struct jin *j, const json_t *v, unsigned char *p, size_t cap) {
  if (!json_is_string(v)) return fail(j, "expected a string, got %s", jtype(v));
  const unsigned char *s = (const unsigned char *)json_string_value(v);
  size_t len = json_string_length(v), n = 0;
  for (size_t i = 0; i < len; n++) {
    unsigned c = s[i];
    if (c >= 0xC4 || (c >= 0x80 && c < 0xC2))
      return fail(j,
                  "character %zu is not in ISO 8859-1 (Latin-1), the character set of IDL "
                  "char",
                  n + 1);
    if (c >= 0x80) {
      c = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F);
      i += 2;
    } else i++;
    if (n >= cap)
      return fail(j, "the string is longer than the %zu character%s the field holds", cap,
                  cap == 1 ? "" : "s");
    p[n] = (unsigned char)c;
  }
  return 0;
}

static int dec_enum(struct jin *j, const struct st_enum *e, const json_t *v, unsigned char *p) {
  if (!json_is_string(v) || marker(j, v) != NULL) return dec_int(j, ST_ENUM, v, p);
  for (size_t i = 0; i < e->n; i++)
    if (strcmp(e->v[i].name, json_string_value(v)) == 0) {
      memcpy(p, &e->v[i].value, 4);
      return 0;
    }
  return fail(j, "\"%s\" is not an enumerator of %s", json_string_value(v), e->name);
}

static int dec_bool(struct jin *j, const json_t *v, unsigned char *p) {
  if (json_is_boolean(v)) *p = json_is_true(v);
  else if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
    *p = (unsigned char)json_integer_value(v);
  else return fail(j, "expected true or false, got %s", jtype(v));
  return 0;
}

/* ---- members, arrays, structs ---- */

static int dec_struct(struct jin *j, const struct st_struct *s, const json_t *obj,
                      unsigned char *rec);

static int dec_element(struct jin *j, const struct st_field *f, const json_t *v, unsigned char *p) {
  if (f->chars) return dec_latin1(j, v, p, f->chars);
  switch (f->kind) {
    case ST_STRUCT: return dec_struct(j, f->st, v, p);
    case ST_ENUM: return dec_enum(j, f->en, v, p);
    case ST_BOOL: return dec_bool(j, v, p);
    case ST_CHAR: return dec_latin1(j, v, p, 1);
    case ST_FLOAT32:
    case ST_FLOAT64: return dec_float(j, f->kind, v, p);
    default: return dec_int(j, f->kind, v, p);
  }
}

static int dec_value(struct jin *j, const struct st_field *f, const json_t *v, unsigned char *base,
                     size_t dim, size_t first) {
  if (dim == f->ndims) return dec_element(j, f, v, base + first * f->elem_size);
  if (!json_is_array(v))
    return fail(j, "expected an array of %" PRIu32 " elements, got %s", f->dims[dim], jtype(v));
  if (json_array_size(v) != f->dims[dim])
    return fail(j, "expected an array of %" PRIu32 " elements, got %zu", f->dims[dim],
                json_array_size(v));
  size_t stride = st_stride(f, dim);
  for (uint32_t i = 0; i < f->dims[dim]; i++) {
    size_t mark = path_push(j, "[%" PRIu32 "]", i);
    int rc = dec_value(j, f, json_array_get(v, i), base, dim + 1, first + i * stride);
    if (rc < 0) return rc;
    path_pop(j, mark);
  }
  return 0;
}

static int unknown_field(struct jin *j, const struct st_struct *s, const char *key) {
  char names[200];
  size_t n = 0;
  names[0] = '\0';
  for (size_t i = 0; i < s->nfields && n < sizeof names; i++)
    n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", s->fields[i].name);
  size_t mark = path_push(j, "%s%s", j->plen ? "." : "", key);
  int rc = fail(j, "unknown field (%s has %s)", s->name, names);
  path_pop(j, mark);
  return rc;
}

static int dec_struct(struct jin *j, const struct st_struct *s, const json_t *obj,
                      unsigned char *rec) {
  const char *key;
  json_t *v;
  if (!json_is_object(obj))
    return fail(j, "expected an object (a %s), got %s", s->name, jtype(obj));
  json_object_foreach((json_t *)obj, key, v) {
    const struct st_field *f = NULL;
    for (size_t i = 0; i < s->nfields && f == NULL; i++)
      if (strcmp(s->fields[i].name, key) == 0) f = &s->fields[i];
    if (f == NULL) return unknown_field(j, s, key);
    size_t mark = path_push(j, "%s%s", j->plen ? "." : "", key);
    int rc = dec_value(j, f, v, rec + f->offset, 0, 0);
    if (rc < 0) return rc;
    path_pop(j, mark);
  }
  return 0;
}

static json_t *load(struct jin *j, const char *json, size_t len, int *rc) {
  struct st_buf rewritten = {0};
  json_error_t jerr;
  json_t *root = NULL;
  *rc = mark_big_ints(j, json, len, &rewritten);
  if (*rc == 0) root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (*rc == 1)
    root = json_loadb(rewritten.p, rewritten.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
  free(rewritten.p);
  if (*rc < 0) return NULL;
  *rc = 0;
  if (root == NULL)
    *rc = st_err(j->err, j->errlen, -EINVAL, "not valid JSON: %s (line %d, column %d)", jerr.text,
                 jerr.line, jerr.column);
  else if (!json_is_object(root))
    *rc = st_err(j->err, j->errlen, -EINVAL, "expected a JSON object, got %s", jtype(root));
  if (*rc < 0) json_decref(root);
  return *rc < 0 ? NULL : root;
}

ssize_t shmbus_type_from_json(const shmbus_type *t, const char *json, size_t len, void *rec,
                              size_t cap, char *err, size_t errlen) {
  if (cap < t->root->size)
    return st_err(err, errlen, -EMSGSIZE, "the buffer is %zu bytes; a %s is %zu", cap,
                  t->root->name, t->root->size);
  struct jin j = {.err = err, .errlen = errlen};
  int rc;
  json_t *root = load(&j, json, len, &rc);
  unsigned char *tmp = root != NULL ? calloc(1, t->root->size) : NULL;
  if (root != NULL && tmp == NULL) rc = -ENOMEM;
  if (tmp != NULL) rc = dec_struct(&j, t->root, root, tmp);
  if (rc == 0) memcpy(rec, tmp, t->root->size);
  free(tmp);
  json_decref(root);
  for (size_t i = 0; i < j.nbig; i++) free(j.big[i]);
  free(j.big);
  if (rc == -ENOMEM) st_err(err, errlen, rc, "out of memory");
  return rc < 0 ? rc : (ssize_t)t->root->size;
}
