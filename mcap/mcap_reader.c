/* mcap_reader.c - the MCAP reader: record parsing with every length checked, streaming through
 * chunks (decompressed, CRC checked, bounded), and the footer for indexed access. */
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "mcap/buf.h"
#include "mcap/mcap.h"

/* A cursor over one record's body: every read checks the bytes left, and fails for good. */
struct cur {
  const uint8_t *p;
  uint64_t n;
  int bad;
};

static uint64_t get(struct cur *c, int bytes) {
  uint64_t v;
  if (c->bad || c->n < (uint64_t)bytes) {
    c->bad = 1;
    return 0;
  }
  v = mcap__get_le(c->p, bytes);
  c->p += bytes;
  c->n -= (uint64_t)bytes;
  return v;
}

static const uint8_t *take(struct cur *c, uint64_t n) {
  const uint8_t *p = c->p;
  if (c->bad || c->n < n) {
    c->bad = 1;
    return NULL;
  }
  c->p += n;
  c->n -= n;
  return p;
}

static struct mcap_str get_str(struct cur *c) {
  struct mcap_str s;
  s.n = (uint32_t)get(c, 4);
  s.p = (const char *)take(c, s.n);
  if (s.p == NULL) {
    s.n = 0;
    s.p = "";
  }
  return s;
}

static struct mcap_map get_map(struct cur *c) {
  struct mcap_map m;
  m.n = (uint32_t)get(c, 4);
  m.p = take(c, m.n);
  if (m.p == NULL) m.n = 0;
  return m;
}

static void parse_message(struct cur *c, struct mcap_message *m) {
  m->channel_id = (uint16_t)get(c, 2);
  m->sequence = (uint32_t)get(c, 4);
  m->log_time = get(c, 8);
  m->publish_time = get(c, 8);
  m->len = c->bad ? 0 : c->n;
  m->data = take(c, m->len);
}

static void parse_chunk(struct cur *c, struct mcap_chunk *k) {
  k->start_time = get(c, 8);
  k->end_time = get(c, 8);
  k->uncompressed_size = get(c, 8);
  k->uncompressed_crc = (uint32_t)get(c, 4);
  k->compression = get_str(c);
  k->records_len = get(c, 8);
  k->records = take(c, k->records_len);
}

static void parse_chunk_index(struct cur *c, struct mcap_chunk_index *k) {
  k->start_time = get(c, 8);
  k->end_time = get(c, 8);
  k->chunk_start_offset = get(c, 8);
  k->chunk_length = get(c, 8);
  k->message_index_offsets = get_map(c);
  k->message_index_length = get(c, 8);
  k->compression = get_str(c);
  k->compressed_size = get(c, 8);
  k->uncompressed_size = get(c, 8);
}

static void parse_attachment(struct cur *c, struct mcap_attachment *a) {
  const uint8_t *start = c->p;
  a->log_time = get(c, 8);
  a->create_time = get(c, 8);
  a->name = get_str(c);
  a->content_type = get_str(c);
  a->len = get(c, 8);
  a->data = take(c, a->len);
  if (c->bad) return;
  a->crc = (uint32_t)get(c, 4);
  if (!c->bad && a->crc && a->crc != (uint32_t)crc32_z(0, start, (size_t)(c->p - 4 - start)))
    c->bad = 1;
}

static void parse_statistics(struct cur *c, struct mcap_statistics *s) {
  s->message_count = get(c, 8);
  s->schema_count = (uint16_t)get(c, 2);
  s->channel_count = (uint32_t)get(c, 4);
  s->attachment_count = (uint32_t)get(c, 4);
  s->metadata_count = (uint32_t)get(c, 4);
  s->chunk_count = (uint32_t)get(c, 4);
  s->start_time = get(c, 8);
  s->end_time = get(c, 8);
  s->channel_message_counts = get_map(c);
}

