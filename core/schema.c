/* schema.c - the schema a typed bus carries: checked on the way in, hashed, stored once in the
 * bus's schema block by its creator, copied out and checked again by every reader
 * (docs/PROTOCOL.md, Schema block). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/copy.h"
#include "core/internal.h"

#define FNV_BASIS 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = (const unsigned char *)p;
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= b[i];
    h *= FNV_PRIME;
  }
  return h;
}

static const char *or_empty(const char *s) { return s ? s : ""; }

uint64_t shmbus_schema_hash(const struct shmbus_schema *s) {
  static const unsigned char nul = 0;
  const char *name, *senc, *menc;
  uint64_t h = FNV_BASIS;
  if (s == NULL) return 0;
  name = or_empty(s->type_name);
  senc = or_empty(s->schema_encoding);
  menc = or_empty(s->message_encoding);
  h = fnv1a(fnv1a(h, name, strlen(name)), &nul, 1);
  h = fnv1a(fnv1a(h, senc, strlen(senc)), &nul, 1);
  h = fnv1a(fnv1a(h, menc, strlen(menc)), &nul, 1);
  return s->text_len && s->text ? fnv1a(h, s->text, s->text_len) : h;
}

/* A name of @min..@max printable ASCII characters (no NUL can hide inside: we measure it). */
static int name_ok(const char *s, size_t min, size_t max) {
  size_t i, n = strnlen(s, max + 1);
  if (n < min || n > max) return 0;
  for (i = 0; i < n; i++)
    if (s[i] < ' ' || s[i] > '~') return 0;
  return 1;
}

/* shmbus__schema_make() - check @in and copy it into one allocation with its hash and the size
 * of the block it needs. An empty schema (no type name, no encodings, no text) means untyped:
 * *@out = NULL. Return: 0; -EINVAL (a bound or a character broken); -ENOMEM. */
int shmbus__schema_make(const struct shmbus_schema *in, struct shmbus__schema_copy **out) {
  const char *name = or_empty(in->type_name), *senc = or_empty(in->schema_encoding);
  const char *menc = or_empty(in->message_encoding);
  size_t nl, sl, ml, need;
  struct shmbus__schema_copy *c;
  unsigned char *d;

  *out = NULL;
  if (!*name && !*senc && !*menc && in->text_len == 0) return 0; /* untyped */
  if (!name_ok(name, 1, SHMBUS_TYPE_NAME_MAX) || !name_ok(senc, 0, SHMBUS_ENCODING_MAX) ||
      !name_ok(menc, 1, SHMBUS_ENCODING_MAX) || in->text_len > SHMBUS_SCHEMA_MAX ||
      (in->text_len && in->text == NULL))
    return -EINVAL;
  nl = strlen(name);
  sl = strlen(senc);
  ml = strlen(menc);
  need = nl + sl + ml + in->text_len + 4; /* four NULs */
  c = calloc(1, sizeof *c + need);
  if (c == NULL) return -ENOMEM;
  d = c->data;
  memcpy(d, name, nl);
  memcpy(d + nl + 1, senc, sl);
  memcpy(d + nl + sl + 2, menc, ml);
  if (in->text_len) memcpy(d + nl + sl + ml + 3, in->text, in->text_len);
  c->pub.type_name = (const char *)d;
  c->pub.schema_encoding = (const char *)d + nl + 1;
  c->pub.message_encoding = (const char *)d + nl + sl + 2;
  c->pub.text = d + nl + sl + ml + 3;
  c->pub.text_len = in->text_len;
  c->pub.hash = shmbus_schema_hash(&c->pub);
  c->block_size = (offsetof(struct shmbus__schema_block, data) + need + 4095u) & ~(size_t)4095u;
  *out = c;
  return 0;
}

/* shmbus__schema_store() - write @c as the schema block of a bus being created (@base is the
 * creator's mapping of an object nobody else can open yet: plain stores). */
