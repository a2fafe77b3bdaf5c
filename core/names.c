/* names.c - bus names, the paths of a bus's three objects, and opening them safely. */
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

/* shmbus__path() - "/dev/shm/" @prefix @name into @buf (SHMBUS__PATH_MAX bytes). */
int shmbus__path(char *buf, const char *prefix, const char *name) {
  int rc = shmbus_name_check(name);
  if (rc < 0) return rc;
  rc = snprintf(buf, SHMBUS__PATH_MAX, "%s%s%s", SHMBUS__DIR, prefix, name);
  return rc > 0 && rc < SHMBUS__PATH_MAX ? 0 : -ENAMETOOLONG;
}

/* shmbus__open_owned() - open (creating with @mode when O_CREAT is in @flags) an object the
 * writer may use: a regular file, not a symlink, owned by our effective uid. Anything else is
 * -EPERM, so nobody can plant an object for a writer to adopt.
 * Return: the descriptor or a negative errno. */
int shmbus__open_owned(const char *path, int flags, mode_t mode) {
  struct stat st;
  int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return errno == ELOOP ? -EPERM : -errno;
  if (fstat(fd, &st) < 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
    close(fd);
    return -EPERM;
  }
  return fd;
}
