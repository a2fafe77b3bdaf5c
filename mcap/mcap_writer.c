/* mcap_writer.c - the MCAP writer: chunks, message indexes, the summary section. */
#include <errno.h>
#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "mcap/buf.h"
#include "mcap/mcap.h"

struct wchannel {
  struct mcap__buf rec; /* its Channel record, duplicated into the summary */
  struct mcap__buf idx; /* this chunk's message index entries: (log_time, offset) */
  uint64_t count;       /* messages in the file */
};

struct mcap_writer {
  int fd;
  int err; /* sticky */
  struct mcap_writer_opts o;
  struct mcap__buf out;   /* bytes not yet written to fd */
  uint64_t written;       /* bytes written to fd */
  uint32_t data_crc;      /* CRC of the data section, over the bytes written so far */
  struct mcap__buf chunk; /* the open chunk's uncompressed records */
  uint64_t chunk_start, chunk_end, chunk_msgs;
  struct mcap__buf schemas; /* Schema records, for the summary */
  struct wchannel *ch;      /* by channel id */
  size_t nch, nschemas;
  struct mcap__buf chunk_idx, att_idx, md_idx; /* index records, for the summary */
  uint64_t messages, start_time, end_time;
  uint32_t chunks, attachments, metadata;
};

void mcap_writer_opts_init(struct mcap_writer_opts *o) {
  memset(o, 0, sizeof *o);
  o->compression = MCAP_COMPRESS_ZSTD;
  o->chunk_size = 1 << 20;
}

uint64_t mcap_writer_bytes(const mcap_writer *w) { return w->written; }

uint64_t mcap_writer_buffered(const mcap_writer *w) { return w->chunk.n + w->out.n; }

