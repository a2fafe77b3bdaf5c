/* mcap - an MCAP writer and reader in C, written from the published specification
 * (foxglove/mcap, docs/specification: the file format, major version 0).
 *
 * Invariant: the writer's output is always a prefix of a valid MCAP file followed by nothing:
 * every byte it wrote belongs to a whole record once the matching mcap_writer_flush() returned,
 * so a writer killed at any moment leaves a file that mcap_reader_next() streams up to its last
 * complete chunk and then reports -ENODATA (truncated), never garbage.
 *
 * File layout written (chunked, the default):
 *   Magic Header [Chunk(Schema* Channel* Message*) MessageIndex*]* [Attachment|Metadata]*
 *   DataEnd  Schema* Channel* Statistics ChunkIndex* AttachmentIndex* MetadataIndex*
 *   SummaryOffset*  Footer Magic
 * Schemas and channels go into the chunk that is open when they are added, so every chunk can
 * be decoded by a streaming reader that starts at the first byte (a killed recorder's file).
 *
 * Errors: 0 (or a count) or a negative errno:
 *   -EINVAL    bad argument (unknown schema or channel id, too many ids, bad compression name)
 *   -EBADMSG   malformed input: a record that does not parse, a CRC mismatch, a chunk that
 *              does not decompress to its stated size
 *   -ENODATA   the input ends inside a record or before the footer: a truncated file (what a
 *              killed writer leaves); everything before it was read
 *   -EFBIG     a record or chunk larger than the reader's limit (struct mcap_reader_opts)
 *   -ENOTSUP   a chunk compression this build does not know
 *   -ENOMEM, or an errno of write(2)/open(2)/mmap(2).
 * mcap_strerror() turns each into a sentence.
 *
 * Concurrency: a writer or a reader is used by one thread at a time; separate objects are
 * independent.
 */
#ifndef SHMBUS_MCAP_H
#define SHMBUS_MCAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mcap_opcode {
  MCAP_OP_HEADER = 0x01,
  MCAP_OP_FOOTER = 0x02,
  MCAP_OP_SCHEMA = 0x03,
  MCAP_OP_CHANNEL = 0x04,
  MCAP_OP_MESSAGE = 0x05,
  MCAP_OP_CHUNK = 0x06,
  MCAP_OP_MESSAGE_INDEX = 0x07,
  MCAP_OP_CHUNK_INDEX = 0x08,
  MCAP_OP_ATTACHMENT = 0x09,
  MCAP_OP_ATTACHMENT_INDEX = 0x0A,
  MCAP_OP_STATISTICS = 0x0B,
  MCAP_OP_METADATA = 0x0C,
  MCAP_OP_METADATA_INDEX = 0x0D,
  MCAP_OP_SUMMARY_OFFSET = 0x0E,
  MCAP_OP_DATA_END = 0x0F,
};

#define MCAP_MAGIC "\x89MCAP0\r\n"
#define MCAP_MAGIC_LEN 8

enum mcap_compression { MCAP_COMPRESS_NONE = 0, MCAP_COMPRESS_ZSTD = 1, MCAP_COMPRESS_LZ4 = 2 };

/* A string or byte run inside the input (not NUL-terminated; valid while the record is). */
struct mcap_str {
  const char *p;
  uint32_t n;
};

/* A serialized Map<K,V> or Array, walked with mcap_map_next() / the index helpers. */
struct mcap_map {
  const uint8_t *p;
  uint32_t n; /* bytes */
};

struct mcap_kv { /* one pair of a Map<string,string> (mcap_writer_add_channel(), metadata) */
  const char *key;
  const char *value;
};

/* ---------------------------------------------------------------- records as read */

struct mcap_header {
  struct mcap_str profile, library;
};
struct mcap_footer {
  uint64_t summary_start, summary_offset_start;
  uint32_t summary_crc;
};
struct mcap_schema {
  uint16_t id;
  struct mcap_str name, encoding, data;
};
struct mcap_channel {
  uint16_t id, schema_id;
  struct mcap_str topic, message_encoding;
  struct mcap_map metadata; /* Map<string,string> */
};
struct mcap_message {
  uint16_t channel_id;
  uint32_t sequence;
  uint64_t log_time, publish_time;
  const uint8_t *data;
  uint64_t len;
};
struct mcap_chunk {
  uint64_t start_time, end_time, uncompressed_size;
  uint32_t uncompressed_crc;
  struct mcap_str compression;
  const uint8_t *records;
  uint64_t records_len;
};
struct mcap_message_index {
  uint16_t channel_id;
  struct mcap_map records; /* Array<Tuple<Timestamp, uint64 offset>>: 16 bytes each */
};
struct mcap_chunk_index {
  uint64_t start_time, end_time, chunk_start_offset, chunk_length;
  struct mcap_map message_index_offsets; /* Map<uint16, uint64>: 10 bytes each */
  uint64_t message_index_length;
  struct mcap_str compression;
  uint64_t compressed_size, uncompressed_size;
};
struct mcap_attachment {
  uint64_t log_time, create_time;
  struct mcap_str name, content_type;
  const uint8_t *data;
  uint64_t len;
  uint32_t crc;
};
struct mcap_attachment_index {
  uint64_t offset, length, log_time, create_time, data_size;
  struct mcap_str name, content_type;
};
struct mcap_statistics {
  uint64_t message_count;
  uint16_t schema_count;
  uint32_t channel_count, attachment_count, metadata_count, chunk_count;
  uint64_t start_time, end_time;
  struct mcap_map channel_message_counts; /* Map<uint16, uint64> */
};
struct mcap_metadata {
  struct mcap_str name;
  struct mcap_map metadata;
};
struct mcap_metadata_index {
  uint64_t offset, length;
  struct mcap_str name;
};
struct mcap_summary_offset {
  uint8_t group_opcode;
  uint64_t group_start, group_length;
};
struct mcap_data_end {
  uint32_t data_section_crc;
};

