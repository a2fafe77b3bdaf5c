/* make_mcap_corpus.c - writes the seed corpus of the MCAP fuzz target into DIR: small files by
 * the real writer in every compression, with and without summary, unchunked, and truncated.
 *   bazel run //tests/fuzz:make_mcap_corpus -- $PWD/tests/fuzz/corpus/mcap */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mcap/mcap.h"

static int write_one(const char *dir, const char *name, enum mcap_compression c, int flags,
                     off_t cut) {
  char path[512], msg[64];
  struct mcap_writer_opts o;
  struct mcap_kv md[] = {{"shmbus.slots", "8"}};
  mcap_writer *w;
  int fd, i;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
    perror(path);
    return 1;
  }
  mcap_writer_opts_init(&o);
  o.compression = c;
  o.chunk_size = 300;
  o.no_summary = flags & 1;
  o.unchunked = (flags & 2) != 0;
  if (mcap_writer_open(fd, &o, &w) < 0) return 1;
  mcap_writer_add_schema(w, "S", "jsonschema", "{}", 2);
  mcap_writer_add_channel(w, 1, "a", "json", md, 1);
  mcap_writer_add_channel(w, 0, "b", "x-shmbus-raw", NULL, 0);
  for (i = 0; i < 24; i++) {
    snprintf(msg, sizeof msg, "{\"i\":%d}", i);
    mcap_writer_message(w, (uint16_t)(i % 2), (uint32_t)i, 100 + (uint64_t)i, 100, msg,
                        strlen(msg));
  }
  mcap_writer_metadata(w, "shmbus", md, 1);
  mcap_writer_attachment(w, 1, 2, "a.txt", "text/plain", "hi", 2);
  if (mcap_writer_close(w) < 0) return 1;
  if (cut && truncate(path, cut) < 0) {
    perror(path);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int bad = 0;
  if (argc != 2) {
    fprintf(stderr, "usage: make_mcap_corpus DIR\n");
    return 2;
  }
  bad |= write_one(argv[1], "zstd.mcap", MCAP_COMPRESS_ZSTD, 0, 0);
  bad |= write_one(argv[1], "lz4.mcap", MCAP_COMPRESS_LZ4, 0, 0);
  bad |= write_one(argv[1], "none.mcap", MCAP_COMPRESS_NONE, 0, 0);
  bad |= write_one(argv[1], "no-summary.mcap", MCAP_COMPRESS_ZSTD, 1, 0);
  bad |= write_one(argv[1], "unchunked.mcap", MCAP_COMPRESS_NONE, 2, 0);
  bad |= write_one(argv[1], "truncated.mcap", MCAP_COMPRESS_LZ4, 0, 700);
  return bad;
}
