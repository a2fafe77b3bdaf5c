/* mcap_sample.c - the C side of the interoperability test (interop_test.sh):
 *   mcap_sample write DIR   files by our writer: every compression, with and without summary,
 *                           unchunked, and one abandoned after a flush (a killed recorder)
 *   mcap_sample read FILE   stream FILE with our reader; one line per message:
 *                           "TOPIC SEQ LOG_TIME PUBLISH_TIME HEX" (the format check.mjs prints)
 * Message i: channel i % 2 ("a" raw bytes, "b" json), sequence i + 1, log time
 * 1e18 + i ms, publish time 5 ns before, payload of i % 40 bytes (i * 31 + k) & 0xff. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcap/mcap.h"

#define N 500
#define FLUSHED 200 /* messages the abandoned file keeps */

static size_t payload(int i, uint8_t *p) {
  size_t k, n = (size_t)(i % 40);
  for (k = 0; k < n; k++) p[k] = (uint8_t)((i * 31 + (int)k) & 0xff);
  return n;
}

static int write_file(const char *dir, const char *name, enum mcap_compression c, int flags) {
  struct mcap_writer_opts o;
  struct mcap_kv md[] = {{"shmbus.type", "demo"}, {"shmbus.slots", "64"}};
  char path[1024];
  uint8_t p[64];
  mcap_writer *w;
  int fd, i;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
    perror(path);
    return 1;
  }
  mcap_writer_opts_init(&o);
  o.compression = c;
  o.chunk_size = (flags & 4) ? 1 << 20 : 4096; /* killed: only the explicit flush closes one */
  o.no_summary = (flags & 1) != 0;
  o.unchunked = (flags & 2) != 0;
  if (mcap_writer_open(fd, &o, &w) < 0) return 1;
  mcap_writer_add_channel(w, 0, "a", "x-shmbus-raw", md, 2);
  mcap_writer_add_channel(w, 0, "b", "json", NULL, 0);
  for (i = 0; i < N; i++) {
    uint64_t t = 1000000000000000000ull + (uint64_t)i * 1000000;
    if (mcap_writer_message(w, (uint16_t)(i % 2), (uint32_t)i + 1, t, t - 5, p, payload(i, p)))
      return 1;
    if ((flags & 4) && i == FLUSHED - 1) mcap_writer_flush(w);
  }
  if (flags & 4) {
    mcap_writer_abandon(w);
    return 0;
  }
  mcap_writer_metadata(w, "shmbus.lost", (struct mcap_kv[]){{"a", "0"}}, 1);
  return mcap_writer_close(w) < 0;
}

static int read_file(const char *path) {
  char *topics[65536] = {0};
  struct mcap_record rec;
  mcap_reader *r;
  uint64_t k;
  int rc = mcap_reader_open_file(path, NULL, &r);
  if (rc < 0) {
    fprintf(stderr, "%s: %s\n", path, mcap_strerror(rc));
    return 1;
  }
  while ((rc = mcap_reader_next(r, &rec)) == 1) {
    if (rec.op == MCAP_OP_CHANNEL && !topics[rec.u.channel.id])
      topics[rec.u.channel.id] = strndup(rec.u.channel.topic.p, rec.u.channel.topic.n);
    if (rec.op != MCAP_OP_MESSAGE) continue;
    printf("%s %u %llu %llu ",
           topics[rec.u.message.channel_id] ? topics[rec.u.message.channel_id] : "?",
           rec.u.message.sequence, (unsigned long long)rec.u.message.log_time,
           (unsigned long long)rec.u.message.publish_time);
    for (k = 0; k < rec.u.message.len; k++) printf("%02x", rec.u.message.data[k]);
    printf("\n");
  }
  mcap_reader_close(r);
  for (k = 0; k < 65536; k++) free(topics[k]);
  if (rc < 0) fprintf(stderr, "%s: %s\n", path, mcap_strerror(rc));
  return rc == 0 ? 0 : rc == -ENODATA ? 3 : 1;
}

int main(int argc, char **argv) {
  int bad = 0;
  if (argc == 3 && !strcmp(argv[1], "read")) return read_file(argv[2]);
  if (argc != 3 || strcmp(argv[1], "write")) {
    fprintf(stderr, "usage: see source\n");
    return 2;
  }
  bad |= write_file(argv[2], "zstd.mcap", MCAP_COMPRESS_ZSTD, 0);
  bad |= write_file(argv[2], "lz4.mcap", MCAP_COMPRESS_LZ4, 0);
  bad |= write_file(argv[2], "none.mcap", MCAP_COMPRESS_NONE, 0);
  bad |= write_file(argv[2], "zstd-nosummary.mcap", MCAP_COMPRESS_ZSTD, 1);
  bad |= write_file(argv[2], "lz4-nosummary.mcap", MCAP_COMPRESS_LZ4, 1);
  bad |= write_file(argv[2], "unchunked.mcap", MCAP_COMPRESS_NONE, 2);
  bad |= write_file(argv[2], "killed.mcap", MCAP_COMPRESS_ZSTD, 4);
  return bad;
}
