/* liveness.c - is the writer alive? pid + start time, read from /proc without any lock. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"

/* shmbus__proc_start_time() - field 22 of /proc/PID/stat (start time in clock ticks since
 * boot). The command name (field 2) may hold spaces and parentheses, so parsing starts after
 * the last ')'. A zombie (state Z or X: dead, not yet reaped by its parent) has no process
 * any more: -ESRCH. Return: 0; -ENOENT (no such process); -ESRCH; another negative errno. */
int shmbus__proc_start_time(pid_t pid, uint64_t *start) {
  char path[64], buf[1024];
  ssize_t n;
  int fd, field;
  char *p, *end;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return n < 0 ? -errno : -ENOENT;
  buf[n] = '\0';
  p = strrchr(buf, ')');
  if (p == NULL || p[1] != ' ') return -EPROTO;
  if (p[2] == 'Z' || p[2] == 'X') return -ESRCH;
  /* After ')' comes field 3 (state); field 22 is 19 spaces further. */
  for (field = 2; field < 22 && *p; p++)
    if (*p == ' ') field++;
  if (field != 22) return -EPROTO;
  errno = 0;
  *start = strtoull(p, &end, 10);
  return (end == p || errno) ? -EPROTO : 0;
}

/* shmbus__writer_alive() - 1 when the header's writer is running, 0 when it died or closed.
 * A /proc we may not read counts as alive: we cannot tell, so we keep waiting. With
 * hidepid=2 (or hidepid=invisible) another user's /proc/PID does not even exist for us:
 * then kill(pid, 0) failing with EPERM says that a process we may not signal has the pid,
 * and we count it as alive too (its start time cannot be checked: a reused pid of another
 * user's process is taken for the writer, the price of not seeing /proc). */
int shmbus__writer_alive(const struct shmbus__header *h) {
  uint32_t state = atomic_load_explicit(&h->writer_state, memory_order_acquire);
  pid_t pid = (pid_t)atomic_load_explicit(&h->writer_pid, memory_order_relaxed);
  uint64_t want = atomic_load_explicit(&h->writer_start, memory_order_relaxed), got = 0;
  int rc;
  if (state != SHMBUS__WRITER_RUNNING || pid <= 0) return 0;
  rc = shmbus__proc_start_time(pid, &got);
  if (rc == -ENOENT && kill(pid, 0) < 0 && errno == EPERM) return 1; /* hidden by hidepid */
  if (rc == -ENOENT || rc == -ESRCH) return 0;
  if (rc < 0) return 1;
  return got == want;
}
