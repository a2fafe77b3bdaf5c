/* idl.c - OMG IDL text to the type tree (internal.h), through Cyclone DDS's IDL library.
 *
 * idl_parse_string() builds Cyclone's tree; we find the selected struct by its scoped name and
 * convert it and everything it uses (structs, enums, typedefs of arrays) into our tree, refusing
 * every construct a fixed-size C struct cannot hold with a message naming the member. Cyclone's
 * tree is deleted before shmbus_type_parse() returns. */
#include <errno.h>
#include <idl/processor.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "types/idl_log.h"
#include "types/internal.h"

struct conv {
  struct shmbus_type *t;
  const void **snodes; /* Cyclone struct node of t->structs[i] */
  const void **enodes; /* Cyclone enum node of t->enums[i] */
  char *err;
  size_t errlen;
};

/* "m::n::Name" of a declaration, from its enclosing modules. malloc'd; NULL on ENOMEM. */
static char *scoped_name(const void *node) {
  const char *parts[64];
  size_t n = 0, len = 0;
  for (const void *p = node; p != NULL && n < 64; p = idl_parent(p)) {
    if (p != node && !idl_is_module(p)) continue;
    parts[n] = idl_identifier(p);
    len += strlen(parts[n]) + 2;
    n++;
  }
  char *s = malloc(len + 1), *w = s;
  if (s == NULL) return NULL;
  while (n-- > 0) w += sprintf(w, "%s%s", parts[n], n ? "::" : "");
  return s;
}

/* The struct named @name among @defs and the modules in it (depth first). */
static const idl_struct_t *find_struct(const void *defs, const char *name) {
  for (const void *n = defs; n != NULL; n = idl_next(n)) {
    if (idl_is_module(n)) {
      const idl_struct_t *s = find_struct(((const idl_module_t *)n)->definitions, name);
      if (s != NULL) return s;
    } else if (idl_is_struct(n)) {
      char *sn = scoped_name(n);
      bool same = sn != NULL && strcmp(sn, name) == 0;
      free(sn);
      if (same) return n;
    }
  }
  return NULL;
}

/* Why the type spec @ts (aliases already peeled) cannot be a member, or NULL when it can. */
static const char *refusal(const void *ts) {
  if (idl_is_sequence(ts)) return "a sequence, which";
  if (idl_is_string(ts)) return "a string, which (use a char array such as char name[32])";
  if (idl_type(ts) == IDL_WSTRING) return "a wide string, which"; /* (not in 0.10's grammar) */
  if (idl_is_union(ts)) return "a union, which";
  if (idl_is_bitmask(ts)) return "a bitmask, which";
  if (idl_type(ts) == IDL_FIXED_PT) return "a fixed-point number, which";
  switch (idl_type(ts)) {
    case IDL_WCHAR: return "a wide character (wchar), which";
    case IDL_LDOUBLE: return "a long double, which";
    case IDL_ANY: return "an any, which";
    default: return NULL;
  }
}

static int base_kind(const void *ts, enum st_kind *k) {
  switch (idl_type(ts)) {
    case IDL_INT8: *k = ST_INT8; return 0;
    case IDL_UINT8: *k = ST_UINT8; return 0;
    case IDL_SHORT:
    case IDL_INT16: *k = ST_INT16; return 0;
    case IDL_USHORT:
    case IDL_UINT16: *k = ST_UINT16; return 0;
    case IDL_LONG:
    case IDL_INT32: *k = ST_INT32; return 0;
    case IDL_ULONG:
    case IDL_UINT32: *k = ST_UINT32; return 0;
    case IDL_LLONG:
    case IDL_INT64: *k = ST_INT64; return 0;
    case IDL_ULLONG:
    case IDL_UINT64: *k = ST_UINT64; return 0;
    case IDL_FLOAT: *k = ST_FLOAT32; return 0;
    case IDL_DOUBLE: *k = ST_FLOAT64; return 0;
    case IDL_BOOL: *k = ST_BOOL; return 0;
    case IDL_CHAR: *k = ST_CHAR; return 0;
    case IDL_OCTET: *k = ST_OCTET; return 0;
    default: return -1;
  }
}

static int conv_struct(struct conv *c, const idl_struct_t *is, int depth,
                       const struct st_struct **out);