static uint64_t offset_now(const mcap_writer *w) { return w->written + w->out.n; }

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return -errno;
    if (k == 0) return -EIO;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Write out the buffered bytes; @data: they belong to the data section (CRC'd). */
static int drain(mcap_writer *w, int data) {
  int rc;
  if (w->err) return w->err;
  if (w->out.err) return w->err = w->out.err;
  if (data) w->data_crc = (uint32_t)crc32_z(w->data_crc, w->out.p, (size_t)w->out.n);
  if ((rc = write_all(w->fd, w->out.p, w->out.n)) < 0) return w->err = rc;
  w->written += w->out.n;
  w->out.n = 0;
  return 0;
}

int mcap_writer_open(int fd, const struct mcap_writer_opts *opts, mcap_writer **out) {
  mcap_writer *w;
  size_t at;
  int rc;
  if (fd < 0 || out == NULL) return -EINVAL;
  if ((w = calloc(1, sizeof *w)) == NULL) return -ENOMEM;
  if (opts) w->o = *opts;
  else mcap_writer_opts_init(&w->o);
  if (w->o.compression > MCAP_COMPRESS_LZ4) {
    free(w);
    return -EINVAL;
  }
  if (w->o.chunk_size == 0) w->o.chunk_size = 1 << 20;
  w->fd = fd;
  mcap__put(&w->out, MCAP_MAGIC, MCAP_MAGIC_LEN);
  at = mcap__begin(&w->out, MCAP_OP_HEADER);
  mcap__str(&w->out, w->o.profile ? w->o.profile : "");
  mcap__str(&w->out, w->o.library ? w->o.library : "shmbus-mcap");
  mcap__end(&w->out, at);
  w->o.profile = w->o.library = NULL; /* not kept: the caller's strings */
  if ((rc = drain(w, 1)) < 0) {
    free(w->out.p);
    free(w);
    return rc;
  }
  *out = w;
  return 0;
}

/* Where Schema/Channel/Message records go: the open chunk, or straight out. */
static struct mcap__buf *data_buf(mcap_writer *w) { return w->o.unchunked ? &w->out : &w->chunk; }

int mcap_writer_add_schema(mcap_writer *w, const char *name, const char *encoding, const void *data,
                           size_t len) {
  struct mcap__buf *b;
  size_t at;
  uint16_t id;
  if (w == NULL || w->nschemas >= 65535 || len > UINT32_MAX) return -EINVAL;
  if (w->err) return w->err;
  id = (uint16_t)(w->nschemas + 1);
  at = mcap__begin(&w->schemas, MCAP_OP_SCHEMA);
  mcap__u16(&w->schemas, id);
  mcap__str(&w->schemas, name);
  mcap__str(&w->schemas, encoding);
  mcap__u32(&w->schemas, (uint32_t)len);
  mcap__put(&w->schemas, data, len);
  mcap__end(&w->schemas, at);
  if (w->schemas.err) return w->err = w->schemas.err;
  b = data_buf(w);
  mcap__put(b, w->schemas.p + at - 9, w->schemas.n - (at - 9));
  if (b->err) return w->err = b->err;
  w->nschemas++;
  return id;
}

static void put_map(struct mcap__buf *b, const struct mcap_kv *md, size_t n) {
  size_t i, at;
  mcap__u32(b, 0);
  at = b->n;
  for (i = 0; i < n; i++) {
    mcap__str(b, md[i].key);
    mcap__str(b, md[i].value);
  }
  if (!b->err) {
    uint32_t len = (uint32_t)(b->n - at);
    memcpy(b->p + at - 4, (uint8_t[]){len, len >> 8, len >> 16, len >> 24}, 4);
  }
}

int mcap_writer_add_channel(mcap_writer *w, uint16_t schema_id, const char *topic,
                            const char *message_encoding, const struct mcap_kv *md, size_t n) {
  struct wchannel *nv, *c;
  struct mcap__buf *b;
  size_t at;
  if (w == NULL || w->nch >= 65536 || schema_id > w->nschemas || (n && md == NULL)) return -EINVAL;
  if (w->err) return w->err;
  if ((nv = realloc(w->ch, (w->nch + 1) * sizeof *nv)) == NULL) return -ENOMEM;
  w->ch = nv;
  c = &w->ch[w->nch];
  memset(c, 0, sizeof *c);
  at = mcap__begin(&c->rec, MCAP_OP_CHANNEL);
  mcap__u16(&c->rec, (uint16_t)w->nch);
  mcap__u16(&c->rec, schema_id);
  mcap__str(&c->rec, topic);
  mcap__str(&c->rec, message_encoding);
  put_map(&c->rec, md, n);
  mcap__end(&c->rec, at);
  if (c->rec.err) {
    free(c->rec.p);
    return -ENOMEM;
  }
  b = data_buf(w);
  mcap__put(b, c->rec.p, c->rec.n);
  if (b->err) {
    free(c->rec.p);
    w->err = b->err;
    return w->err;
  }
  return (int)w->nch++;
}

/* Compress @src into @dst (cleared first). */
static int compress_into(enum mcap_compression c, const struct mcap__buf *src,
                         struct mcap__buf *dst) {
  size_t bound, k;
  dst->n = 0;
  if (c == MCAP_COMPRESS_ZSTD) {
    bound = ZSTD_compressBound(src->n);
    if (mcap__reserve(dst, bound) < 0) return -ENOMEM;
    k = ZSTD_compress(dst->p, bound, src->p, src->n, 1);
    if (ZSTD_isError(k)) return -EIO;
  } else {
    LZ4F_preferences_t pref;
    memset(&pref, 0, sizeof pref);
    pref.frameInfo.contentSize = src->n;
    bound = LZ4F_compressFrameBound(src->n, &pref);
    if (mcap__reserve(dst, bound) < 0) return -ENOMEM;
    k = LZ4F_compressFrame(dst->p, bound, src->p, src->n, &pref);
    if (LZ4F_isError(k)) return -EIO;
  }
  dst->n = k;
  return 0;
}

static const char *compression_name(enum mcap_compression c) {
  return c == MCAP_COMPRESS_ZSTD ? "zstd" : c == MCAP_COMPRESS_LZ4 ? "lz4" : "";
}

/* The Message Index records after a chunk; their offsets go into the chunk index's map. */
static void put_message_indexes(mcap_writer *w, struct mcap__buf *offsets) {
  size_t i, at;
  for (i = 0; i < w->nch; i++) {
    struct wchannel *c = &w->ch[i];
    if (c->idx.n == 0) continue;
    mcap__u16(offsets, (uint16_t)i);
    mcap__u64(offsets, offset_now(w));
    at = mcap__begin(&w->out, MCAP_OP_MESSAGE_INDEX);
    mcap__u16(&w->out, (uint16_t)i);
    mcap__u32(&w->out, (uint32_t)c->idx.n);
    mcap__put(&w->out, c->idx.p, c->idx.n);
    mcap__end(&w->out, at);
    c->idx.n = 0;
  }
}

static void put_chunk_index(mcap_writer *w, uint64_t start, uint64_t len, uint64_t mi_len,
                            const struct mcap__buf *offsets, uint64_t csize) {
  struct mcap__buf *b = &w->chunk_idx;
  size_t at = mcap__begin(b, MCAP_OP_CHUNK_INDEX);
  mcap__u64(b, w->chunk_start);
  mcap__u64(b, w->chunk_end);
  mcap__u64(b, start);
  mcap__u64(b, len);
  mcap__u32(b, (uint32_t)offsets->n);
  mcap__put(b, offsets->p, offsets->n);
  mcap__u64(b, mi_len);
  mcap__str(b, compression_name(w->o.compression));
  mcap__u64(b, csize);
  mcap__u64(b, w->chunk.n);
  mcap__end(b, at);
}

/* Close the open chunk: Chunk record, its Message Index records, its Chunk Index. */
static int close_chunk(mcap_writer *w) {
  struct mcap__buf z = {0}, offsets = {0};
  const struct mcap__buf *data = &w->chunk;
  uint64_t start, len, mi_start;
  size_t at;
  int rc = 0;
  if (w->chunk.n == 0) return 0;
  if (w->chunk.err) return w->err = w->chunk.err;
  if (w->o.compression != MCAP_COMPRESS_NONE) {
    if ((rc = compress_into(w->o.compression, &w->chunk, &z)) < 0) goto out;
    data = &z;
  }
  start = offset_now(w);
  at = mcap__begin(&w->out, MCAP_OP_CHUNK);
  mcap__u64(&w->out, w->chunk_msgs ? w->chunk_start : 0);
  mcap__u64(&w->out, w->chunk_msgs ? w->chunk_end : 0);
  mcap__u64(&w->out, w->chunk.n);
  mcap__u32(&w->out, (uint32_t)crc32_z(0, w->chunk.p, (size_t)w->chunk.n));
  mcap__str(&w->out, compression_name(w->o.compression));
  mcap__u64(&w->out, data->n);
  mcap__put(&w->out, data->p, data->n);
  mcap__end(&w->out, at);
  len = offset_now(w) - start;
  mi_start = offset_now(w);
  put_message_indexes(w, &offsets);
  if (!w->chunk_msgs) w->chunk_start = w->chunk_end = 0;
  put_chunk_index(w, start, len, offset_now(w) - mi_start, &offsets, data->n);
  if (offsets.err || w->chunk_idx.err) rc = -ENOMEM;
  w->chunks++;
  w->chunk.n = 0;
  w->chunk_msgs = 0;
out:
  free(z.p);
  free(offsets.p);
  if (rc < 0) return w->err = rc;
  return drain(w, 1);
}

int mcap_writer_message(mcap_writer *w, uint16_t channel_id, uint32_t sequence, uint64_t log_time,
                        uint64_t publish_time, const void *data, size_t len) {
  struct mcap__buf *b;
  size_t at;
  if (w == NULL || channel_id >= w->nch || (len && data == NULL)) return -EINVAL;
  if (w->err) return w->err;
  b = data_buf(w);
  if (!w->o.unchunked) {
    mcap__u64(&w->ch[channel_id].idx, log_time);
    mcap__u64(&w->ch[channel_id].idx, b->n);
    if (w->ch[channel_id].idx.err) return w->err = -ENOMEM;
    if (w->chunk_msgs == 0 || log_time < w->chunk_start) w->chunk_start = log_time;
    if (w->chunk_msgs == 0 || log_time > w->chunk_end) w->chunk_end = log_time;
    w->chunk_msgs++;
  }
  at = mcap__begin(b, MCAP_OP_MESSAGE);
  mcap__u16(b, channel_id);
  mcap__u32(b, sequence);
  mcap__u64(b, log_time);
  mcap__u64(b, publish_time);
  mcap__put(b, data, len);
  mcap__end(b, at);
  if (b->err) return w->err = b->err;
  if (w->messages == 0 || log_time < w->start_time) w->start_time = log_time;
  if (w->messages == 0 || log_time > w->end_time) w->end_time = log_time;
  w->messages++;
  w->ch[channel_id].count++;
  if (w->o.unchunked) return w->out.n >= 65536 ? drain(w, 1) : 0;
  return w->chunk.n >= w->o.chunk_size ? close_chunk(w) : 0;
}

int mcap_writer_metadata(mcap_writer *w, const char *name, const struct mcap_kv *md, size_t n) {
  uint64_t start;
  size_t at;
  if (w == NULL || (n && md == NULL)) return -EINVAL;
  if (w->err) return w->err;
  start = offset_now(w);
  at = mcap__begin(&w->out, MCAP_OP_METADATA);
  mcap__str(&w->out, name);
  put_map(&w->out, md, n);
  mcap__end(&w->out, at);
  at = mcap__begin(&w->md_idx, MCAP_OP_METADATA_INDEX);
  mcap__u64(&w->md_idx, start);
  mcap__u64(&w->md_idx, offset_now(w) - start);
  mcap__str(&w->md_idx, name);
  mcap__end(&w->md_idx, at);
  if (w->md_idx.err) return w->err = -ENOMEM;
  w->metadata++;
  return drain(w, 1);
}

int mcap_writer_attachment(mcap_writer *w, uint64_t log_time, uint64_t create_time,
                           const char *name, const char *content_type, const void *data,
                           size_t len) {
  uint64_t start;
  size_t at;
  if (w == NULL || (len && data == NULL)) return -EINVAL;
  if (w->err) return w->err;
  start = offset_now(w);
  at = mcap__begin(&w->out, MCAP_OP_ATTACHMENT);
  mcap__u64(&w->out, log_time);
  mcap__u64(&w->out, create_time);
  mcap__str(&w->out, name);
  mcap__str(&w->out, content_type);
  mcap__u64(&w->out, len);
  mcap__put(&w->out, data, len);
  if (w->out.err) return w->err = -ENOMEM;
  mcap__u32(&w->out, (uint32_t)crc32_z(0, w->out.p + at, (size_t)(w->out.n - at)));
  mcap__end(&w->out, at);
  at = mcap__begin(&w->att_idx, MCAP_OP_ATTACHMENT_INDEX);
  mcap__u64(&w->att_idx, start);
  mcap__u64(&w->att_idx, offset_now(w) - start);
  mcap__u64(&w->att_idx, log_time);
  mcap__u64(&w->att_idx, create_time);
  mcap__u64(&w->att_idx, len);
  mcap__str(&w->att_idx, name);
  mcap__str(&w->att_idx, content_type);
  mcap__end(&w->att_idx, at);
  if (w->att_idx.err) return w->err = -ENOMEM;
  w->attachments++;
  return drain(w, 1);
}

int mcap_writer_flush(mcap_writer *w) {
  if (w == NULL) return -EINVAL;
  if (w->err) return w->err;
  if (!w->o.unchunked && close_chunk(w) < 0) return w->err;
  return drain(w, 1);
}

static void put_statistics(mcap_writer *w, struct mcap__buf *b) {
  size_t at = mcap__begin(b, MCAP_OP_STATISTICS), i, mat;
  mcap__u64(b, w->messages);
  mcap__u16(b, (uint16_t)w->nschemas);
  mcap__u32(b, (uint32_t)w->nch);
  mcap__u32(b, w->attachments);
  mcap__u32(b, w->metadata);
  mcap__u32(b, w->chunks);
  mcap__u64(b, w->messages ? w->start_time : 0);
  mcap__u64(b, w->messages ? w->end_time : 0);
  mcap__u32(b, 0);
  mat = b->n;
  for (i = 0; i < w->nch; i++) {
    mcap__u16(b, (uint16_t)i);
    mcap__u64(b, w->ch[i].count);
  }
  if (!b->err) {
    uint32_t n = (uint32_t)(b->n - mat);
    memcpy(b->p + mat - 4, (uint8_t[]){n, n >> 8, n >> 16, n >> 24}, 4);
  }
  mcap__end(b, at);
}

/* One group of the summary: @bytes of records of @op, remembered for its Summary Offset. */
static void put_group(mcap_writer *w, struct mcap__buf *offs, uint8_t op, const void *bytes,
                      size_t n) {
  if (n == 0) return;
  mcap__u8(offs, op);
  mcap__u64(offs, offset_now(w));
  mcap__u64(offs, n);
  mcap__put(&w->out, bytes, n);
}

static void put_summary(mcap_writer *w, struct mcap__buf *offs) {
  struct mcap__buf chans = {0}, stats = {0};
  size_t i;
  for (i = 0; i < w->nch; i++) mcap__put(&chans, w->ch[i].rec.p, w->ch[i].rec.n);
  put_statistics(w, &stats);
  put_group(w, offs, MCAP_OP_SCHEMA, w->schemas.p, w->schemas.n);
  put_group(w, offs, MCAP_OP_CHANNEL, chans.p, chans.n);
  put_group(w, offs, MCAP_OP_STATISTICS, stats.p, stats.n);
  put_group(w, offs, MCAP_OP_CHUNK_INDEX, w->chunk_idx.p, w->chunk_idx.n);
  put_group(w, offs, MCAP_OP_ATTACHMENT_INDEX, w->att_idx.p, w->att_idx.n);
  put_group(w, offs, MCAP_OP_METADATA_INDEX, w->md_idx.p, w->md_idx.n);
  if (chans.err || stats.err) w->out.err = -ENOMEM;
  free(chans.p);
  free(stats.p);
}

/* Summary offsets (from @offs: op, start, length per group), the footer and the magic. */
static void put_tail(mcap_writer *w, uint64_t summary_start, const struct mcap__buf *offs,
                     size_t crc_from) {
  uint64_t offsets_start = 0;
  size_t i, at;
  if (summary_start && offs->n) offsets_start = offset_now(w);
  for (i = 0; summary_start && i + 17 <= offs->n; i += 17) {
    at = mcap__begin(&w->out, MCAP_OP_SUMMARY_OFFSET);
    mcap__put(&w->out, offs->p + i, 17);
    mcap__end(&w->out, at);
  }
  mcap__u8(&w->out, MCAP_OP_FOOTER); /* length written now: the summary CRC covers it */
  mcap__u64(&w->out, 8 + 8 + 4);
  mcap__u64(&w->out, summary_start);
  mcap__u64(&w->out, offsets_start);
  if (w->out.err) return;
  /* From the summary's start through the footer's summary_offset_start field. */
  mcap__u32(&w->out, summary_start
                         ? (uint32_t)crc32_z(0, w->out.p + crc_from, (size_t)(w->out.n - crc_from))
                         : 0);
  mcap__put(&w->out, MCAP_MAGIC, MCAP_MAGIC_LEN);
}

static int write_file_end(mcap_writer *w) {
  struct mcap__buf offs = {0};
  uint64_t summary_start = 0;
  size_t at;
  if (mcap_writer_flush(w) < 0) return w->err;
  at = mcap__begin(&w->out, MCAP_OP_DATA_END);
  mcap__u32(&w->out, w->data_crc); /* the data section: every byte before this record */
  mcap__end(&w->out, at);
  if (drain(w, 0) < 0) return w->err;
  if (!w->o.no_summary) {
    summary_start = offset_now(w);
    put_summary(w, &offs);
  }
  put_tail(w, summary_start, &offs, 0);
  free(offs.p);
  return drain(w, 0);
}

static void free_writer(mcap_writer *w) {
  size_t i;
  for (i = 0; i < w->nch; i++) {
    free(w->ch[i].rec.p);
    free(w->ch[i].idx.p);
  }
  free(w->ch);
  free(w->out.p);
  free(w->chunk.p);
  free(w->schemas.p);
  free(w->chunk_idx.p);
  free(w->att_idx.p);
  free(w->md_idx.p);
  free(w);
}

int mcap_writer_close(mcap_writer *w) {
  int rc;
  if (w == NULL) return 0;
  rc = write_file_end(w);
  if (close(w->fd) < 0 && rc == 0) rc = -errno;
  free_writer(w);
  return rc;
}

void mcap_writer_abandon(mcap_writer *w) {
  if (w == NULL) return;
  close(w->fd);
  free_writer(w);
}
