// The benchmark's log-linear histogram: bucket layout, resolution, percentiles, merge.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "bench/hist.h"

namespace {

std::unique_ptr<hist> fresh() {
  std::unique_ptr<hist> h(new hist);
  hist_reset(h.get());
  return h;
}

TEST(Hist, ExactBelow256) {
  for (uint64_t v = 0; v < 256; v++) {
    EXPECT_EQ(hist_bucket(v), v);
    EXPECT_EQ(hist_bucket_low(static_cast<unsigned>(v)), v);
  }
}

TEST(Hist, BucketsAreContiguousAndNarrowerThanOnePercent) {
  // Every bucket's low bound maps back to it, the next bucket starts where it ends, and a
  // bucket is at most 1/128 of its low bound wide.
  for (unsigned i = 256; i + 1 < HIST_BUCKETS; i++) {
    uint64_t lo = hist_bucket_low(i), next = hist_bucket_low(i + 1);
    ASSERT_EQ(hist_bucket(lo), i) << i;
    ASSERT_EQ(hist_bucket(next - 1), i) << i;
    ASSERT_GT(next, lo);
    ASSERT_LE(static_cast<double>(next - lo) / static_cast<double>(lo), 1.0 / 128 + 1e-12) << i;
  }
}

TEST(Hist, HugeValuesLandInTheLastBucket) {
  EXPECT_EQ(hist_bucket(UINT64_MAX), HIST_BUCKETS - 1u);
  auto h = fresh();
  hist_add(h.get(), UINT64_MAX);
  EXPECT_EQ(hist_pct(h.get(), 1.0), UINT64_MAX);
}

TEST(Hist, PercentilesOfAUniformRangeWithinOnePercent) {
  auto h = fresh();
  for (uint64_t v = 1000; v < 101000; v++) hist_add(h.get(), v);
  EXPECT_EQ(h->count, 100000u);
  EXPECT_EQ(h->min, 1000u);
  EXPECT_EQ(h->max, 100999u);
  const struct {
    double q, want;
  } cases[] = {{0.5, 51000}, {0.9, 91000}, {0.99, 100000}, {0.999, 100900}};
  for (const auto &c : cases)
    EXPECT_NEAR(static_cast<double>(hist_pct(h.get(), c.q)), c.want, c.want / 100) << c.q;
  EXPECT_EQ(hist_pct(h.get(), 1.0), 100999u);
}

TEST(Hist, PercentileIsClampedToTheRangeSeen) {
  auto h = fresh();
  for (int i = 0; i < 10; i++) hist_add(h.get(), 1000003);
  EXPECT_EQ(hist_pct(h.get(), 0.5), 1000003u);
  EXPECT_EQ(hist_pct(fresh().get(), 0.5), 0u);  // empty
}

TEST(Hist, MergeAddsCountsAndKeepsExtremes) {
  auto a = fresh(), b = fresh();
  for (int i = 0; i < 99; i++) hist_add(a.get(), 10);
  hist_add(b.get(), 5);
  hist_add(b.get(), 7000000);
  hist_merge(a.get(), b.get());
  EXPECT_EQ(a->count, 101u);
  EXPECT_EQ(a->min, 5u);
  EXPECT_EQ(a->max, 7000000u);
  EXPECT_EQ(hist_pct(a.get(), 0.5), 10u);
  EXPECT_EQ(hist_pct(a.get(), 1.0), 7000000u);
}

}  // namespace
