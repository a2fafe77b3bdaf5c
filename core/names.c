/* names.c - bus names, the modes a bus may have, the paths of a bus's three objects, and
 * opening them safely. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"

int shmbus_name_check(const char *name) {
  size_t n, i;
  if (name == NULL || name[0] == '\0' || name[0] == '.') return -EINVAL;
  n = strnlen(name, SHMBUS_NAME_MAX + 1);
  if (n > SHMBUS_NAME_MAX) return -ENAMETOOLONG;
  for (i = 0; i < n; i++) {
    char c = name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '.';
    if (!ok) return -EINVAL;
  }
  return 0;
}

int shmbus_mode_check(mode_t mode) {
  if ((mode & ~(mode_t)0644) != 0 || (mode & 0600) != 0600) return -EINVAL;
  return 0;
}

/* shmbus__path() - "/dev/shm/" @prefix @name into @buf (SHMBUS__PATH_MAX bytes). */
int shmbus__path(char *buf, const char *prefix, const char *name) {
  int rc = shmbus_name_check(name);
  if (rc < 0) return rc;
  rc = snprintf(buf, SHMBUS__PATH_MAX, "%s%s%s", SHMBUS__DIR, prefix, name);
  return rc > 0 && rc < SHMBUS__PATH_MAX ? 0 : -ENAMETOOLONG;
}

/* shmbus__open_file() - open a bus's records or lock object at @path the only safe way: never
 * through a symlink (O_NOFOLLOW), never blocking (O_NONBLOCK: anyone may plant a FIFO at the
 * path, and open(O_RDONLY) of a FIFO waits for a writer forever), and only a regular file,
 * checked with fstat() before anything else touches it. O_NONBLOCK is cleared again before
 * returning. Fills @st when it is not NULL.
 * Return: the descriptor; -ELOOP (a symlink); -EPROTO (not a regular file: FIFO, socket,
 *         directory, device); another negative errno. */
int shmbus__open_file(const char *path, int flags, mode_t mode, struct stat *st) {
  struct stat local;
  int fd = open(path, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, mode), fl, e;
  /* ENXIO: a socket, or a FIFO opened O_WRONLY; EISDIR: a directory opened for writing. */
  if (fd < 0) return errno == ENXIO || errno == EISDIR ? -EPROTO : -errno;
  if (st == NULL) st = &local;
  if (fstat(fd, st) < 0) goto fail;
  if (!S_ISREG(st->st_mode)) {
    close(fd);
    return -EPROTO;
  }
  fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) goto fail;
  return fd;
fail:
  e = -errno;
  close(fd);
  return e;
}

/* shmbus__open_owned() - open (creating with @mode when O_CREAT is in @flags) an object the
 * writer may use: a regular file, not a symlink, owned by our effective uid. Anything else is
 * -EPERM, so nobody can plant an object for a writer to adopt.
 * Return: the descriptor or a negative errno. */
int shmbus__open_owned(const char *path, int flags, mode_t mode) {
  struct stat st;
  int fd = shmbus__open_file(path, flags, mode, &st);
  if (fd == -ELOOP || fd == -EPROTO) return -EPERM;
  if (fd < 0) return fd;
  if (st.st_uid != geteuid()) {
    close(fd);
    return -EPERM;
  }
  return fd;
}

/* shmbus__lock_check() - after a successful flock() on @fd, is @fd still the lock object at
 * @path? Whoever removes a bus takes its lock first and unlinks the lock object while holding
 * it (shmbus_unlink()), so a process that opened the object before the unlink and locked it
 * after holds a lock on a file nobody else will ever open: it must drop it and start again.
 * Return: 0 (the same file: the lock is the bus's); -ESTALE (removed or replaced); another
 *         negative errno. */
int shmbus__lock_check(int fd, const char *path) {
  struct stat a, b;
  if (fstat(fd, &a) < 0) return -errno;
  if (lstat(path, &b) < 0) return errno == ENOENT ? -ESTALE : -errno; /* not through a link */
  return shmbus__same_file(&a, b.st_dev, b.st_ino) ? 0 : -ESTALE;
}