void shmbus__schema_store(void *base, const struct shmbus__schema_copy *c) {
  struct shmbus__schema_block *b =
      (struct shmbus__schema_block *)((char *)base + SHMBUS__HEADER_SIZE);
  size_t nl = strlen(c->pub.type_name), sl = strlen(c->pub.schema_encoding);
  size_t ml = strlen(c->pub.message_encoding);
  memcpy(b->magic, SHMBUS__SCHEMA_MAGIC, 8);
  b->name_len = (uint32_t)nl;
  b->schema_encoding_len = (uint32_t)sl;
  b->message_encoding_len = (uint32_t)ml;
  b->text_len = (uint32_t)c->pub.text_len;
  b->hash = c->pub.hash;
  memcpy(b->data, c->data, nl + sl + ml + c->pub.text_len + 4);
}

/* Check the block copied into @b (@size bytes, private memory) and make its schema copy. */
static int check_block(const struct shmbus__schema_block *b, size_t size, uint64_t header_hash,
                       struct shmbus__schema_copy **out) {
  const char *d = (const char *)b->data;
  size_t room = size - offsetof(struct shmbus__schema_block, data), nl, sl, ml, tl;
  struct shmbus_schema in;
  int rc;

  if (memcmp(b->magic, SHMBUS__SCHEMA_MAGIC, 8) != 0) return -EPROTO;
  nl = b->name_len;
  sl = b->schema_encoding_len;
  ml = b->message_encoding_len;
  tl = b->text_len;
  /* Each bound first, so the sum below cannot overflow and every index stays in @room. */
  if (nl < 1 || nl > SHMBUS_TYPE_NAME_MAX || sl > SHMBUS_ENCODING_MAX || ml < 1 ||
      ml > SHMBUS_ENCODING_MAX || tl > SHMBUS_SCHEMA_MAX || nl + sl + ml + tl + 4 > room)
    return -EPROTO;
  if (d[nl] != 0 || d[nl + sl + 1] != 0 || d[nl + sl + ml + 2] != 0 ||
      d[nl + sl + ml + tl + 3] != 0)
    return -EPROTO;
  in.type_name = d;
  in.schema_encoding = d + nl + 1;
  in.message_encoding = d + nl + sl + 2;
  in.text = d + nl + sl + ml + 3;
  in.text_len = tl;
  /* strlen() now stops at the NULs just checked; a NUL inside a name makes it shorter than
   * its stated length, and make() or the length comparison below refuses it. */
  if (strlen(in.type_name) != nl || strlen(in.schema_encoding) != sl ||
      strlen(in.message_encoding) != ml)
    return -EPROTO;
  rc = shmbus__schema_make(&in, out);
  if (rc < 0) return rc == -ENOMEM ? rc : -EPROTO;
  if (*out == NULL || (*out)->pub.hash != b->hash || b->hash != header_hash) {
    free(*out);
    *out = NULL;
    return -EPROTO;
  }
  return 0;
}

/* shmbus__schema_load() - copy the schema block of the bus mapped at @base (validated geometry
 * @g: the block's size is bounded and inside the mapping) out of shared memory once, as
 * relaxed 64-bit loads, and check the copy. *@out = NULL for an untyped bus.
 * Return: 0; -EPROTO (a block that breaks any rule of docs/PROTOCOL.md); -ENOMEM. */
int shmbus__schema_load(const void *base, const struct shmbus__geom *g, uint64_t header_hash,
                        struct shmbus__schema_copy **out) {
  struct shmbus__schema_block *b;
  int rc;
  *out = NULL;
  if (g->schema_size == 0) return header_hash == 0 ? 0 : -EPROTO;
  b = malloc(g->schema_size);
  if (b == NULL) return -ENOMEM;
  shmbus__copy_out(b,
                   (const _Atomic uint64_t *)(const void *)((const char *)base +
                                                            SHMBUS__HEADER_SIZE),
                   g->schema_size);
  rc = check_block(b, g->schema_size, header_hash, out);
  free(b);
  return rc;
}

int shmbus_sub_schema(shmbus_sub *s, struct shmbus_schema *out) {
  if (s == NULL || out == NULL) return -EINVAL;
  if (s->schema == NULL) return -ENOENT;
  *out = s->schema->pub;
  return 0;
}

int shmbus_pub_schema(const shmbus_pub *p, struct shmbus_schema *out) {
  if (p == NULL || out == NULL) return -EINVAL;
  if (p->schema == NULL) return -ENOENT;
  *out = p->schema->pub;
  return 0;
}
