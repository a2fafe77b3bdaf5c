// Hands tests/view/tsan.supp to ThreadSanitizer at start-up (see that file for each line's
// reason). Outside TSan builds nothing calls this function.
extern "C" const char *__tsan_default_suppressions() {
  return
#include "tests/view/tsan_supp.inc"
      ;
}
