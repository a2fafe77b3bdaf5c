// The negative control: the same checker must catch a view that frees retired snapshots
// without waiting for a grace period. Built against //view:shmbus_view_testing, which poisons
// every snapshot it frees and has the early-free switch.
#include <string>
#include <errno.h>

#include "tests/view/view_fixture.h"

namespace {
using namespace viewtest;

StressParams Params() {
  StressParams p;
  p.readers = 4;
  p.len = 65536;  // a long in-place check: a retire lands inside it
  p.history = 1;
  p.records = 2000;
  return p;
}

// The poisoning build with the real call_rcu path passes the checker: the poison itself does
// not make the test fail.
TEST(ViewNegativeControl, PoisoningBuildWithGracePeriodsPasses) {
  shmbus_view__testing_early_free(0);
  StressParams p = Params();
  p.records = 600;
  StressResult r = RunStress(p);
  EXPECT_EQ(0u, r.failures) << r.first_failure;
  EXPECT_GE(r.reads, 4u);
}

// Free (poison) at once instead of after a grace period: a reader still inside its critical
// section sees the poison and the checker reports it (exit code 3). Under ASan or TSan the
// sanitizer may report the use-after-free or the race first; that is a catch too.
void RunEarlyFreeUntilCaught() {
  shmbus_view__testing_early_free(1);
  const int64_t deadline = NowNs() + 60ll * 1000000000;
  StressParams p = Params();
  p.exit_on_failure = true;
  while (NowNs() < deadline) RunStress(p);
  fprintf(stderr, "negative control: nothing caught in 60 s\n");
  _exit(0);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizer = true;
#else
constexpr bool kSanitizer = false;
#endif

// A reader that read a freed snapshot's poisoned seq (view/view.c POISON, 0xdbdb...) before
// its words were poisoned is caught one read later, as a seq that went backwards from it.
const std::string kPoisonSeen = "checker: went backwards: seq [0-9]+ after 15842497851538791387";

bool CaughtBySanitizer(int status) { return !(WIFEXITED(status) && WEXITSTATUS(status) == 0); }

TEST(ViewNegativeControlDeathTest, FreeingWithoutAGracePeriodIsCaught) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  if (kSanitizer) {
    EXPECT_EXIT(RunEarlyFreeUntilCaught(), CaughtBySanitizer,
                "checker: .*(torn or freed|wrong)|Sanitizer|" + kPoisonSeen);
  } else {
    EXPECT_EXIT(RunEarlyFreeUntilCaught(), ::testing::ExitedWithCode(3),
                "checker: snapshot seq [0-9]+ version [0-9]+: word [0-9]+ is wrong|" + kPoisonSeen);
  }
  SweepDeadBuses();  // a child halted by a sanitizer left its bus behind
}

}  // namespace