/* The fields of @rec->op from its body (unknown opcodes: nothing). 0 or -EBADMSG. */
static int parse_body(struct mcap_record *rec) {
  struct cur c = {rec->body, rec->len, 0};
  switch (rec->op) {
    case MCAP_OP_HEADER:
      rec->u.header.profile = get_str(&c);
      rec->u.header.library = get_str(&c);
      break;
    case MCAP_OP_FOOTER:
      rec->u.footer.summary_start = get(&c, 8);
      rec->u.footer.summary_offset_start = get(&c, 8);
      rec->u.footer.summary_crc = (uint32_t)get(&c, 4);
      break;
    case MCAP_OP_SCHEMA:
      rec->u.schema.id = (uint16_t)get(&c, 2);
      rec->u.schema.name = get_str(&c);
      rec->u.schema.encoding = get_str(&c);
      rec->u.schema.data = get_str(&c);
      break;
    case MCAP_OP_CHANNEL:
      rec->u.channel.id = (uint16_t)get(&c, 2);
      rec->u.channel.schema_id = (uint16_t)get(&c, 2);
      rec->u.channel.topic = get_str(&c);
      rec->u.channel.message_encoding = get_str(&c);
      rec->u.channel.metadata = get_map(&c);
      break;
    case MCAP_OP_MESSAGE: parse_message(&c, &rec->u.message); break;
    case MCAP_OP_CHUNK: parse_chunk(&c, &rec->u.chunk); break;
    case MCAP_OP_MESSAGE_INDEX:
      rec->u.message_index.channel_id = (uint16_t)get(&c, 2);
      rec->u.message_index.records = get_map(&c);
      break;
    case MCAP_OP_CHUNK_INDEX: parse_chunk_index(&c, &rec->u.chunk_index); break;
    case MCAP_OP_ATTACHMENT: parse_attachment(&c, &rec->u.attachment); break;
    case MCAP_OP_ATTACHMENT_INDEX:
      rec->u.attachment_index.offset = get(&c, 8);
      rec->u.attachment_index.length = get(&c, 8);
      rec->u.attachment_index.log_time = get(&c, 8);
      rec->u.attachment_index.create_time = get(&c, 8);
      rec->u.attachment_index.data_size = get(&c, 8);
      rec->u.attachment_index.name = get_str(&c);
      rec->u.attachment_index.content_type = get_str(&c);
      break;
    case MCAP_OP_STATISTICS: parse_statistics(&c, &rec->u.statistics); break;
    case MCAP_OP_METADATA:
      rec->u.metadata.name = get_str(&c);
      rec->u.metadata.metadata = get_map(&c);
      break;
    case MCAP_OP_METADATA_INDEX:
      rec->u.metadata_index.offset = get(&c, 8);
      rec->u.metadata_index.length = get(&c, 8);
      rec->u.metadata_index.name = get_str(&c);
      break;
    case MCAP_OP_SUMMARY_OFFSET:
      rec->u.summary_offset.group_opcode = (uint8_t)get(&c, 1);
      rec->u.summary_offset.group_start = get(&c, 8);
      rec->u.summary_offset.group_length = get(&c, 8);
      break;
    case MCAP_OP_DATA_END: rec->u.data_end.data_section_crc = (uint32_t)get(&c, 4); break;
    default: break;
  }
  return c.bad ? -EBADMSG : 0;
}

int64_t mcap_parse_record(const uint8_t *p, uint64_t n, struct mcap_record *rec) {
  uint64_t len;
  int rc;
  memset(rec, 0, sizeof *rec);
  if (n < 9) return -ENODATA;
  len = mcap__get_le(p + 1, 8);
  if (len > n - 9) return -ENODATA;
  rec->op = p[0];
  rec->body = p + 9;
  rec->len = len;
  if ((rc = parse_body(rec)) < 0) return rc;
  return (int64_t)(9 + len);
}

int mcap_map_next(const struct mcap_map *m, uint32_t *pos, struct mcap_str *key,
                  struct mcap_str *value) {
  struct cur c;
  if (*pos >= m->n) return 0;
  c.p = m->p + *pos;
  c.n = m->n - *pos;
  c.bad = 0;
  *key = get_str(&c);
  *value = get_str(&c);
  if (c.bad) return -EBADMSG;
  *pos = (uint32_t)(m->n - c.n);
  return 1;
}