static int conv_enum(struct conv *c, const idl_enum_t *ie, const struct st_enum **out) {
  for (size_t i = 0; i < c->t->nenums; i++)
    if (c->enodes[i] == ie) {
      *out = c->t->enums[i];
      return 0;
    }
  size_t n = 0;
  for (const idl_enumerator_t *e = ie->enumerators; e != NULL; e = idl_next(e)) n++;
  struct st_enum *en = calloc(1, sizeof *en);
  void *grow = realloc(c->t->enums, (c->t->nenums + 1) * sizeof *c->t->enums);
  void *grow2 = grow ? realloc(c->enodes, (c->t->nenums + 1) * sizeof *c->enodes) : NULL;
  if (grow) c->t->enums = grow;
  if (grow2) c->enodes = grow2;
  if (en == NULL || grow == NULL || grow2 == NULL) {
    free(en);
    return -ENOMEM;
  }
  c->t->enums[c->t->nenums] = en;
  c->enodes[c->t->nenums++] = ie;
  en->name = scoped_name(ie);
  en->v = calloc(n ? n : 1, sizeof *en->v);
  if (en->name == NULL || en->v == NULL) return -ENOMEM;
  for (const idl_enumerator_t *e = ie->enumerators; e != NULL; e = idl_next(e), en->n++) {
    en->v[en->n].value = e->value.value;
    if ((en->v[en->n].name = strdup(idl_identifier(e))) == NULL) return -ENOMEM;
  }
  *out = en;
  return 0;
}

/* Adds the dims of an array declarator (Cyclone: a list of literals) to @f. */
static int add_dims(struct conv *c, const char *where, struct st_field *f,
                    const idl_declarator_t *d) {
  for (const idl_literal_t *l = d->const_expr; l != NULL; l = idl_next(l)) {
    if (f->ndims == ST_MAX_DIMS)
      return st_err(c->err, c->errlen, -EINVAL, "%s: more than %d array dimensions", where,
                    ST_MAX_DIMS);
    if (l->value.uint32 == 0)
      return st_err(c->err, c->errlen, -EINVAL, "%s: an array dimension is 0", where);
    f->dims[f->ndims++] = l->value.uint32;
  }
  return 0;
}

/* The element type of member @f (dims already holding the declarator's), typedefs peeled. */
static int conv_type(struct conv *c, const char *where, const void *ts, int depth,
                     struct st_field *f) {
  for (;;) {
    if (idl_is_forward(ts) && ((const idl_forward_t *)ts)->type_spec != NULL)
      ts = ((const idl_forward_t *)ts)->type_spec;
    else if (idl_is_declarator(ts) && idl_is_typedef(idl_parent(ts))) {
      int rc = add_dims(c, where, f, ts);
      if (rc < 0) return rc;
      ts = ((const idl_typedef_t *)idl_parent(ts))->type_spec;
    } else break;
  }
  const char *why = refusal(ts);
  if (why != NULL)
    return st_err(c->err, c->errlen, -EINVAL,
                  "%s is %s shmbus types do not support (a record is a fixed-size C struct)", where,
                  why);
  if (idl_is_struct(ts)) {
    f->kind = ST_STRUCT;
    return conv_struct(c, ts, depth + 1, &f->st);
  }
  if (idl_is_enum(ts)) {
    f->kind = ST_ENUM;
    return conv_enum(c, ts, &f->en);
  }
  if (base_kind(ts, &f->kind) == 0) return 0;
  return st_err(c->err, c->errlen, -EINVAL, "%s has a type shmbus types do not support (%s)", where,
                idl_construct(ts));
}

static int conv_member(struct conv *c, const char *sname, const idl_member_t *m,
                       const idl_declarator_t *d, int depth, struct st_field *f) {
  char where[600];
  snprintf(where, sizeof where, "member %s.%s", sname, idl_identifier(d));
  if ((f->name = strdup(idl_identifier(d))) == NULL) return -ENOMEM;
  if (m->optional.value)
    return st_err(c->err, c->errlen, -EINVAL,
                  "%s is @optional, which shmbus types do not "
                  "support (a record is a fixed-size C struct)",
                  where);
  if (m->external.value)
    return st_err(c->err, c->errlen, -EINVAL,
                  "%s is @external, which shmbus types do not "
                  "support (a record is a fixed-size C struct)",
                  where);
  int rc = add_dims(c, where, f, d);
  if (rc == 0) rc = conv_type(c, where, m->type_spec, depth, f);
  if (rc < 0) return rc;
  if (f->kind == ST_CHAR && f->ndims > 0) f->chars = f->dims[--f->ndims];
  f->count = 1;
  for (size_t i = 0; i < f->ndims; i++) {
    if (f->count > ST_MAX_SIZE / f->dims[i])
      return st_err(c->err, c->errlen, -EINVAL, "%s: the array is larger than %llu bytes", where,
                    (unsigned long long)ST_MAX_SIZE);
    f->count *= f->dims[i];
  }
  return 0;
}

