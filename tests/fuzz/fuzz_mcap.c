/* fuzz_mcap.c - fuzz target 4: the MCAP reader (mcap/) over arbitrary files.
 *
 * Each input is a whole file. The target streams it with mcap_reader_next() (chunks
 * decompressed with a 1 MiB limit), then reads its footer and, if that checks out, walks the
 * summary section and follows every chunk index to its chunk and message indexes, and every
 * message index entry into the decompressed chunk: what `shmbus play` and `shmbus info` do.
 * Checks: no crash, no out-of-bounds access (ASan), no hang, no allocation beyond the limit
 * (libFuzzer -rss_limit_mb), every call returns a documented code, every record handed out
 * lies inside the input or inside its chunk. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "mcap/mcap.h"
#include "tests/fuzz/fuzz_common.h"

#define LIMIT (1u << 20)

static void check_code(int rc, const char *what) {
  if (rc >= 0 || rc == -ENODATA || rc == -EBADMSG || rc == -EFBIG || rc == -ENOTSUP ||
      rc == -ERANGE)
    return;
  fuzz_fail("%s returned undocumented %d", what, rc);
}

static void check_inside(const struct mcap_record *rec, const uint8_t *base, uint64_t n) {
  if (rec->body < base || rec->body + rec->len > base + n)
    fuzz_fail("record op 0x%02x lies outside its input", rec->op);
}

static void stream(const uint8_t *data, size_t size) {
  struct mcap_reader_opts o = {LIMIT};
  struct mcap_record rec;
  mcap_reader *r;
  int rc, n = 0;
  if ((rc = mcap_reader_open_mem(data, size, &o, &r)) < 0) return check_code(rc, "open");
  while ((rc = mcap_reader_next(r, &rec)) == 1) {
    if (!rec.in_chunk) check_inside(&rec, data, size);
    if (++n > (int)size + 8) fuzz_fail("more records than bytes");
  }
  check_code(rc, "next");
  mcap_reader_close(r);
}

/* One message index: every entry parses inside the decompressed chunk or is refused. */
static void follow_message_index(mcap_reader *r, uint64_t off, const uint8_t *chunk, uint64_t len) {
  struct mcap_record mi, m;
  uint64_t t, o;
  uint32_t e;
  int64_t k = mcap_reader_record_at(r, off, &mi);
  check_code((int)(k < 0 ? k : 0), "record_at(message index)");
  if (k < 0 || mi.op != MCAP_OP_MESSAGE_INDEX || chunk == NULL) return;
  for (e = 0; mcap_index_entry(&mi.u.message_index.records, e, &t, &o) == 0; e++) {
    if (o >= len) continue;
    k = mcap_parse_record(chunk + o, len - o, &m);
    check_code((int)(k < 0 ? k : 0), "parse(message)");
    if (k >= 0) check_inside(&m, chunk, len);
  }
}

static void follow_chunk_index(mcap_reader *r, const struct mcap_chunk_index *ci) {
  struct mcap_record ck;
  uint8_t *chunk = NULL;
  uint64_t mo;
  uint16_t ch;
  uint32_t j;
  int64_t k = mcap_reader_record_at(r, ci->chunk_start_offset, &ck);
  int rc = -EBADMSG;
  check_code((int)(k < 0 ? k : 0), "record_at(chunk)");
  if (k >= 0 && ck.op == MCAP_OP_CHUNK) {
    rc = mcap_decompress_chunk(&ck.u.chunk, LIMIT, &chunk);
    check_code(rc, "decompress");
  }
  for (j = 0; mcap_map_u16_u64(&ci->message_index_offsets, j, &ch, &mo) == 0; j++)
    follow_message_index(r, mo, chunk, rc == 0 ? ck.u.chunk.uncompressed_size : 0);
  free(chunk);
}

static void indexed(const uint8_t *data, size_t size) {
  struct mcap_reader_opts o = {LIMIT};
  struct mcap_footer f;
  struct mcap_record rec;
  mcap_reader *r;
  uint64_t off;
  int rc;
  if (mcap_reader_open_mem(data, size, &o, &r) < 0) return;
  rc = mcap_reader_footer(r, &f);
  check_code(rc, "footer");
  for (off = f.summary_start; rc == 0 && off && off < size;) {
    int64_t k = mcap_reader_record_at(r, off, &rec);
    check_code((int)(k < 0 ? k : 0), "record_at(summary)");
    if (k < 0 || rec.op == MCAP_OP_FOOTER) break;
    check_inside(&rec, data, size);
    if (rec.op == MCAP_OP_CHUNK_INDEX) follow_chunk_index(r, &rec.u.chunk_index);
    off += (uint64_t)k;
  }
  mcap_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  stream(data, size);
  indexed(data, size);
  return 0;
}
