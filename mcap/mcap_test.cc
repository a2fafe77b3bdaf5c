// mcap_test.cc - the MCAP writer and reader: every record type written and read back, streamed
// and through the indexes, in every compression; truncated files (what a killed writer leaves),
// corrupt bytes, oversized chunks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "mcap/mcap.h"

namespace {

std::string Str(mcap_str s) { return std::string(s.p, s.n); }

// A writer on a memfd; Bytes() reads back what it wrote.
struct MemFile {
  int fd = memfd_create("mcap_test", MFD_CLOEXEC);
  std::vector<uint8_t> Bytes() const {
    std::vector<uint8_t> v(lseek(fd, 0, SEEK_END));
    EXPECT_EQ(pread(fd, v.data(), v.size(), 0), (ssize_t)v.size());
    return v;
  }
  ~MemFile() { close(fd); }
};

const int kMessages = 300;

// Writes schema + 2 channels + kMessages messages + metadata + attachment.
std::vector<uint8_t> WriteSample(mcap_writer_opts o) {
  MemFile f;
  mcap_writer* w;
  o.library = "mcap_test";
  EXPECT_EQ(mcap_writer_open(dup(f.fd), &o, &w), 0);
  EXPECT_EQ(mcap_writer_add_schema(w, "Pose", "jsonschema", "{}", 2), 1);
  mcap_kv md[] = {{"shmbus.slots", "8"}, {"k", "v"}};
  EXPECT_EQ(mcap_writer_add_channel(w, 1, "a", "json", md, 2), 0);
  EXPECT_EQ(mcap_writer_add_channel(w, 0, "b", "x-shmbus-raw", nullptr, 0), 1);
  for (int i = 0; i < kMessages; i++) {
    std::string d = "message " + std::to_string(i) + std::string(i % 50, 'x');
    EXPECT_EQ(mcap_writer_message(w, i % 2, i + 1, 1000 + i, 500 + i, d.data(), d.size()), 0);
  }
  mcap_kv m[] = {{"lost/b", "3"}};
  EXPECT_EQ(mcap_writer_metadata(w, "shmbus", m, 1), 0);
  EXPECT_EQ(mcap_writer_attachment(w, 7, 6, "calib.txt", "text/plain", "abc", 3), 0);
  EXPECT_EQ(mcap_writer_message(w, 0, 999, 5000, 5000, "late", 4), 0);
  EXPECT_EQ(mcap_writer_close(w), 0);
  return f.Bytes();
}

mcap_writer_opts Opts(mcap_compression c, uint64_t chunk = 2048) {
  mcap_writer_opts o;
  mcap_writer_opts_init(&o);
  o.compression = c;
  o.chunk_size = chunk;
  return o;
}

struct Streamed {
  std::map<int, int> ops;  // opcode -> count
  std::vector<mcap_message> msgs;
  std::vector<std::string> payloads;
  int end;  // what next() returned last
};

Streamed Stream(const std::vector<uint8_t>& f, size_t n, uint64_t max_chunk = 0) {
  Streamed s{};
  mcap_reader* r;
  mcap_reader_opts o{max_chunk};
  s.end = mcap_reader_open_mem(f.data(), n, &o, &r);
  if (s.end < 0) return s;
  mcap_record rec;
  while ((s.end = mcap_reader_next(r, &rec)) == 1) {
    s.ops[rec.op]++;
    if (rec.op == MCAP_OP_MESSAGE) {
      s.msgs.push_back(rec.u.message);
      s.payloads.emplace_back((const char*)rec.u.message.data, rec.u.message.len);
    }
  }
  mcap_reader_close(r);
  return s;
}

class Compression : public ::testing::TestWithParam<mcap_compression> {};

TEST_P(Compression, StreamsEveryRecordType) {
  std::vector<uint8_t> f = WriteSample(Opts(GetParam()));
  mcap_reader* r;
  ASSERT_EQ(mcap_reader_open_mem(f.data(), f.size(), nullptr, &r), 0);
  mcap_record rec;
  std::map<int, int> ops;
  int i = 0;
  while (mcap_reader_next(r, &rec) == 1) {
    ops[rec.op]++;
    switch (rec.op) {
      case MCAP_OP_HEADER:
        EXPECT_EQ(Str(rec.u.header.library), "mcap_test");
        EXPECT_EQ(Str(rec.u.header.profile), "");
        break;
      case MCAP_OP_SCHEMA:
        EXPECT_EQ(rec.u.schema.id, 1);
        EXPECT_EQ(Str(rec.u.schema.name), "Pose");
        EXPECT_EQ(Str(rec.u.schema.encoding), "jsonschema");
        EXPECT_EQ(Str(rec.u.schema.data), "{}");
        break;
      case MCAP_OP_CHANNEL:
        if (rec.u.channel.id == 0) {
          EXPECT_EQ(Str(rec.u.channel.topic), "a");
          EXPECT_EQ(rec.u.channel.schema_id, 1);
          uint32_t pos = 0;
          mcap_str k, v;
          ASSERT_EQ(mcap_map_next(&rec.u.channel.metadata, &pos, &k, &v), 1);
          EXPECT_EQ(Str(k), "shmbus.slots");
          EXPECT_EQ(Str(v), "8");
          ASSERT_EQ(mcap_map_next(&rec.u.channel.metadata, &pos, &k, &v), 1);
          EXPECT_EQ(mcap_map_next(&rec.u.channel.metadata, &pos, &k, &v), 0);
        } else {
          EXPECT_EQ(Str(rec.u.channel.message_encoding), "x-shmbus-raw");
          EXPECT_EQ(rec.u.channel.schema_id, 0);
        }
        break;
      case MCAP_OP_MESSAGE:
        EXPECT_TRUE(rec.in_chunk);
        if (i < kMessages) {
          EXPECT_EQ(rec.u.message.channel_id, i % 2);
          EXPECT_EQ(rec.u.message.sequence, (uint32_t)i + 1);
          EXPECT_EQ(rec.u.message.log_time, 1000u + i);
          EXPECT_EQ(rec.u.message.publish_time, 500u + i);
          std::string d = "message " + std::to_string(i) + std::string(i % 50, 'x');
          EXPECT_EQ(std::string((const char*)rec.u.message.data, rec.u.message.len), d);
        }
        i++;
        break;
      case MCAP_OP_CHUNK:
        EXPECT_EQ(Str(rec.u.chunk.compression), GetParam() == MCAP_COMPRESS_ZSTD  ? "zstd"
                                                : GetParam() == MCAP_COMPRESS_LZ4 ? "lz4"
                                                                                  : "");
        EXPECT_NE(rec.u.chunk.uncompressed_crc, 0u);
        EXPECT_LE(rec.u.chunk.start_time, rec.u.chunk.end_time);
        break;
      case MCAP_OP_METADATA: {
        EXPECT_EQ(Str(rec.u.metadata.name), "shmbus");
        uint32_t pos = 0;
        mcap_str k, v;
        ASSERT_EQ(mcap_map_next(&rec.u.metadata.metadata, &pos, &k, &v), 1);
        EXPECT_EQ(Str(k) + "=" + Str(v), "lost/b=3");
        break;
      }
      case MCAP_OP_ATTACHMENT:
        EXPECT_EQ(Str(rec.u.attachment.name), "calib.txt");
        EXPECT_EQ(Str(rec.u.attachment.content_type), "text/plain");
        EXPECT_EQ(std::string((const char*)rec.u.attachment.data, rec.u.attachment.len), "abc");
        EXPECT_EQ(rec.u.attachment.log_time, 7u);
        EXPECT_EQ(rec.u.attachment.create_time, 6u);
        EXPECT_NE(rec.u.attachment.crc, 0u);
        break;
      case MCAP_OP_STATISTICS:
        EXPECT_EQ(rec.u.statistics.message_count, (uint64_t)kMessages + 1);
        EXPECT_EQ(rec.u.statistics.schema_count, 1);
        EXPECT_EQ(rec.u.statistics.channel_count, 2u);
        EXPECT_EQ(rec.u.statistics.attachment_count, 1u);
        EXPECT_EQ(rec.u.statistics.metadata_count, 1u);
        EXPECT_EQ(rec.u.statistics.start_time, 1000u);
        EXPECT_EQ(rec.u.statistics.end_time, 5000u);
        break;
      case MCAP_OP_ATTACHMENT_INDEX:
        EXPECT_EQ(rec.u.attachment_index.data_size, 3u);
        EXPECT_EQ(Str(rec.u.attachment_index.name), "calib.txt");
        break;
      case MCAP_OP_METADATA_INDEX: EXPECT_EQ(Str(rec.u.metadata_index.name), "shmbus"); break;
      case MCAP_OP_DATA_END: {
        uint32_t crc = rec.u.data_end.data_section_crc;
        EXPECT_NE(crc, 0u);
        break;
      }
      default: break;
    }
  }
  EXPECT_EQ(mcap_reader_next(r, &rec), 0);
  mcap_reader_close(r);
  EXPECT_EQ(i, kMessages + 1);
  EXPECT_EQ(ops[MCAP_OP_HEADER], 1);
  EXPECT_EQ(ops[MCAP_OP_FOOTER], 1);
  EXPECT_EQ(ops[MCAP_OP_SCHEMA], 2);   // in a chunk, and in the summary
  EXPECT_EQ(ops[MCAP_OP_CHANNEL], 4);  // likewise
  EXPECT_GT(ops[MCAP_OP_CHUNK], 3);
  EXPECT_GE(ops[MCAP_OP_MESSAGE_INDEX], ops[MCAP_OP_CHUNK]);
  EXPECT_EQ(ops[MCAP_OP_CHUNK_INDEX], ops[MCAP_OP_CHUNK]);
  EXPECT_EQ(ops[MCAP_OP_STATISTICS], 1);
  EXPECT_EQ(ops[MCAP_OP_METADATA], 1);
  EXPECT_EQ(ops[MCAP_OP_METADATA_INDEX], 1);
  EXPECT_EQ(ops[MCAP_OP_ATTACHMENT], 1);
  EXPECT_EQ(ops[MCAP_OP_ATTACHMENT_INDEX], 1);
  EXPECT_EQ(ops[MCAP_OP_SUMMARY_OFFSET], 6);
  EXPECT_EQ(ops[MCAP_OP_DATA_END], 1);
}

// Through the footer: summary offsets name their groups, chunk indexes name their chunks,
// message indexes point at the messages inside the decompressed chunks.
TEST_P(Compression, IndexesPointAtTheirRecords) {
  std::vector<uint8_t> f = WriteSample(Opts(GetParam()));
  mcap_reader* r;
  ASSERT_EQ(mcap_reader_open_mem(f.data(), f.size(), nullptr, &r), 0);
  mcap_footer ft;
  ASSERT_EQ(mcap_reader_footer(r, &ft), 0);
  ASSERT_GT(ft.summary_start, 0u);
  ASSERT_GT(ft.summary_offset_start, ft.summary_start);
  EXPECT_NE(ft.summary_crc, 0u);
  mcap_record rec, g, ck, mi, m;
  int messages = 0;
  for (uint64_t off = ft.summary_offset_start; f[off] == MCAP_OP_SUMMARY_OFFSET;) {
    int64_t k = mcap_reader_record_at(r, off, &rec);
    ASSERT_GT(k, 0);
    off += k;
    ASSERT_GT(mcap_reader_record_at(r, rec.u.summary_offset.group_start, &g), 0);
    EXPECT_EQ(g.op, rec.u.summary_offset.group_opcode);
  }
  for (uint64_t off = ft.summary_start; off < ft.summary_offset_start;) {
    int64_t k = mcap_reader_record_at(r, off, &rec);
    ASSERT_GT(k, 0);
    off += k;
    if (rec.op != MCAP_OP_CHUNK_INDEX) continue;
    const mcap_chunk_index& ci = rec.u.chunk_index;
    ASSERT_EQ(mcap_reader_record_at(r, ci.chunk_start_offset, &ck), (int64_t)ci.chunk_length);
    ASSERT_EQ(ck.op, MCAP_OP_CHUNK);
    EXPECT_EQ(ck.u.chunk.records_len, ci.compressed_size);
    EXPECT_EQ(ck.u.chunk.uncompressed_size, ci.uncompressed_size);
    EXPECT_EQ(ck.u.chunk.start_time, ci.start_time);
    uint8_t* data;
    ASSERT_EQ(mcap_decompress_chunk(&ck.u.chunk, 1 << 20, &data), 0);
    uint64_t mi_total = 0;
    for (uint32_t j = 0; j < ci.message_index_offsets.n / 10; j++) {
      uint16_t ch;
      uint64_t mo, t, o;
      ASSERT_EQ(mcap_map_u16_u64(&ci.message_index_offsets, j, &ch, &mo), 0);
      int64_t mk = mcap_reader_record_at(r, mo, &mi);
      ASSERT_GT(mk, 0);
      mi_total += mk;
      ASSERT_EQ(mi.op, MCAP_OP_MESSAGE_INDEX);
      EXPECT_EQ(mi.u.message_index.channel_id, ch);
      for (uint32_t e = 0; mcap_index_entry(&mi.u.message_index.records, e, &t, &o) == 0; e++) {
        ASSERT_GT(mcap_parse_record(data + o, ci.uncompressed_size - o, &m), 0);
        ASSERT_EQ(m.op, MCAP_OP_MESSAGE);
        EXPECT_EQ(m.u.message.channel_id, ch);
        EXPECT_EQ(m.u.message.log_time, t);
        messages++;
      }
    }
    EXPECT_EQ(mi_total, ci.message_index_length);
    free(data);
  }
  EXPECT_EQ(messages, kMessages + 1);
  mcap_reader_close(r);
}

// A killed writer's file is a prefix: every prefix streams, ends in -ENODATA, never in an
// error about the bytes themselves, and yields more messages the longer it is.
TEST_P(Compression, EveryPrefixStreamsUpToItsLastChunk) {
  std::vector<uint8_t> f = WriteSample(Opts(GetParam()));
  size_t last = 0;
  for (size_t n = 0; n < f.size(); n += f.size() / 400 + 1) {
    Streamed s = Stream(f, n);
    ASSERT_EQ(s.end, -ENODATA) << "cut at " << n;
    ASSERT_GE(s.msgs.size(), last) << "cut at " << n;
    last = s.msgs.size();
  }
  Streamed all = Stream(f, f.size());
  EXPECT_EQ(all.end, 0);
  EXPECT_EQ(all.msgs.size(), (size_t)kMessages + 1);
}

INSTANTIATE_TEST_SUITE_P(All, Compression,
                         ::testing::Values(MCAP_COMPRESS_NONE, MCAP_COMPRESS_ZSTD,
                                           MCAP_COMPRESS_LZ4));

// The writer's state at each flush is a readable file: abandoning it (a crash) loses only
// what was added after the last flush.
TEST(Writer, AbandonedAfterFlushStreamsWhatWasFlushed) {
  MemFile f;
  mcap_writer* w;
  mcap_writer_opts o = Opts(MCAP_COMPRESS_ZSTD, 1 << 20);
  ASSERT_EQ(mcap_writer_open(dup(f.fd), &o, &w), 0);
  ASSERT_EQ(mcap_writer_add_channel(w, 0, "t", "x-shmbus-raw", nullptr, 0), 0);
  for (int i = 0; i < 10; i++) ASSERT_EQ(mcap_writer_message(w, 0, i, i, i, "ab", 2), 0);
  ASSERT_EQ(mcap_writer_flush(w), 0);
  for (int i = 0; i < 5; i++) ASSERT_EQ(mcap_writer_message(w, 0, i, i, i, "cd", 2), 0);
  mcap_writer_abandon(w);
  std::vector<uint8_t> b = f.Bytes();
  Streamed s = Stream(b, b.size());
  EXPECT_EQ(s.end, -ENODATA);
  EXPECT_EQ(s.msgs.size(), 10u);
  mcap_reader* r;
  ASSERT_EQ(mcap_reader_open_mem(b.data(), b.size(), nullptr, &r), 0);
  mcap_footer ft;
  EXPECT_EQ(mcap_reader_footer(r, &ft), -ENODATA);
  mcap_reader_close(r);
}

TEST(Writer, NoSummaryEndsWithAZeroFooter) {
  mcap_writer_opts o = Opts(MCAP_COMPRESS_LZ4);
  o.no_summary = 1;
  std::vector<uint8_t> f = WriteSample(o);
  Streamed s = Stream(f, f.size());
  EXPECT_EQ(s.end, 0);
  EXPECT_EQ(s.msgs.size(), (size_t)kMessages + 1);
  EXPECT_EQ(s.ops[MCAP_OP_STATISTICS], 0);
  EXPECT_EQ(s.ops[MCAP_OP_CHUNK_INDEX], 0);
  mcap_reader* r;
  ASSERT_EQ(mcap_reader_open_mem(f.data(), f.size(), nullptr, &r), 0);
  mcap_footer ft;
  ASSERT_EQ(mcap_reader_footer(r, &ft), 0);
  EXPECT_EQ(ft.summary_start, 0u);
  EXPECT_EQ(ft.summary_offset_start, 0u);
  EXPECT_EQ(ft.summary_crc, 0u);
  mcap_reader_close(r);
}

TEST(Writer, UnchunkedWritesMessagesAtTopLevel) {
  mcap_writer_opts o = Opts(MCAP_COMPRESS_NONE);
  o.unchunked = 1;
  std::vector<uint8_t> f = WriteSample(o);
  Streamed s = Stream(f, f.size());
  EXPECT_EQ(s.end, 0);
  EXPECT_EQ(s.ops[MCAP_OP_CHUNK], 0);
  EXPECT_EQ(s.msgs.size(), (size_t)kMessages + 1);
  EXPECT_EQ(s.payloads[3], "message 3xxx");
}

TEST(Writer, EmptyFileIsValid) {
  MemFile f;
  mcap_writer* w;
  ASSERT_EQ(mcap_writer_open(dup(f.fd), nullptr, &w), 0);
  ASSERT_EQ(mcap_writer_close(w), 0);
  std::vector<uint8_t> b = f.Bytes();
  Streamed s = Stream(b, b.size());
  EXPECT_EQ(s.end, 0);
  EXPECT_EQ(s.ops[MCAP_OP_STATISTICS], 1);
  EXPECT_TRUE(s.msgs.empty());
}

TEST(Writer, RejectsUnknownIdsAndNamesAsSentences) {
  MemFile f;
  mcap_writer* w;
  ASSERT_EQ(mcap_writer_open(dup(f.fd), nullptr, &w), 0);
  EXPECT_EQ(mcap_writer_message(w, 0, 0, 0, 0, "x", 1), -EINVAL);
  EXPECT_EQ(mcap_writer_add_channel(w, 3, "t", "json", nullptr, 0), -EINVAL);
  EXPECT_EQ(mcap_writer_close(nullptr), 0);
  mcap_writer_abandon(nullptr);
  mcap_writer_abandon(w);
  mcap_compression c;
  EXPECT_EQ(mcap_compression_parse("brotli", &c), -EINVAL);
  EXPECT_EQ(mcap_compression_parse("lz4", &c), 0);
  EXPECT_EQ(c, MCAP_COMPRESS_LZ4);
  EXPECT_NE(std::string(mcap_strerror(-ENODATA)).find("truncated"), std::string::npos);
}

TEST(Reader, RejectsWhatIsNotMcap) {
  mcap_reader* r;
  EXPECT_EQ(mcap_reader_open_mem("\x89MCAP1\r\nxxxxxxxxx", 17, nullptr, &r), -EBADMSG);
  EXPECT_EQ(mcap_reader_open_mem("\x89MC", 3, nullptr, &r), -ENODATA);
  EXPECT_EQ(mcap_reader_open_file("/nonexistent/x.mcap", nullptr, &r), -ENOENT);
  mcap_reader_close(nullptr);
}

// Flipping a byte inside a chunk's data fails its CRC or its decompression.
TEST(Reader, CorruptChunkIsBadMessage) {
  for (mcap_compression c : {MCAP_COMPRESS_NONE, MCAP_COMPRESS_ZSTD, MCAP_COMPRESS_LZ4}) {
    std::vector<uint8_t> f = WriteSample(Opts(c));
    mcap_reader* r;
    ASSERT_EQ(mcap_reader_open_mem(f.data(), f.size(), nullptr, &r), 0);
    mcap_record rec;
    size_t at = 0;
    while (mcap_reader_next(r, &rec) == 1)
      if (rec.op == MCAP_OP_CHUNK && at == 0)
        at = rec.u.chunk.records - f.data() + rec.u.chunk.records_len / 2;
    mcap_reader_close(r);
    f[at] ^= 0x5a;
    EXPECT_EQ(Stream(f, f.size()).end, -EBADMSG) << "compression " << c;
  }
}

TEST(Reader, CorruptSummaryFailsItsCrc) {
  std::vector<uint8_t> f = WriteSample(Opts(MCAP_COMPRESS_ZSTD));
  mcap_reader* r;
  mcap_footer ft;
  ASSERT_EQ(mcap_reader_open_mem(f.data(), f.size(), nullptr, &r), 0);
  ASSERT_EQ(mcap_reader_footer(r, &ft), 0);
  mcap_reader_close(r);
  f[ft.summary_start + 20] ^= 1;
  ASSERT_EQ(mcap_reader_open_mem(f.data(), f.size(), nullptr, &r), 0);
  EXPECT_EQ(mcap_reader_footer(r, &ft), -EBADMSG);
  mcap_reader_close(r);
}

// A chunk that claims more uncompressed bytes than the limit is refused before any allocation.
TEST(Reader, OversizedChunkIsRefused) {
  std::vector<uint8_t> f = WriteSample(Opts(MCAP_COMPRESS_ZSTD, 1 << 20));
  EXPECT_EQ(Stream(f, f.size(), 64).end, -EFBIG);
  mcap_reader* r;
  ASSERT_EQ(mcap_reader_open_mem(f.data(), f.size(), nullptr, &r), 0);
  mcap_record rec;
  while (mcap_reader_next(r, &rec) == 1 && rec.op != MCAP_OP_CHUNK) {
  }
  mcap_chunk c = rec.u.chunk;
  c.uncompressed_size = 1ull << 60;
  uint8_t* out;
  EXPECT_EQ(mcap_decompress_chunk(&c, 1ull << 30, &out), -EFBIG);
  c.uncompressed_size = 1 << 20;  // within the limit, but not what the data holds
  EXPECT_EQ(mcap_decompress_chunk(&c, 1ull << 30, &out), -EBADMSG);
  c.compression = mcap_str{"brotli", 6};
  EXPECT_EQ(mcap_decompress_chunk(&c, 1ull << 30, &out), -ENOTSUP);
  mcap_reader_close(r);
}

// Opcodes this reader does not know are returned as they are and skipped over.
TEST(Reader, UnknownOpcodeIsSkipped) {
  std::vector<uint8_t> f = WriteSample(Opts(MCAP_COMPRESS_NONE));
  std::vector<uint8_t> g(f.begin(), f.begin() + 8);
  uint8_t ext[] = {0x80, 3, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 'c'};
  g.insert(g.end(), ext, ext + sizeof ext);
  g.insert(g.end(), f.begin() + 8, f.end());
  Streamed s = Stream(g, g.size());
  EXPECT_EQ(s.ops[0x80], 1);
  EXPECT_EQ(s.msgs.size(), (size_t)kMessages + 1);
}

TEST(Reader, MalformedRecordFieldsAreBadMessage) {
  // A Channel whose topic length runs past its body.
  uint8_t rec[] = {MCAP_OP_CHANNEL, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0, 0};
  mcap_record r;
  EXPECT_EQ(mcap_parse_record(rec, sizeof rec, &r), -EBADMSG);
  EXPECT_EQ(mcap_parse_record(rec, 5, &r), -ENODATA);
  uint8_t big[] = {MCAP_OP_MESSAGE, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(mcap_parse_record(big, sizeof big, &r), -ENODATA);
}

}  // namespace