static int struct_checks(struct conv *c, const idl_struct_t *is, const char *name, int depth) {
  if (depth > ST_MAX_DEPTH)
    return st_err(c->err, c->errlen, -EINVAL, "struct %s is nested more than %d deep", name,
                  ST_MAX_DEPTH);
  if (is->inherit_spec != NULL)
    return st_err(c->err, c->errlen, -EINVAL,
                  "struct %s inherits from another struct, which "
                  "shmbus types do not support",
                  name);
  if (is->extensibility.value == IDL_MUTABLE)
    return st_err(c->err, c->errlen, -EINVAL,
                  "struct %s is @mutable, which shmbus types do "
                  "not support (only final and appendable structs)",
                  name);
  if (is->members == NULL)
    return st_err(c->err, c->errlen, -EINVAL, "struct %s has no members", name);
  return 0;
}

static int conv_struct_fields(struct conv *c, const idl_struct_t *is, struct st_struct *s,
                              int depth) {
  size_t n = 0;
  for (const idl_member_t *m = is->members; m != NULL; m = idl_next(m))
    for (const idl_declarator_t *d = m->declarators; d != NULL; d = idl_next(d)) n++;
  if ((s->fields = calloc(n, sizeof *s->fields)) == NULL) return -ENOMEM;
  for (const idl_member_t *m = is->members; m != NULL; m = idl_next(m))
    for (const idl_declarator_t *d = m->declarators; d != NULL; d = idl_next(d)) {
      int rc = conv_member(c, s->name, m, d, depth, &s->fields[s->nfields++]);
      if (rc < 0) return rc;
    }
  return st_layout(s, c->err, c->errlen);
}

static int conv_struct(struct conv *c, const idl_struct_t *is, int depth,
                       const struct st_struct **out) {
  for (size_t i = 0; i < c->t->nstructs; i++)
    if (c->snodes[i] == is) {
      *out = c->t->structs[i];
      return 0;
    }
  struct st_struct *s = calloc(1, sizeof *s);
  void *grow = realloc(c->t->structs, (c->t->nstructs + 1) * sizeof *c->t->structs);
  void *grow2 = grow ? realloc(c->snodes, (c->t->nstructs + 1) * sizeof *c->snodes) : NULL;
  if (grow) c->t->structs = grow;
  if (grow2) c->snodes = grow2;
  if (s == NULL || grow == NULL || grow2 == NULL) {
    free(s);
    return -ENOMEM;
  }
  c->t->structs[c->t->nstructs] = s;
  c->snodes[c->t->nstructs++] = NULL; /* registered once complete: no use before layout */
  if ((s->name = scoped_name(is)) == NULL) return -ENOMEM;
  int rc = struct_checks(c, is, s->name, depth);
  if (rc == 0) rc = conv_struct_fields(c, is, s, depth);
  if (rc < 0) return rc;
  for (size_t i = 0; i < c->t->nstructs; i++)
    if (c->t->structs[i] == s) c->snodes[i] = is;
  *out = s;
  return 0;
}

/* The IDL constructs Cyclone 0.10's grammar lacks, so a syntax error at one of them says so. */
static const char *unparsed_construct(const char *text, unsigned line, unsigned column) {
  static const char *const words[] = {"any",       "fixed",     "map",    "bitset",  "bitfield",
                                      "valuetype", "interface", "native", "wstring", "wchar"};
  const char *p = text;
  for (unsigned l = 1; l < line && p != NULL; l++) p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
  if (p == NULL || line == 0 || column == 0 || strnlen(p, column - 1) < column - 1) return NULL;
  p += column - 1;
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    size_t n = strlen(words[i]);
    if (strncmp(p, words[i], n) == 0 && !(p[n] == '_' || (p[n] >= '0' && p[n] <= '9') ||
                                          ((p[n] | 32) >= 'a' && (p[n] | 32) <= 'z')))
      return words[i];
  }
  return NULL;
}