/* One record. @offset: of its opcode, from the start of the file, or (in_chunk) from the start
 * of the chunk's uncompressed records. Pointers are valid until the next call on the reader. */
struct mcap_record {
  uint8_t op;
  int in_chunk;
  uint64_t offset;
  const uint8_t *body;
  uint64_t len;
  union {
    struct mcap_header header;
    struct mcap_footer footer;
    struct mcap_schema schema;
    struct mcap_channel channel;
    struct mcap_message message;
    struct mcap_chunk chunk;
    struct mcap_message_index message_index;
    struct mcap_chunk_index chunk_index;
    struct mcap_attachment attachment;
    struct mcap_attachment_index attachment_index;
    struct mcap_statistics statistics;
    struct mcap_metadata metadata;
    struct mcap_metadata_index metadata_index;
    struct mcap_summary_offset summary_offset;
    struct mcap_data_end data_end;
  } u;
};

/* mcap_parse_record() - parse the record at @p (@n bytes available): opcode, length, body, and
 * the fields of the known opcodes (unknown opcodes: only op/body/len). Every length is checked
 * against @n. Return: the record's total size (9 + body); -ENODATA (@n too short for it);
 * -EBADMSG (its fields overrun its body). */
int64_t mcap_parse_record(const uint8_t *p, uint64_t n, struct mcap_record *rec);

/* mcap_map_next() - walk a Map<string,string>: *@pos starts at 0. Return: 1 and the pair;
 * 0 at the end; -EBADMSG. */
int mcap_map_next(const struct mcap_map *m, uint32_t *pos, struct mcap_str *key,
                  struct mcap_str *value);

/* mcap_map_u16_u64() - entry @i of a Map<uint16,uint64> (chunk index offsets, channel counts).
 * Return: 0; -ERANGE (no such entry). Entries: m->n / 10. */
int mcap_map_u16_u64(const struct mcap_map *m, uint32_t i, uint16_t *key, uint64_t *value);

/* mcap_index_entry() - entry @i of a message index (m->n / 16 entries). Return: 0; -ERANGE. */
int mcap_index_entry(const struct mcap_map *m, uint32_t i, uint64_t *log_time, uint64_t *offset);

/* mcap_decompress_chunk() - the chunk's uncompressed records in a new buffer (*@out, free()
 * it), CRC checked when the chunk has one. Allocates at most uncompressed_size bytes, and
 * only after checking that the chunk can hold them: at most @max_bytes (else -EFBIG), equal
 * to the stored size (no compression) or to the frame's stated content size (zstd, lz4), and
 * within the format's largest expansion ratio. Return: 0; -EFBIG; -EBADMSG; -ENOTSUP;
 * -ENOMEM. */
int mcap_decompress_chunk(const struct mcap_chunk *c, uint64_t max_bytes, uint8_t **out);

/* ---------------------------------------------------------------- writer */

struct mcap_writer_opts {
  enum mcap_compression compression; /* chunk compression (default zstd) */
  uint64_t chunk_size;               /* close a chunk at this many uncompressed bytes (1 MiB) */
  int unchunked;                     /* 1: write records directly, no chunks, no indexes */
  int no_summary;                    /* 1: end with DataEnd and a footer of zeros */
  const char *profile;               /* Header profile ("" default) */
  const char *library;               /* Header library ("shmbus-mcap" default) */
};

typedef struct mcap_writer mcap_writer;

/* mcap_writer_opts_init() - the defaults: zstd, 1 MiB chunks, summary. */
void mcap_writer_opts_init(struct mcap_writer_opts *o);

/* mcap_writer_open() - start a file on descriptor @fd (owned by the writer from now on, closed
 * by mcap_writer_close()): writes the magic and the Header. Return: 0 and *@out; -EINVAL;
 * -ENOMEM; a write error. */
int mcap_writer_open(int fd, const struct mcap_writer_opts *opts, mcap_writer **out);

/* mcap_writer_add_schema() - a Schema record; ids are 1, 2, ... Return: the id (> 0);
 * -EINVAL (more than 65535); -ENOMEM. */
