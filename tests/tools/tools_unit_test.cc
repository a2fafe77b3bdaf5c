// The tools' pure functions, with injected inputs (no clock, no bus): shmsub's statistics
// (issue 22 items 1, 2, 4), shmpub's pacing (item 18), JSON and terminal escaping (item 9),
// bus-name suggestions (item 19).
#include <gtest/gtest.h>

#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" {
#include "tools/common.h"
#include "tools/format.h"
#include "tools/options.h"
#include "tools/stats.h"
}

namespace {

constexpr int64_t kMs = 1000000;

// What @fn writes to a FILE, as a string.
template <typename F>
std::string Capture(F fn) {
  char *buf = nullptr;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fn(f);
  fclose(f);
  std::string s(buf, len);
  free(buf);
  return s;
}

struct Stats {
  struct stats s;
  explicit Stats(size_t window) { EXPECT_EQ(stats_init(&s, window), 0); }
  ~Stats() { stats_free(&s); }
  void Add(uint64_t version, int64_t receive_ns, int64_t latency_ns = 0, uint64_t length = 1) {
    struct stats_sample x = {version, receive_ns, latency_ns, length};
    stats_add(&s, &x);
  }
  std::string Print(int kinds) {
    return Capture([&](FILE *f) { stats_print(&s, kinds, f); });
  }
};

// Item 4: nearest rank: p99 of 1..100 is 99, not the max; p50 is 50.
TEST(Percentile, NearestRank) {
  int64_t v[100];
  for (int i = 0; i < 100; i++) v[i] = i + 1;
  EXPECT_EQ(stats_percentile(v, 100, 50), 50);
  EXPECT_EQ(stats_percentile(v, 100, 90), 90);
  EXPECT_EQ(stats_percentile(v, 100, 99), 99);
  EXPECT_EQ(stats_percentile(v, 100, 100), 100);
  EXPECT_EQ(stats_percentile(v, 1, 99), 1);
  int64_t two[2] = {10, 20};
  EXPECT_EQ(stats_percentile(two, 2, 50), 10);
  EXPECT_EQ(stats_percentile(two, 2, 51), 20);
}

TEST(Stats, DelayLinePercentiles) {
  Stats st(100);
  for (int i = 1; i <= 100; i++) st.Add(i, i * kMs, i * 1000);  // latencies 1..100 us
  std::string out = st.Print(STATS_DELAY);
  EXPECT_NE(out.find("p50: 50.0us  p90: 90.0us  p99: 99.0us  max: 100.0us"), std::string::npos)
      << out;
}

// Item 4: rate and intervals come from receive times: publish times (here: none at all) and
// a wall-clock step cannot skew them. 11 records 10 ms apart: 100 Hz, min = max = 10 ms.
TEST(Stats, RateFromMonotonicReceiveTimes) {
  Stats st(100);
  for (int i = 0; i <= 10; i++) st.Add(100 + i, 5000 * kMs + i * 10 * kMs);
  EXPECT_DOUBLE_EQ(stats_rate(&st.s), 100.0);
  std::string out = st.Print(STATS_HZ);
  EXPECT_EQ(out.rfind("rate: 100.000 Hz  min: 10.00ms  max: 10.00ms  std dev: 0ns  window: 11  "
                      "skipped: 0\n",
                      0),
            0u)
      << out;
}

// Records a slow reader skipped still count in the rate; skipped counts them.
TEST(Stats, SkippedRecordsCountInRate) {
  Stats st(100);
  st.Add(1, 0);
  st.Add(2, 10 * kMs);
  st.Add(5, 40 * kMs);  // 3 and 4 skipped
  EXPECT_DOUBLE_EQ(stats_rate(&st.s), 100.0);
  EXPECT_NE(st.Print(STATS_HZ).find("skipped: 2\n"), std::string::npos);
}

// Item 2: versions going back (the bus was replaced) restart the window: no huge rate, no
// 2^64 - N skipped.
TEST(Stats, VersionsGoingBackRestartTheWindow) {
  Stats st(100);
  for (int i = 0; i < 5; i++) st.Add(400 + i, i * 5 * kMs);
  st.Add(1, 100 * kMs);
  st.Add(2, 105 * kMs);
  st.Add(3, 110 * kMs);
  EXPECT_DOUBLE_EQ(stats_rate(&st.s), 200.0);
  std::string out = st.Print(STATS_HZ);
  EXPECT_NE(out.find("rate: 200.000 Hz"), std::string::npos) << out;
  EXPECT_NE(out.find("window: 3  skipped: 0\n"), std::string::npos) << out;
}

TEST(Stats, ResetForgetsEverything) {
  Stats st(10);
  st.Add(7, 0);
  st.Add(8, kMs);
  stats_reset(&st.s);
  EXPECT_EQ(st.Print(STATS_HZ), "");  // nothing since the reset
  st.Add(9, 2 * kMs);
  EXPECT_NE(st.Print(STATS_HZ).find("waiting for a second record (window: 1)"), std::string::npos);
}

// Item 18: -r never bursts after a stall; the mean rate stays HZ while it keeps up.
TEST(Pacer, NoBurstAfterAStall) {
  struct tool_pacer p;
  tool_pacer_init(&p, 100);  // 10 ms
  EXPECT_EQ(tool_pacer_due(&p, 0), 0);
  EXPECT_EQ(tool_pacer_due(&p, 1 * kMs), 10 * kMs);   // early: wait for the slot
  EXPECT_EQ(tool_pacer_due(&p, 23 * kMs), 23 * kMs);  // 3 ms late: now
  EXPECT_EQ(tool_pacer_due(&p, 24 * kMs), 30 * kMs);  // the schedule holds: mean rate 100 Hz
  // stdin stalls for a second: the next record goes at once, then one per 10 ms again.
  int64_t t = tool_pacer_due(&p, 1020 * kMs);
  EXPECT_EQ(t, 1020 * kMs);
  for (int i = 0; i < 5; i++) {
    int64_t next = tool_pacer_due(&p, t);  // the caller is ready at once: no catching up
    EXPECT_EQ(next - t, 10 * kMs);
    t = next;
  }
}

TEST(Pacer, ZeroMeansNoPacing) {
  struct tool_pacer p;
  tool_pacer_init(&p, 0);
  EXPECT_EQ(tool_pacer_due(&p, 5), 5);
  EXPECT_EQ(tool_pacer_due(&p, 5), 5);
}

// Item 9: whatever the bytes, the JSON string is valid (invalid UTF-8 -> U+FFFD) and the
// terminal text has no control bytes.
TEST(Escape, JsonStringIsAlwaysValid) {
  const char bad[] = "a\x1b[31m\xff\xc3(\xe2\x82\xac";
  std::string out = Capture([&](FILE *f) { json_quote(f, bad, sizeof bad - 1); });
  EXPECT_EQ(out, "\"a\\u001b[31m\\ufffd\\ufffd(\xe2\x82\xac\"");
  EXPECT_TRUE(utf8_valid(reinterpret_cast<const unsigned char *>(out.data()), out.size()));
}

TEST(Escape, TextSafeHasNoControlBytes) {
  const char bad[] = "t\x1b]0;x\x07\xff\\";
  std::string out = Capture([&](FILE *f) { text_safe(f, bad, sizeof bad - 1); });
  EXPECT_EQ(out, "t\\x1b]0;x\\x07\\xff\\x5c");
}

// Item 19: a topic path gets a name to type instead.
TEST(Names, Suggestion) {
  char buf[256];
  ASSERT_EQ(tool_name_suggest("robot1/imu", buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "robot1.imu");
  ASSERT_EQ(tool_name_suggest("/robot1/imu", buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "robot1.imu");
  EXPECT_EQ(tool_name_suggest("///", buf, sizeof buf), -EINVAL);
}

// Item 5: time options are bounded, so nanoseconds never overflow.
TEST(Parse, SecondsAreBounded) {
  double v;
  EXPECT_EQ(parse_seconds("1e6", &v), 0);
  EXPECT_EQ(parse_seconds("1e10", &v), -ERANGE);
  EXPECT_EQ(parse_seconds("1e300", &v), -ERANGE);
  EXPECT_EQ(parse_seconds("0", &v), -EINVAL);
}

// The option table (options.h): parsing and --help's option list come from the same entries.
struct Seen {
  std::string log;
};

int SetOption(void *ctx, const char *arg) {
  static_cast<Seen *>(ctx)->log += std::string("[") + (arg ? arg : "-") + "]";
  return 0;
}

int StopOption(void *, const char *) { return 7; }

int Rejected(int c, char **) { return c == ':' ? 20 : 21; }

const struct tool_option kOptions[] = {
    {nullptr, 0, nullptr, "Heading:", nullptr},
    {"message", 'm', "TEXT", "one record\nsecond line", SetOption},
    {"slots", 0, "N", "ring depth", SetOption},
    {"flag", 'f', nullptr, "a flag", SetOption},
    {"export-private", 'P', "PATTERN", "long", SetOption},
    {"stop", 0, nullptr, nullptr, StopOption},
};
const struct tool_options kTable = {kOptions, sizeof kOptions / sizeof kOptions[0], 0, Rejected};

int Parse(std::vector<std::string> args, Seen *seen) {
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(&a[0]);
  argv.push_back(nullptr);
  optind = 0;
  return tool_options_parse(&kTable, static_cast<int>(args.size()), argv.data(), seen);
}

TEST(Options, ParseCallsEachOptionInOrder) {
  Seen seen;
  EXPECT_EQ(Parse({"t", "-m", "a", "--slots=4", "-f", "--message", "b", "NAME"}, &seen), 0);
  EXPECT_EQ(seen.log, "[a][4][-][b]");
  EXPECT_EQ(optind, 7);  // the operand
}

TEST(Options, RejectedAndStopped) {
  Seen seen;
  EXPECT_EQ(Parse({"t", "-x"}, &seen), 21);
  EXPECT_EQ(Parse({"t", "--slots"}, &seen), 20);
  EXPECT_EQ(Parse({"t", "--stop", "-f"}, &seen), 7);
  EXPECT_EQ(seen.log, "");
}

TEST(Options, HelpListsEveryOptionAtTheColumn) {
  std::string help = Capture([](FILE *f) { tool_options_help(f, &kTable); });
  EXPECT_EQ(help, "Heading:\n"
                  "  -m, --message TEXT     one record\n"
                  "                         second line\n"
                  "      --slots N          ring depth\n"
                  "  -f, --flag             a flag\n"
                  "  -P, --export-private PATTERN  long\n");
}

}  // namespace