/* Cyclone's parse of @text; -EINVAL with its message (idl_log.c captures it). */
static int cyclone_parse(const char *text, idl_pstate_t **out, char *err, size_t errlen) {
  idl_pstate_t *ps = NULL;
  /* Case-sensitive: "Mode mode;" is allowed (idlc needs -f case-sensitive for it). */
  uint32_t flags = IDL_FLAG_ANNOTATIONS | IDL_FLAG_EXTENDED_DATA_TYPES | IDL_FLAG_ANONYMOUS_TYPES |
                   IDL_FLAG_CASE_SENSITIVE;
  if (idl_create_pstate(flags, NULL, &ps) != IDL_RETCODE_OK) return -ENOMEM;
  ps->config.default_extensibility = IDL_FINAL;
  struct st_idl_log log = {.msg = ""};
  st_idl_log_begin(&log);
  idl_retcode_t rc = idl_parse_string(ps, text);
  st_idl_log_end();
  if (rc == IDL_RETCODE_NO_MEMORY) {
    idl_delete_pstate(ps);
    return -ENOMEM;
  }
  if (rc != IDL_RETCODE_OK) {
    if (log.msg[0] == '\0')
      snprintf(log.msg, sizeof log.msg, "line %u, column %u: error %d", ps->scanner.position.line,
               ps->scanner.position.column, (int)rc);
    idl_delete_pstate(ps);
    const char *what = unparsed_construct(text, log.line, log.column);
    if (what != NULL)
      return st_err(err, errlen, -EINVAL,
                    "IDL: %s (%s is not supported: a record is a "
                    "fixed-size C struct)",
                    log.msg, what);
    return st_err(err, errlen, -EINVAL, "IDL: %s", log.msg);
  }
  *out = ps;
  return 0;
}

/* The annotations let through to Cyclone's parser. libcycloneddsidl 0.10.2 crashes (a NULL
 * dereference inside idl_parse_string) on an annotation it does not know ("@foo", "@final9")
 * and on some misplaced ones ("@bit_bound" on a member); idlc survives the same input only
 * because it parses files. So any other annotation is refused here, before Cyclone sees it. */
static const char *const known_annotations[] = {"key",
                                                "value",
                                                "final",
                                                "appendable",
                                                "mutable",
                                                "optional",
                                                "external",
                                                "id",
                                                "hashid",
                                                "autoid",
                                                "topic",
                                                "nested",
                                                "default_nested",
                                                "extensibility",
                                                "must_understand",
                                                "default",
                                                "range",
                                                "min",
                                                "max",
                                                "unit",
                                                "verbatim",
                                                "data_representation",
                                                "try_construct"};

static size_t skip_literal(const char *s, size_t i) {
  char q = s[i];
  for (i++; s[i] != '\0' && s[i] != q; i++)
    if (s[i] == '\\' && s[i + 1] != '\0') i++;
  return s[i] ? i + 1 : i;
}

static int check_annotation(const char *s, size_t at, char *err, size_t errlen) {
  size_t i = at + 1, n;
  while (s[i] == ' ' || s[i] == '\t' || s[i] == ':') i++;
  for (n = 0; s[i + n] == '_' || s[i + n] == ':' || (s[i + n] >= '0' && s[i + n] <= '9') ||
              ((s[i + n] | 32) >= 'a' && (s[i + n] | 32) <= 'z');
       n++) {
  }
  for (size_t k = 0; k < sizeof known_annotations / sizeof known_annotations[0]; k++)
    if (strlen(known_annotations[k]) == n && strncmp(s + i, known_annotations[k], n) == 0) return 0;
  unsigned line = 1;
  for (size_t k = 0; k < at; k++) line += s[k] == '\n';
  return st_err(err, errlen, -EINVAL,
                "IDL: line %u: the annotation @%.*s is not supported "
                "(supported: @key, @value, @final, @appendable, @mutable, @id, ...)",
                line, (int)(n < 64 ? n : 64), s + i);
}

/* Every annotation in @s (outside comments and literals) must be a known one. */
static int check_annotations(const char *s, char *err, size_t errlen) {
  for (size_t i = 0; s[i] != '\0';) {
    if (s[i] == '/' && s[i + 1] == '/') {
      while (s[i] != '\0' && s[i] != '\n') i++;
    } else if (s[i] == '/' && s[i + 1] == '*') {
      const char *end = strstr(s + i + 2, "*/");
      i = end ? (size_t)(end - s) + 2 : strlen(s);
    } else if (s[i] == '"' || s[i] == '\'') {
      i = skip_literal(s, i);
    } else if (s[i] == '@') {
      int rc = check_annotation(s, i, err, errlen);
      if (rc < 0) return rc;
      i++;
    } else {
      i++;
    }
  }
  return 0;
}

