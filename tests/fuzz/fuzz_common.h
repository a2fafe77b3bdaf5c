/* fuzz_common.h - what both fuzz targets share: a per-process bus name, result checks. */
#ifndef SHMBUS_FUZZ_COMMON_H
#define SHMBUS_FUZZ_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* Removes every /dev/shm object this process's targets made ("...fuzz-*-PID"): called before
 * aborting on a finding and by the replay test's alarm, so no run leaves objects behind. */
static inline void fuzz_remove_objects(void) {
  char suffix[32], path[512];
  struct dirent *e;
  DIR *d = opendir("/dev/shm");
  size_t sl;
  if (d == NULL) return;
  snprintf(suffix, sizeof suffix, "-%d", (int)getpid());
  sl = strlen(suffix);
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (strncmp(e->d_name, "shmbus", 6) != 0 || strstr(e->d_name, ".fuzz-") == NULL || n < sl ||
        strcmp(e->d_name + n - sl, suffix) != 0)
      continue;
    snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
    unlink(path);
  }
  closedir(d);
}

/* A finding: print it and abort, so libFuzzer saves the input and the replay test fails. */
static inline void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void fuzz_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FUZZ FINDING: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  fuzz_remove_objects();
  abort();
}

/* "fuzz-TAG-KIND-PID": unique per process; TAG from $SHMBUS_FUZZ_TAG lets run_fuzz.sh remove
 * what a crashed run left in /dev/shm. */
static inline void fuzz_name(char *buf, size_t n, const char *kind) {
  const char *tag = getenv("SHMBUS_FUZZ_TAG");
  snprintf(buf, n, "fuzz-%s-%s-%d", tag && *tag ? tag : "x", kind, (int)getpid());
}

/* A read call returns a length no larger than the buffer, or one of its documented errors. */
static inline void fuzz_check_result(ssize_t r, size_t cap, const char *what) {
  if (r >= 0) {
    if ((size_t)r > cap) fuzz_fail("%s returned %zd bytes into a %zu-byte buffer", what, r, cap);
    return;
  }
  switch (r) {
    case -ENODATA:
    case -EAGAIN:
    case -ENOBUFS:
    case -EBADMSG:
    case -ESTALE: return;
    default: fuzz_fail("%s returned undocumented %zd", what, r);
  }
}

#endif /* SHMBUS_FUZZ_COMMON_H */