int mcap_map_u16_u64(const struct mcap_map *m, uint32_t i, uint16_t *key, uint64_t *value) {
  if (i >= m->n / 10) return -ERANGE;
  *key = (uint16_t)mcap__get_le(m->p + 10 * (size_t)i, 2);
  *value = mcap__get_le(m->p + 10 * (size_t)i + 2, 8);
  return 0;
}

int mcap_index_entry(const struct mcap_map *m, uint32_t i, uint64_t *log_time, uint64_t *offset) {
  if (i >= m->n / 16) return -ERANGE;
  *log_time = mcap__get_le(m->p + 16 * (size_t)i, 8);
  *offset = mcap__get_le(m->p + 16 * (size_t)i + 8, 8);
  return 0;
}

static int str_is(struct mcap_str s, const char *lit) {
  return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* LZ4 frame into exactly @n bytes at @dst. */
static int unlz4(const struct mcap_chunk *c, uint8_t *dst, size_t n) {
  LZ4F_dctx *d;
  size_t in_left = c->records_len, out_done = 0, rc = 1;
  const uint8_t *src = c->records;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) return -ENOMEM;
  while (rc != 0 && in_left > 0) {
    size_t in = in_left, out = n - out_done;
    rc = LZ4F_decompress(d, dst + out_done, &out, src, &in, NULL);
    if (LZ4F_isError(rc)) break;
    src += in;
    in_left -= in;
    out_done += out;
    if (in == 0 && out == 0) break; /* no progress: truncated or wants more room */
  }
  LZ4F_freeDecompressionContext(d);
  return (!LZ4F_isError(rc) && rc == 0 && out_done == n) ? 0 : -EBADMSG;
}

static int decompress(const struct mcap_chunk *c, uint8_t *dst, size_t n) {
  if (c->compression.n == 0) {
    if (c->records_len != n) return -EBADMSG;
    memcpy(dst, c->records, n);
    return 0;
  }
  if (str_is(c->compression, "zstd")) {
    size_t k = ZSTD_decompress(dst, n, c->records, c->records_len);
    return (!ZSTD_isError(k) && k == n) ? 0 : -EBADMSG;
  }
  if (str_is(c->compression, "lz4")) return unlz4(c, dst, n);
  return -ENOTSUP;
}

/* LZ4 frame's content size field, 0 when absent or unreadable. */
static uint64_t lz4_content_size(const struct mcap_chunk *c) {
  LZ4F_frameInfo_t fi;
  LZ4F_dctx *d;
  size_t in = c->records_len, rc;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) return 0;
  memset(&fi, 0, sizeof fi);
  rc = LZ4F_getFrameInfo(d, &fi, c->records, &in);
  LZ4F_freeDecompressionContext(d);
  return LZ4F_isError(rc) ? 0 : fi.contentSize;
}

/* Before allocating: can the data hold uncompressed_size bytes at all? The stored size must
 * equal it; a frame that states its content size must state this one; and no frame expands
 * beyond its format's largest ratio (LZ4: 255:1; zstd: 32768:1, one RLE block per 4 bytes). */
static int plausible(const struct mcap_chunk *c) {
  uint64_t n = c->uncompressed_size, k = c->records_len, z;
  if (c->compression.n == 0) return k == n ? 0 : -EBADMSG;
  if (str_is(c->compression, "lz4")) {
    z = lz4_content_size(c);
    if ((z && z != n) || n > k * 255 + 64) return -EBADMSG;
    return 0;
  }
  z = ZSTD_getFrameContentSize(c->records, k);
  if (z == ZSTD_CONTENTSIZE_ERROR || (z != ZSTD_CONTENTSIZE_UNKNOWN && z != n)) return -EBADMSG;
  return n > k * 65536 + 64 ? -EBADMSG : 0;
}