/* Copies @len bytes into a NUL-terminated string, refusing what Cyclone's parser cannot be
 * trusted with: NUL bytes (it would stop there) and more than ST_IDL_MAX bytes. */
static int idl_text(const char *idl, size_t len, char **out, char *err, size_t errlen) {
  if (len > ST_IDL_MAX)
    return st_err(err, errlen, -EINVAL, "the IDL is %zu bytes, more than the %u allowed", len,
                  ST_IDL_MAX);
  if (len > 0 && memchr(idl, '\0', len) != NULL)
    return st_err(err, errlen, -EINVAL, "the IDL contains a NUL byte");
  if ((*out = malloc(len + 1)) == NULL) return -ENOMEM;
  if (len > 0) memcpy(*out, idl, len);
  (*out)[len] = '\0';
  return 0;
}

static int convert(idl_pstate_t *ps, const char *type_name, struct shmbus_type *t, char *err,
                   size_t errlen) {
  const char *name = strncmp(type_name, "::", 2) == 0 ? type_name + 2 : type_name;
  const idl_struct_t *is = find_struct(ps->root, name);
  if (is == NULL) return st_err(err, errlen, -EINVAL, "the IDL defines no struct named %s", name);
  struct conv c = {.t = t, .err = err, .errlen = errlen};
  int rc = conv_struct(&c, is, 0, &t->root);
  free(c.snodes);
  free(c.enodes);
  return rc;
}

int shmbus_type_parse(const char *idl, size_t len, const char *type_name, shmbus_type **out,
                      char *err, size_t errlen) {
  if (err != NULL && errlen > 0) err[0] = '\0';
  if (idl == NULL && len > 0) return st_err(err, errlen, -EINVAL, "no IDL text");
  if (type_name == NULL || type_name[0] == '\0')
    return st_err(err, errlen, -EINVAL, "no type name");
  char *text = NULL;
  int rc = idl_text(idl, len, &text, err, errlen);
  if (rc < 0) return rc;
  if ((rc = check_annotations(text, err, errlen)) < 0) {
    free(text);
    return rc;
  }
  idl_pstate_t *ps = NULL;
  rc = cyclone_parse(text, &ps, err, errlen);
  struct shmbus_type *t = rc == 0 ? calloc(1, sizeof *t) : NULL;
  if (rc == 0 && t == NULL) rc = -ENOMEM;
  if (rc == 0) rc = convert(ps, type_name, t, err, errlen);
  if (ps != NULL) idl_delete_pstate(ps);
  free(text);
  if (rc == 0) {
    for (size_t i = t->nstructs; i-- > 0;) st_cdr_prepare(t->structs[i]); /* nested first */
    t->cdr_size = 4 + st_cdr_size(t->root);
  }
  if (rc < 0) {
    shmbus_type_free(t);
    if (rc == -ENOMEM) st_err(err, errlen, rc, "out of memory while parsing the IDL");
    return rc;
  }
  *out = t;
  return 0;
}

int shmbus_type_check(const char *idl, size_t len, const char *type_name, char *err,
                      size_t errlen) {
  shmbus_type *t = NULL;
  int rc = shmbus_type_parse(idl, len, type_name, &t, err, errlen);
  shmbus_type_free(t);
  return rc;
}

void shmbus_type_free(shmbus_type *t) {
  if (t == NULL) return;
  for (size_t i = 0; i < t->nstructs; i++) {
    struct st_struct *s = t->structs[i];
    if (s == NULL) continue;
    for (size_t k = 0; k < s->nfields; k++) free(s->fields[k].name);
    free(s->fields);
    free(s->name);
    free(s);
  }
  for (size_t i = 0; i < t->nenums; i++) {
    struct st_enum *e = t->enums[i];
    if (e == NULL) continue;
    for (size_t k = 0; k < e->n; k++) free(e->v[k].name);
    free(e->v);
    free(e->name);
    free(e);
  }
  free(t->structs);
  free(t->enums);
  free(t);
}

size_t shmbus_type_size(const shmbus_type *t) { return t->root->size; }
size_t shmbus_type_align(const shmbus_type *t) { return t->root->align; }
const char *shmbus_type_name(const shmbus_type *t) { return t->root->name; }
size_t shmbus_type_cdr_size(const shmbus_type *t) { return t->cdr_size; }
