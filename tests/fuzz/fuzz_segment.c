/* fuzz_segment.c - fuzz target 1: a reader opens and validates a records object made of
 * arbitrary bytes of arbitrary size, and, if it accepts it, reads from it.
 *
 * The input is the whole object: written to /dev/shm/shmbus.NAME (NAME unique per process),
 * then shmbus_sub_open(), read_latest, next (a bounded number of times), seek, wait(0), info.
 * Every call must return a length or a negative errno; none may crash, read out of bounds
 * (ASan), hit undefined behaviour (UBSan) or fail to return (libFuzzer -timeout).
 * Built by tests/fuzz/run_fuzz.sh (libFuzzer) and by //tests/fuzz:segment_replay_test. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "tests/fuzz/fuzz_common.h"

/* A record this large or larger is read into a buffer of this size (-ENOBUFS path). */
#define BUF_MAX (1u << 20)

static unsigned char buf[BUF_MAX];

/* An accepted schema is bounded and consistent with what info says, whatever the bytes. */
static void check_schema(shmbus_sub *s, const struct shmbus_bus_info *bi) {
  struct shmbus_schema sc;
  int rc = shmbus_sub_schema(s, &sc);
  if (rc == -ENOENT) {
    if (bi->schema_hash != 0 || bi->type_name[0]) fuzz_fail("untyped bus with a schema in info");
    return;
  }
  if (rc != 0) fuzz_fail("sub_schema returned %d", rc);
  if (strlen(sc.type_name) < 1 || strlen(sc.type_name) > SHMBUS_TYPE_NAME_MAX ||
      strlen(sc.schema_encoding) > SHMBUS_ENCODING_MAX ||
      strlen(sc.message_encoding) > SHMBUS_ENCODING_MAX || sc.text_len > SHMBUS_SCHEMA_MAX)
    fuzz_fail("schema out of its bounds");
  if (((const char *)sc.text)[sc.text_len] != 0) fuzz_fail("schema text not NUL-terminated");
  if (shmbus_schema_hash(&sc) != sc.hash || bi->schema_hash != sc.hash ||
      strcmp(bi->type_name, sc.type_name) != 0 || bi->schema_len != sc.text_len)
    fuzz_fail("schema and info disagree");
}

static void read_all(shmbus_sub *s) {
  struct shmbus_record_info info;
  struct shmbus_bus_info bi;
  uint64_t cap = shmbus_sub_capacity(s);
  size_t n = cap < BUF_MAX ? (size_t)cap : BUF_MAX;
  ssize_t r = 0;
  uint32_t i;
  int whence;

  if (shmbus_sub_info(s, &bi) != 0) fuzz_fail("info failed on an open reader");
  check_schema(s, &bi);
  if (bi.capacity != cap)
    fuzz_fail("info capacity %llu != capacity %llu", (unsigned long long)bi.capacity,
              (unsigned long long)cap);

  r = shmbus_sub_read_latest(s, buf, n, &info);
  fuzz_check_result(r, n, "read_latest");
  r = shmbus_sub_read_latest(s, buf, 1, &info);
  fuzz_check_result(r, 1, "read_latest (1-byte buffer)");
  for (whence = 0; whence <= 3; whence++) {
    int rc = shmbus_sub_seek(s, whence);
    if (whence == 3 ? rc != -EINVAL : rc != 0) fuzz_fail("seek(%d) returned %d", whence, rc);
    /* A reader never loops forever: next() must reach -EAGAIN or an error within slots + 2
     * calls of a bus nobody writes (the ring holds at most that many records). */
    for (i = 0; i < bi.slots + 2; i++) {
      r = shmbus_sub_next(s, buf, n, &info);
      fuzz_check_result(r, n, "next");
      if (r < 0) break;
    }
    if (r >= 0) fuzz_fail("next() kept returning records on a bus nobody writes");
  }
  (void)shmbus_sub_wait(s, 0, SHMBUS_WAIT_SLEEP);
  (void)shmbus_sub_wait(s, 0, SHMBUS_WAIT_SLEEP | SHMBUS_WAIT_THROUGH_DEATH);
  (void)shmbus_sub_latest(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char name[64], path[128];
  shmbus_sub *s = NULL;
  int fd, rc;

  fuzz_name(name, sizeof name, "seg");
  snprintf(path, sizeof path, "/dev/shm/shmbus.%s", name);
  unlink(path);
  fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) fuzz_fail("cannot create %s: %s", path, strerror(errno));
  if (size > 0 && write(fd, data, size) != (ssize_t)size) fuzz_fail("short write to %s", path);
  close(fd);

  rc = shmbus_sub_open(name, 0, &s);
  if (rc == 0) {
    read_all(s);
    shmbus_sub_close(s);
  } else if (rc != -EPROTO && rc != -EPROTONOSUPPORT) {
    fuzz_fail("sub_open of a corrupt object returned %d (%s), not -EPROTO/-EPROTONOSUPPORT", rc,
              shmbus_strerror(rc));
  }
  unlink(path);
  return 0;
}