int mcap_decompress_chunk(const struct mcap_chunk *c, uint64_t max_bytes, uint8_t **out) {
  uint8_t *p;
  int rc;
  *out = NULL;
  if (c->uncompressed_size > max_bytes || c->uncompressed_size > SIZE_MAX - 1) return -EFBIG;
  if (c->compression.n && !str_is(c->compression, "zstd") && !str_is(c->compression, "lz4"))
    return -ENOTSUP;
  if ((rc = plausible(c)) < 0) return rc;
  if ((p = malloc(c->uncompressed_size ? c->uncompressed_size : 1)) == NULL) return -ENOMEM;
  rc = decompress(c, p, c->uncompressed_size);
  if (rc == 0 && c->uncompressed_crc &&
      c->uncompressed_crc != (uint32_t)crc32_z(0, p, (size_t)c->uncompressed_size))
    rc = -EBADMSG;
  if (rc < 0) {
    free(p);
    return rc;
  }
  *out = p;
  return 0;
}

/* ---------------------------------------------------------------- the streaming reader */

struct mcap_reader {
  const uint8_t *p;
  uint64_t n;
  int mapped;
  uint64_t pos;   /* next record in the file */
  uint8_t *chunk; /* the current chunk's records */
  uint64_t chunk_len, chunk_pos;
  int err, done;
  struct mcap_reader_opts o;
};

static int open_common(const void *p, size_t n, const struct mcap_reader_opts *opts, int mapped,
                       mcap_reader **out) {
  mcap_reader *r;
  if (n < MCAP_MAGIC_LEN) return -ENODATA;
  if (memcmp(p, MCAP_MAGIC, MCAP_MAGIC_LEN) != 0) return -EBADMSG;
  if ((r = calloc(1, sizeof *r)) == NULL) return -ENOMEM;
  r->p = p;
  r->n = n;
  r->mapped = mapped;
  r->pos = MCAP_MAGIC_LEN;
  r->o.max_chunk_bytes = 1ull << 30;
  if (opts && opts->max_chunk_bytes) r->o.max_chunk_bytes = opts->max_chunk_bytes;
  *out = r;
  return 0;
}

int mcap_reader_open_mem(const void *p, size_t n, const struct mcap_reader_opts *opts,
                         mcap_reader **out) {
  if (p == NULL || out == NULL) return -EINVAL;
  return open_common(p, n, opts, 0, out);
}

int mcap_reader_open_file(const char *path, const struct mcap_reader_opts *opts,
                          mcap_reader **out) {
  struct stat st;
  void *p;
  int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
  if (fd < 0) return -errno;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    rc = S_ISREG(st.st_mode) ? -errno : -EINVAL;
    close(fd);
    return rc;
  }
  if (st.st_size < MCAP_MAGIC_LEN) {
    close(fd);
    return -ENODATA;
  }
  p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  rc = -errno;
  close(fd);
  if (p == MAP_FAILED) return rc;
  if ((rc = open_common(p, (size_t)st.st_size, opts, 1, out)) < 0) munmap(p, (size_t)st.st_size);
  return rc;
}

void mcap_reader_close(mcap_reader *r) {
  if (r == NULL) return;
  free(r->chunk);
  if (r->mapped) munmap((void *)r->p, r->n);
  free(r);
}

uint64_t mcap_reader_size(const mcap_reader *r) { return r->n; }

/* The next record inside the current chunk: 1, 0 (chunk done), or an error. */
static int next_in_chunk(mcap_reader *r, struct mcap_record *rec) {
  int64_t k;
  if (r->chunk == NULL) return 0;
  if (r->chunk_pos >= r->chunk_len) {
    free(r->chunk);
    r->chunk = NULL;
    return 0;
  }
  k = mcap_parse_record(r->chunk + r->chunk_pos, r->chunk_len - r->chunk_pos, rec);
  if (k < 0) return k == -ENODATA ? -EBADMSG : (int)k; /* a chunk's records are whole */
  rec->in_chunk = 1;
  rec->offset = r->chunk_pos;
  r->chunk_pos += (uint64_t)k;
  return 1;
}

