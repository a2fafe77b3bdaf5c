/* marker.c - "this bus is written by an importer": the loop guard between the two directions,
 * and the importer's proof that a bus is its own.
 *
 * An importer writes /dev/shm/shmbridge.NAME before it becomes the writer of bus NAME, naming
 * its pid, the local bus it created (its created_ns) and the last remote record it imported.
 * An exporter skips a bus whose writer_pid is the pid in its marker, when the marker belongs
 * to the bus's owner: what was imported is never exported again, by this bridge or by any
 * other on the same host, and a file planted by another user changes nothing. A marker whose
 * pid is no longer the bus's writer (a local program took the name over) is stale and ignored.
 * An importer only ever writes a bus that exists when its own marker (its user's, naming that
 * very bus) says it made it: bridge_bus_is_ours(). The version in it lets a restarted importer
 * drop the record it already republished (the remote's transient-local copy of the latest).
 * It also shows, to anyone who reads it, this importer's received and lost counts for the bus.
 *
 * A marker is trusted only if it is a regular file (never followed through a symbolic link)
 * owned by the expected user; it is replaced by rename() of a temporary file created with
 * O_EXCL under a random name, so nothing planted in /dev/shm is ever written through.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "bridge/bridge_util.h"

static int marker_path(const char *bus, char *buf, size_t n) {
  int rc = shmbus_name_check(bus);
  if (rc < 0) return rc;
  if ((size_t)snprintf(buf, n, "/dev/shm/shmbridge.%s", bus) >= n) return -ENAMETOOLONG;
  return 0;
}

/* Fixed width, so bridge_marker_update() rewrites it in place with one pwrite(). */
static int marker_text(const struct bridge_marker *m, char *text, size_t n) {
  return snprintf(text, n,
                  "pid=%10d\norigin=%016" PRIx64 "\nbus_id=%20" PRIu64 "\nversion=%20" PRIu64
                  "\nreceived=%20" PRIu64 "\nlost=%20" PRIu64 "\nbus_created=%20" PRIu64
                  "\nsaved_ns=%20" PRIu64 "\n",
                  (int)m->pid, m->origin, m->bus_id, m->version, m->received, m->lost,
                  m->bus_created, m->saved_ns);
}

/* A new file next to @path, created with O_EXCL (never an existing file, never a link). */
static int marker_tmp(const char *path, char *tmp, size_t n) {
  for (int i = 0; i < 8; i++) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) r ^= (uint64_t)getpid() << 20 | i;
    snprintf(tmp, n, "%s~%016" PRIx64, path, r);
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0 || errno != EEXIST) return fd >= 0 ? fd : -errno;
  }
  return -EEXIST;
}

/* bridge_marker_open() - create or replace bus @bus's marker; returns its open descriptor. */
int bridge_marker_open(const char *bus, const struct bridge_marker *m) {
  char path[256], tmp[300], text[320];
  int fd, len, rc = marker_path(bus, path, sizeof path);
  if (rc < 0) return rc;
  len = marker_text(m, text, sizeof text);
  fd = marker_tmp(path, tmp, sizeof tmp);
  if (fd < 0) return fd;
  /* rename() is atomic: a reader sees the old marker or the new one, never half of one. */
  errno = 0;
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
  char text[320];
  int len = marker_text(m, text, sizeof text);
  return pwrite(fd, text, (size_t)len, 0) == len ? 0 : -EIO;
}

static void marker_parse(FILE *f, struct bridge_marker *m) {
  char line[128];
  int pid = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "pid=%d", &pid) == 1) m->pid = (pid_t)pid;
    else if (sscanf(line, "origin=%" SCNx64, &m->origin) == 1) continue;
    else if (sscanf(line, "bus_id=%" SCNu64, &m->bus_id) == 1) continue;
    else if (sscanf(line, "version=%" SCNu64, &m->version) == 1) continue;
    else if (sscanf(line, "received=%" SCNu64, &m->received) == 1) continue;
    else if (sscanf(line, "lost=%" SCNu64, &m->lost) == 1) continue;
    else if (sscanf(line, "bus_created=%" SCNu64, &m->bus_created) == 1) continue;
    else if (sscanf(line, "saved_ns=%" SCNu64, &m->saved_ns) == 1) continue;
  }
}

/* bridge_marker_read() - read bus @bus's marker, if it is a regular file owned by @owner.
 * Return: 0; -ENOENT (none); -EPERM (another user's file, or not a regular file: not
 * trusted); -EPROTO (no pid in it); another negative errno. */
int bridge_marker_read(const char *bus, uid_t owner, struct bridge_marker *m) {
  char path[256];
  struct stat st;
  int fd, rc = marker_path(bus, path, sizeof path);
  FILE *f;
  memset(m, 0, sizeof *m);
  if (rc < 0) return rc;
  fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return errno == ELOOP ? -EPERM : -errno;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != owner ||
      (f = fdopen(fd, "r")) == NULL) {
    close(fd);
    return -EPERM;
  }
  marker_parse(f, m);
  fclose(f);
  return m->pid > 0 ? 0 : -EPROTO;
}

/* bridge_marker_remove() - remove bus @bus's marker (a stale one). Return: 0 or -errno. */
int bridge_marker_remove(const char *bus) {
  char path[256];
  int rc = marker_path(bus, path, sizeof path);
  if (rc < 0) return rc;
  return unlink(path) == 0 ? 0 : -errno;
}

/* 1 when bus @bus (seen as @info) is written, or was last written, by the importer that its
 * owner's marker names. */
int bridge_is_imported(const char *bus, const struct shmbus_bus_info *info) {
  struct bridge_marker m;
  if (bridge_marker_read(bus, info->uid, &m) < 0) return 0;
  return info->writer_pid != 0 && m.pid == info->writer_pid;
}

/* bridge_bus_is_ours() - 1 when the existing bus @bus (seen as @info) is one that an importer
 * of this user made, as marker @m (read with this user as owner) says: the bus is this
 * user's, and it is the very bus the marker names (its creation time, or before that was
 * recorded, its last writer). Anything else is somebody else's bus: never adopted. */
int bridge_bus_is_ours(const char *bus, const struct shmbus_bus_info *info,
                       const struct bridge_marker *m) {
  (void)bus;
  if (info->uid != geteuid() || m->pid <= 0) return 0;
  if (m->bus_created != 0) return m->bus_created == info->created_ns;
  return info->writer_pid != 0 && info->writer_pid == m->pid;
}