int mcap_writer_add_schema(mcap_writer *w, const char *name, const char *encoding, const void *data,
                           size_t len);

/* mcap_writer_add_channel() - a Channel record on schema @schema_id (0: none) with @n
 * metadata pairs; ids are 0, 1, 2, ... Return: the id (>= 0); -EINVAL; -ENOMEM. */
int mcap_writer_add_channel(mcap_writer *w, uint16_t schema_id, const char *topic,
                            const char *message_encoding, const struct mcap_kv *md, size_t n);

/* mcap_writer_message() - a Message record; closes the chunk once it reaches chunk_size.
 * Return: 0; -EINVAL (unknown channel); -ENOMEM; a write error. */
int mcap_writer_message(mcap_writer *w, uint16_t channel_id, uint32_t sequence, uint64_t log_time,
                        uint64_t publish_time, const void *data, size_t len);

/* mcap_writer_metadata() - a Metadata record (outside chunks; indexed in the summary). */
int mcap_writer_metadata(mcap_writer *w, const char *name, const struct mcap_kv *md, size_t n);

/* mcap_writer_attachment() - an Attachment record with its CRC (indexed in the summary). */
int mcap_writer_attachment(mcap_writer *w, uint64_t log_time, uint64_t create_time,
                           const char *name, const char *content_type, const void *data,
                           size_t len);

/* mcap_writer_flush() - close the open chunk (with its message indexes) and write everything
 * buffered to the descriptor: after it, a reader streams every message added so far.
 * Return: 0; a write error (sticky: every later call returns it). */
int mcap_writer_flush(mcap_writer *w);

/* mcap_writer_close() - flush, write DataEnd, the summary section (schemas, channels,
 * statistics, chunk/attachment/metadata indexes), the summary offsets, the footer and the
 * magic; close the descriptor; free. NULL is a harmless no-op (returns 0).
 * Return: 0; the first write or close error. */
int mcap_writer_close(mcap_writer *w);

/* mcap_writer_abandon() - free without finishing the file (what a crash leaves, for tests and
 * for giving up after a write error); closes the descriptor. NULL is a no-op. */
void mcap_writer_abandon(mcap_writer *w);

/* mcap_writer_bytes() - bytes written to the descriptor so far. */
uint64_t mcap_writer_bytes(const mcap_writer *w);

/* mcap_writer_buffered() - bytes added but not yet written (the open chunk, uncompressed). */
uint64_t mcap_writer_buffered(const mcap_writer *w);

/* ---------------------------------------------------------------- reader */

struct mcap_reader_opts {
  uint64_t max_chunk_bytes; /* largest uncompressed chunk accepted (default 1 GiB) */
};

typedef struct mcap_reader mcap_reader;

/* mcap_reader_open_mem() - read @n bytes at @p (not copied: keep them until close). Checks the
 * leading magic. Return: 0; -EBADMSG (not MCAP); -ENODATA (shorter than the magic); -ENOMEM. */
int mcap_reader_open_mem(const void *p, size_t n, const struct mcap_reader_opts *opts,
                         mcap_reader **out);

/* mcap_reader_open_file() - map file @path read-only and read it as above. The file must not
 * shrink while it is open (SIGBUS). Return: as above, or an errno of open/mmap. */
int mcap_reader_open_file(const char *path, const struct mcap_reader_opts *opts, mcap_reader **out);

/* mcap_reader_close() - unmap and free. NULL is a harmless no-op. */
void mcap_reader_close(mcap_reader *r);

/* mcap_reader_next() - stream the next record from the start of the file: the data section,
 * then the summary, the footer. A Chunk is returned itself, then (in_chunk = 1) each record in
 * it (decompressed, CRC checked). Return: 1 and *@rec; 0 after the footer and closing magic;
 * -ENODATA (the file ends early: truncated); -EBADMSG; -EFBIG; -ENOTSUP; -ENOMEM. An error
 * is sticky. */
int mcap_reader_next(mcap_reader *r, struct mcap_record *rec);

/* mcap_reader_footer() - the footer at the end of the file (checks the closing magic and the
 * summary CRC when non-zero). Return: 0; -ENODATA (no footer: a file from a killed writer);
 * -EBADMSG. */
int mcap_reader_footer(mcap_reader *r, struct mcap_footer *f);

/* mcap_reader_record_at() - parse the record at file offset @off (indexed access). Pointers
 * stay valid until close. Return: as mcap_parse_record(). */
int64_t mcap_reader_record_at(mcap_reader *r, uint64_t off, struct mcap_record *rec);

/* mcap_reader_size() - the input's size in bytes. */
uint64_t mcap_reader_size(const mcap_reader *r);

/* mcap_compression_parse() - "zstd", "lz4", "none" or "" -> *@c. Return: 0; -EINVAL. */
int mcap_compression_parse(const char *s, enum mcap_compression *c);

/* mcap_strerror() - a sentence for @err (negative errno). Never NULL. */
const char *mcap_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_MCAP_H */
