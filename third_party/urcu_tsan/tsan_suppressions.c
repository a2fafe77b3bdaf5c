/* Hands tsan.supp (beside this file; see it for each line's reason) to ThreadSanitizer at
 * start-up. //view:shmbus_view links this only in --config=tsan builds, into every binary
 * that uses the view, since liburcu itself is not TSan-instrumented. */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void) {
  return
#include "third_party/urcu_tsan/tsan_supp.inc"
      ;
}
