// The fan-out benchmark's pure arithmetic: list parsing, first/last spread, /proc state,
// names and target verdicts (bench/fanout_calc.h). No process is forked, nothing is timed.
#include <gtest/gtest.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>

#include "bench/fanout_calc.h"

namespace {

TEST(FanoutParseList, NumbersInOrder) {
  int v[FANOUT_MAX_LIST];
  ASSERT_EQ(fanout_parse_list("1,4,16,64,256", v, FANOUT_MAX_LIST, 256, 0), 5);
  EXPECT_EQ(v[0], 1);
  EXPECT_EQ(v[2], 16);
  EXPECT_EQ(v[4], 256);
  ASSERT_EQ(fanout_parse_list("7", v, FANOUT_MAX_LIST, 256, 0), 1);
  EXPECT_EQ(v[0], 7);
}

TEST(FanoutParseList, AllIsIntMaxOnlyWhereAllowed) {
  int v[FANOUT_MAX_LIST];
  ASSERT_EQ(fanout_parse_list("all,2", v, FANOUT_MAX_LIST, 1 << 20, 1), 2);
  EXPECT_EQ(v[0], INT_MAX);
  EXPECT_EQ(v[1], 2);
  EXPECT_EQ(fanout_parse_list("all", v, FANOUT_MAX_LIST, 256, 0), -EINVAL);
}

TEST(FanoutParseList, RejectsJunkRangeAndLength) {
  int v[FANOUT_MAX_LIST];
  const char *bad[] = {"",   ",",  "1,", ",1",   "0",  "257",
                       "-1", "+4", "4x", "1,,2", " 1", "99999999999999999999"};
  for (const char *s : bad)
    EXPECT_EQ(fanout_parse_list(s, v, FANOUT_MAX_LIST, 256, 0), -EINVAL) << s;
  EXPECT_EQ(fanout_parse_list(nullptr, v, FANOUT_MAX_LIST, 256, 0), -EINVAL);
  EXPECT_EQ(fanout_parse_list("1,2,3", v, 2, 256, 0), -EINVAL);  // more than max
  EXPECT_EQ(fanout_parse_list("1,2", v, 2, 256, 0), 2);
}

TEST(FanoutSpread, FirstAndLastRelativeToT0) {
  const int64_t arrival[] = {1500, 1200, 9000, 1300};
  uint64_t first = 0, last = 0;
  fanout_spread(arrival, 4, 1000, &first, &last);
  EXPECT_EQ(first, 200u);
  EXPECT_EQ(last, 8000u);
  fanout_spread(arrival, 1, 1000, &first, &last);  // one reader: first == last
  EXPECT_EQ(first, 500u);
  EXPECT_EQ(last, 500u);
}

TEST(FanoutSpread, AnArrivalBeforeT0CountsAsZero) {
  const int64_t arrival[] = {900, 1100};
  uint64_t first = 1, last = 0;
  fanout_spread(arrival, 2, 1000, &first, &last);
  EXPECT_EQ(first, 0u);
  EXPECT_EQ(last, 100u);
}

TEST(FanoutProcState, LetterAfterTheLastParenthesis) {
  const char *plain = "1234 (shmbus_bench) S 1 2 3";
  EXPECT_EQ(fanout_proc_state(plain, strlen(plain)), 'S');
  // A command name may hold spaces and parentheses: only the last ')' ends it.
  const char *tricky = "77 (a) R (b) ) R 1 2";
  EXPECT_EQ(fanout_proc_state(tricky, strlen(tricky)), 'R');
  const char *none = "77 (cut";
  EXPECT_EQ(fanout_proc_state(none, strlen(none)), -1);
  const char *empty_tail = "77 (x)   ";
  EXPECT_EQ(fanout_proc_state(empty_tail, strlen(empty_tail)), -1);
  const char *lower = "77 (x) s 1";
  EXPECT_EQ(fanout_proc_state(lower, strlen(lower)), -1);
  // Only @len bytes count: a letter beyond them is not read.
  EXPECT_EQ(fanout_proc_state(plain, strlen("1234 (shmbus_bench)")), -1);
}

TEST(FanoutDesignName, AllOrTheNumber) {
  char buf[32];
  EXPECT_STREQ(fanout_design_name(INT_MAX, buf, sizeof buf), "shmbus-wake-all");
  EXPECT_STREQ(fanout_design_name(2, buf, sizeof buf), "shmbus-wake-2");
  EXPECT_STREQ(fanout_design_name(16, buf, sizeof buf), "shmbus-wake-16");
}

TEST(FanoutTarget, RatioAgainstLimit) {
  fanout_target t = fanout_target_eval(2000, 1000, 2.0);  // exactly at the limit: met
  EXPECT_DOUBLE_EQ(t.ratio, 2.0);
  EXPECT_EQ(t.met, 1);
  t = fanout_target_eval(2001, 1000, 2.0);
  EXPECT_EQ(t.met, 0);
  t = fanout_target_eval(1100, 1000, 1.0);  // first reader 10% later than today: missed
  EXPECT_NEAR(t.ratio, 1.1, 1e-12);
  EXPECT_EQ(t.met, 0);
}

TEST(FanoutTarget, MissingMeasurementIsNeitherMetNorARatio) {
  fanout_target t = fanout_target_eval(0, 1000, 2.0);
  EXPECT_LT(t.ratio, 0);
  EXPECT_EQ(t.met, 0);
  t = fanout_target_eval(1000, 0, 2.0);
  EXPECT_LT(t.ratio, 0);
  EXPECT_EQ(t.met, 0);
}

}  // namespace