static int enter_chunk(mcap_reader *r, const struct mcap_chunk *c) {
  int rc = mcap_decompress_chunk(c, r->o.max_chunk_bytes, &r->chunk);
  if (rc < 0) return rc;
  r->chunk_len = c->uncompressed_size;
  r->chunk_pos = 0;
  return 0;
}

static int next_record(mcap_reader *r, struct mcap_record *rec) {
  int64_t k;
  int rc;
  if ((rc = next_in_chunk(r, rec)) != 0) return rc;
  if (r->done) return 0;
  k = mcap_parse_record(r->p + r->pos, r->n - r->pos, rec);
  if (k < 0) return (int)k;
  rec->offset = r->pos;
  if (rec->op == MCAP_OP_FOOTER) { /* the closing magic must follow */
    if (r->n - r->pos - (uint64_t)k < MCAP_MAGIC_LEN) return -ENODATA;
    if (memcmp(r->p + r->pos + k, MCAP_MAGIC, MCAP_MAGIC_LEN) != 0) return -EBADMSG;
    r->done = 1;
  }
  if (rec->op == MCAP_OP_CHUNK && (rc = enter_chunk(r, &rec->u.chunk)) < 0) return rc;
  r->pos += (uint64_t)k;
  return 1;
}

int mcap_reader_next(mcap_reader *r, struct mcap_record *rec) {
  int rc;
  if (r->err) return r->err;
  rc = next_record(r, rec);
  if (rc < 0) r->err = rc;
  return rc;
}

int mcap_reader_footer(mcap_reader *r, struct mcap_footer *f) {
  struct mcap_record rec;
  uint64_t at;
  const uint64_t tail = 9 + 20 + MCAP_MAGIC_LEN; /* footer record + magic */
  if (r->n < MCAP_MAGIC_LEN + tail) return -ENODATA;
  at = r->n - tail;
  if (memcmp(r->p + r->n - MCAP_MAGIC_LEN, MCAP_MAGIC, MCAP_MAGIC_LEN) != 0) return -ENODATA;
  if (r->p[at] != MCAP_OP_FOOTER || mcap_parse_record(r->p + at, 29, &rec) != 29) return -EBADMSG;
  *f = rec.u.footer;
  if (f->summary_start > at || f->summary_offset_start > at) return -EBADMSG;
  if (f->summary_start && f->summary_crc &&
      f->summary_crc !=
          (uint32_t)crc32_z(0, r->p + f->summary_start, (size_t)(at + 9 + 16 - f->summary_start)))
    return -EBADMSG;
  return 0;
}

int64_t mcap_reader_record_at(mcap_reader *r, uint64_t off, struct mcap_record *rec) {
  int64_t k;
  if (off >= r->n) return -ENODATA;
  k = mcap_parse_record(r->p + off, r->n - off, rec);
  if (k >= 0) rec->offset = off;
  return k;
}

int mcap_compression_parse(const char *s, enum mcap_compression *c) {
  if (!strcmp(s, "zstd")) *c = MCAP_COMPRESS_ZSTD;
  else if (!strcmp(s, "lz4")) *c = MCAP_COMPRESS_LZ4;
  else if (!strcmp(s, "none") || !*s) *c = MCAP_COMPRESS_NONE;
  else return -EINVAL;
  return 0;
}

const char *mcap_strerror(int err) {
  switch (err < 0 ? -err : err) {
    case 0: return "Success.";
    case EBADMSG: return "The file is not valid MCAP: a record does not parse or a CRC is wrong.";
    case ENODATA:
      return "The file ends early (truncated: its writer was killed or is still "
             "writing); everything before the cut was read.";
    case EFBIG: return "A chunk is larger than this reader accepts.";
    case ENOTSUP: return "A chunk uses a compression this build does not know (zstd, lz4 only).";
    case EINVAL: return "Invalid argument.";
    case ENOMEM: return "Out of memory.";
    default: return strerror(err < 0 ? -err : err);
  }
}
