/* marker.c - "this bus is written by an importer": the loop guard between the two directions.
 *
 * An importer writes /dev/shm/shmbridge.NAME before it becomes the writer of bus NAME, naming
 * its pid and the last remote record it imported. An exporter skips a bus whose writer_pid is
 * the pid in its marker: what was imported is never exported again, by this bridge or by any
 * other on the same host. A marker whose pid is no longer the bus's writer (a local program took
 * the name over) is stale and ignored. The version in it lets a restarted importer drop the
 * record it already republished (the remote's transient-local copy of the latest record).
 * It also shows, to anyone who reads it, this importer's received and lost counts for the bus.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "tools/bridge/bridge_util.h"

static int marker_path(const char *bus, char *buf, size_t n) {
  int rc = shmbus_name_check(bus);
  if (rc < 0) return rc;
  if ((size_t)snprintf(buf, n, "/dev/shm/shmbridge.%s", bus) >= n) return -ENAMETOOLONG;
  return 0;
}

/* Fixed width, so bridge_marker_update() rewrites it in place with one pwrite(). */
static int marker_text(const struct bridge_marker *m, char *text, size_t n) {
  return snprintf(text, n, "pid=%10d\norigin=%016" PRIx64 "\nbus_id=%20" PRIu64
                  "\nversion=%20" PRIu64 "\nreceived=%20" PRIu64 "\nlost=%20" PRIu64 "\n",
                  (int)m->pid, m->origin, m->bus_id, m->version, m->received, m->lost);
}

/* bridge_marker_open() - create or replace bus @bus's marker; returns its open descriptor. */
int bridge_marker_open(const char *bus, const struct bridge_marker *m) {
  char path[256], tmp[280], text[256];
  int fd, len, rc = marker_path(bus, path, sizeof path);
  if (rc < 0) return rc;
  snprintf(tmp, sizeof tmp, "%s~%d", path, (int)getpid());
  len = marker_text(m, text, sizeof text);
  fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  /* rename() is atomic: a reader sees the old marker or the new one, never half of one. */
  if (write(fd, text, (size_t)len) != len || rename(tmp, path) < 0) {
    rc = errno ? -errno : -EIO;
    close(fd);
    unlink(tmp);
    return rc;
  }
  return fd;
}

/* bridge_marker_update() - record the last imported record. Only the restart path reads these
 * fields, after this importer is gone, so an in-place rewrite needs no atomicity. */
int bridge_marker_update(int fd, const struct bridge_marker *m) {
  char text[256];
  int len = marker_text(m, text, sizeof text);
  return pwrite(fd, text, (size_t)len, 0) == len ? 0 : -EIO;
}

int bridge_marker_read(const char *bus, struct bridge_marker *m) {
  char path[256], line[128];
  int pid = 0, rc = marker_path(bus, path, sizeof path);
  FILE *f;
  if (rc < 0) return rc;
  memset(m, 0, sizeof *m);
  f = fopen(path, "re");
  if (f == NULL) return -errno;
  while (fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "pid=%d", &pid) == 1) m->pid = (pid_t)pid;
    else if (sscanf(line, "origin=%" SCNx64, &m->origin) == 1) continue;
    else if (sscanf(line, "bus_id=%" SCNu64, &m->bus_id) == 1) continue;
    else if (sscanf(line, "version=%" SCNu64, &m->version) == 1) continue;
    else if (sscanf(line, "received=%" SCNu64, &m->received) == 1) continue;
    else if (sscanf(line, "lost=%" SCNu64, &m->lost) == 1) continue;
  }
  fclose(f);
  return m->pid > 0 ? 0 : -EPROTO;
}

/* 1 when bus @bus is written (or was last written) by the importer its marker names. */
int bridge_is_imported(const char *bus, pid_t writer_pid) {
  struct bridge_marker m;
  if (bridge_marker_read(bus, &m) < 0) return 0;
  return writer_pid != 0 && m.pid == writer_pid;
}
