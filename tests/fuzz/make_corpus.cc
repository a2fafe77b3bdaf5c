// make_corpus.cc - writes the seed corpora of both fuzz targets into DIR/segment/ and
// DIR/records/: valid buses made by the real writer, and the edge cases the reader must
// refuse or survive. Run once after changing the layout:
//   bazel run //tests/fuzz:make_corpus -- $PWD/tests/fuzz/corpus
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/shmbus.h"
#include "tests/test_util.h"

namespace {

using Bytes = std::vector<unsigned char>;

void Save(const std::string& dir, const std::string& name, const Bytes& b) {
  std::string path = dir + "/" + name;
  FILE* f = fopen(path.c_str(), "wb");
  if (!f || fwrite(b.data(), 1, b.size(), f) != b.size()) {
    fprintf(stderr, "make_corpus: cannot write %s\n", path.c_str());
    exit(1);
  }
  fclose(f);
}

// A bus made by the real writer with @records records published, as bytes.
Bytes RealBus(uint32_t slots, uint64_t cap, int records, bool close_writer,
              const shmbus_schema* schema = nullptr) {
  shmbus_test::TempBus bus("corpus");
  shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.slots = slots;
  o.capacity = cap;
  o.type = "corpus";
  o.schema = schema;
  shmbus_pub* p = nullptr;
  if (shmbus_pub_open(bus.c_str(), &o, &p) != 0) exit(1);
  Bytes rec(cap);
  for (int v = 1; v <= records; v++) {
    size_t len = (v * 37) % (cap + 1);
    shmbus_test::Fill(v, rec.data(), len);
    shmbus_pub_publish(p, rec.data(), len);
  }
  if (close_writer) shmbus_pub_close(p);
  FILE* f = fopen(bus.path().c_str(), "rb");
  Bytes b;
  int c;
  while ((c = fgetc(f)) != EOF) b.push_back((unsigned char)c);
  fclose(f);
  if (!close_writer) shmbus_pub_close(p);
  return b;
}

template <typename T>
Bytes Patch(Bytes b, size_t off, T v) {
  if (off + sizeof v <= b.size()) memcpy(b.data() + off, &v, sizeof v);
  return b;
}

void Typed(const std::string& dir);

void Segment(const std::string& dir) {
  Bytes a = RealBus(2, 8, 0, true), b = RealBus(3, 64, 5, true), c = RealBus(4, 200, 9, false),
        d = RealBus(2, 4096, 1, true), e = RealBus(5, 1, 3, true);
  Save(dir, "valid-2x8-empty", a);
  Save(dir, "valid-3x64-lapped", b);
  Save(dir, "valid-4x200-running", c);
  Save(dir, "valid-2x4096-one", d);
  Save(dir, "valid-5x1", e);
  Save(dir, "empty", Bytes());
  Save(dir, "tiny", Bytes(100, 'S'));
  Save(dir, "header-only", Bytes(b.begin(), b.begin() + 4096));
  Save(dir, "truncated-by-one", Bytes(b.begin(), b.end() - 1));
  Save(dir, "bad-magic", Patch(b, 0, uint64_t(0x5858585858585858)));
  Save(dir, "layout-2", Patch(b, 8, uint32_t(2)));
  Save(dir, "slots-65536", Patch(b, 16, uint32_t(65536)));
  Save(dir, "slots-1", Patch(b, 16, uint32_t(1)));
  Save(dir, "capacity-huge", Patch(b, 24, uint64_t(1) << 40));
  Save(dir, "stride-wrong", Patch(b, 32, uint64_t(72)));
  Save(dir, "total-wrong", Patch(b, 40, uint64_t(1) << 62));
  Bytes t = b;
  memset(t.data() + 64, 'T', 32);  // type without its NUL
  Save(dir, "type-unterminated", t);
  Save(dir, "latest-unwritten", Patch(b, 128, uint64_t(100)));
  Save(dir, "latest-max", Patch(b, 128, ~uint64_t(0)));
  Save(dir, "latest-half", Patch(b, 128, uint64_t(1) << 63));
  // Slot of latest (5 % 3 = 2): length beyond capacity, odd seq, seq of a newer version.
  size_t s5 = 4096 + 2 * 128;
  Save(dir, "length-beyond-capacity", Patch(b, s5 + 16, uint64_t(65)));
  Save(dir, "length-huge", Patch(b, s5 + 16, ~uint64_t(0)));
  Save(dir, "seq-odd", Patch(b, s5, uint64_t(9)));
  Save(dir, "writer-state-3", Patch(b, 196, uint32_t(3)));
  Save(dir, "writer-pid-1", Patch(Patch(b, 196, uint32_t(1)), 192, uint32_t(1)));
  Typed(dir);
}

// A typed bus (docs/PROTOCOL.md, Schema block) and its schema block broken every way a reader
// must refuse.
void Typed(const std::string& dir) {
  static const char kIdl[] =
      "module sensors { struct Imu { unsigned long long t; double acc[3]; float temp; }; };";
  shmbus_schema sc = {"sensors::Imu", "omgidl", SHMBUS_MSG_CSTRUCT, kIdl, sizeof kIdl - 1, 0};
  Bytes ty = RealBus(3, 40, 4, true, &sc);
  const size_t blk = 4096;
  Save(dir, "typed-valid", ty);
  Save(dir, "typed-bad-magic", Patch(ty, blk, uint64_t(0)));
  Save(dir, "typed-name-len-0", Patch(ty, blk + 8, uint32_t(0)));
  Save(dir, "typed-name-len-huge", Patch(ty, blk + 8, uint32_t(0xffffffff)));
  Save(dir, "typed-enc-len-huge", Patch(ty, blk + 16, uint32_t(4096)));
  Save(dir, "typed-text-len-huge", Patch(ty, blk + 20, uint32_t(1u << 20)));
  Save(dir, "typed-text-len-short", Patch(ty, blk + 20, uint32_t(5)));
  Save(dir, "typed-hash-wrong", Patch(ty, blk + 24, uint64_t(1)));
  Save(dir, "typed-header-hash-wrong", Patch(ty, 232, uint64_t(1)));
  Save(dir, "typed-size-unaligned", Patch(ty, 224, uint64_t(100)));
  Save(dir, "typed-size-huge", Patch(ty, 224, uint64_t(1) << 40));
  Save(dir, "typed-size-zero", Patch(ty, 224, uint64_t(0)));
  Save(dir, "typed-name-nul", Patch(ty, blk + 34, uint8_t(0)));
  Save(dir, "typed-name-control", Patch(ty, blk + 34, uint8_t(7)));
}

// Input of fuzz_records.c: [slots-2][cap sel][P][program][latest][ring].
Bytes Records(uint8_t slots_sel, uint8_t cap_sel, const Bytes& prog, uint64_t latest,
              const Bytes& ring) {
  Bytes b = {slots_sel, cap_sel, uint8_t(prog.size())};
  b.insert(b.end(), prog.begin(), prog.end());
  for (int i = 0; i < 8; i++) b.push_back(uint8_t(latest >> (8 * i)));
  b.insert(b.end(), ring.begin(), ring.end());
  return b;
}

// A ring of @slots slots of stride 64 + round64(cap) holding versions first..last, written
// as the writer would.
Bytes Ring(uint32_t slots, uint64_t cap, uint64_t first, uint64_t last) {
  uint64_t stride = 64 + ((cap + 63) & ~uint64_t(63));
  Bytes r(slots * stride);
  for (uint64_t v = first; v <= last; v++) {
    unsigned char* s = r.data() + (v % slots) * stride;
    uint64_t seq = 2 * v, len = v % (cap + 1);
    memcpy(s, &seq, 8);
    memcpy(s + 8, &v, 8);
    memcpy(s + 16, &len, 8);
    shmbus_test::Fill(v, s + 64, len);
  }
  return r;
}

void RecordsCorpus(const std::string& dir) {
  // op % 10: 0 read_latest, 1 next, 2/3 the same with a small buffer, 4 seek, 5 wait(0),
  // 6 latest += int8, 7 latest ^= bit, 8 poke slot field, 9 writer state.
  const Bytes reads = {0, 1, 1, 1, 0x24, 1, 1, 1, 0x14, 1, 5, 0x15, 0x32};
  Save(dir, "valid-2x64", Records(0, 4, reads, 7, Ring(2, 64, 6, 7)));
  Save(dir, "valid-3x1", Records(1, 0, reads, 10, Ring(3, 1, 8, 10)));
  Save(dir, "valid-5x4096", Records(3, 7, reads, 4, Ring(5, 4096, 1, 4)));
  Save(dir, "valid-4x65", Records(2, 5, reads, 20, Ring(4, 65, 17, 20)));
  Save(dir, "nothing", Records(0, 0, reads, 0, Bytes()));
  Save(dir, "backwards",
       Records(2, 4, {1, 6, 0xfd, 1, 0, 6, 0xf0, 1, 0x24, 1}, 12, Ring(4, 64, 9, 12)));
  Save(dir, "jump", Records(2, 4, {1, 7, 40, 1, 0, 0x24, 1, 7, 63, 1, 0}, 12, Ring(4, 64, 9, 12)));
  Save(dir, "poke-length",
       Records(2, 4, {0x18, 0, 1, 0, 1, 1, 0x18, 1, 0xff, 0}, 12, Ring(4, 64, 9, 12)));
  Save(dir, "poke-seq-odd", Records(2, 4, {8, 0, 0xff, 0, 1, 1}, 12, Ring(4, 64, 9, 12)));
  Save(dir, "poke-seq-low", Records(2, 4, {0x38, 0, 2, 1, 1}, 12, Ring(4, 64, 9, 12)));
  Save(dir, "writer-alive", Records(2, 4, {9, 5, 5, 0x15, 9, 0, 5}, 12, Ring(4, 64, 9, 12)));
  Save(dir, "latest-max", Records(0, 4, reads, ~uint64_t(0), Ring(2, 64, 0, 0)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_corpus DIR (writes DIR/segment/ and DIR/records/)\n");
    return 2;
  }
  std::string dir = argv[1];
  mkdir((dir + "/segment").c_str(), 0755);
  mkdir((dir + "/records").c_str(), 0755);
  Segment(dir + "/segment");
  RecordsCorpus(dir + "/records");
  return 0;
}
