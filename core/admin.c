/* admin.c - looking at buses from outside, and removing them. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/internal.h"

int shmbus_stat(const char *name, struct shmbus_bus_info *info) {
  shmbus_sub *s;
  int rc;
  if (info == NULL) return -EINVAL;
  rc = shmbus__sub_open(name, 0, 0, &s); /* not counted among the readers */
  if (rc < 0) return rc;
  rc = shmbus_sub_info(s, info);
  shmbus_sub_close(s);
  return rc;
}

/* shmbus_lock_holder() reads /proc/locks rather than probing the lock with flock(LOCK_SH):
 * a probe, however short, would make a writer starting at that moment fail with -EBUSY.
 * Lines look like "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"; "->" lines are waiters. */
pid_t shmbus_lock_holder(const char *name) {
  char path[SHMBUS__PATH_MAX], line[256];
  struct stat st;
  pid_t holder = 0;
  FILE *f;
  int rc = shmbus__path(path, SHMBUS__PREFIX_LOCK, name);
  if (rc < 0) return rc;
  if (stat(path, &st) < 0) return errno == ENOENT ? 0 : -errno;
  f = fopen("/proc/locks", "re");
  if (f == NULL) return -errno;
  while (holder == 0 && fgets(line, sizeof line, f) != NULL) {
    char type[16], access[16];
    unsigned maj, min;
    unsigned long long ino;
    int pid;
    if (strstr(line, "->") != NULL) continue;
    if (sscanf(line, "%*d: %15s %*s %15s %d %x:%x:%llu", type, access, &pid, &maj, &min,
               &ino) != 6)
      continue;
    if (strcmp(type, "FLOCK") == 0 && strcmp(access, "WRITE") == 0 && ino == st.st_ino &&
        maj == major(st.st_dev) && min == minor(st.st_dev))
      holder = pid;
  }
  fclose(f);
  return holder;
}

/* shmbus__remove_temporaries() - unlink "shmbus.NAME~PID-RANDOM" objects: what a writer killed while
 * creating or replacing bus @name left behind (they never got their name). Only a holder of the
 * bus's lock makes them, so the caller must hold it or know that no live writer does.
 * Return: the number removed, or a negative errno. */
int shmbus__remove_temporaries(const char *name) {
  char path[SHMBUS__PATH_MAX + 16];
  size_t plen = sizeof SHMBUS__PREFIX_BUS - 1, nlen = strlen(name);
  struct dirent *e;
  int removed = 0;
  DIR *d = opendir(SHMBUS__DIR);
  if (d == NULL) return -errno;
  while ((e = readdir(d)) != NULL) {
    const char *p = e->d_name;
    if (strncmp(p, SHMBUS__PREFIX_BUS, plen) != 0 || strncmp(p + plen, name, nlen) != 0 ||
        p[plen + nlen] != '~' || p[plen + nlen + 1] == '\0' ||
        strspn(p + plen + nlen + 1, "0123456789abcdef-") != strlen(p + plen + nlen + 1))
      continue;
    snprintf(path, sizeof path, "%s%s", SHMBUS__DIR, p);
    if (unlink(path) == 0) removed++;
  }
  closedir(d);
  return removed;
}

int shmbus_unlink(const char *name, int force) {
  char bus[SHMBUS__PATH_MAX], lock[SHMBUS__PATH_MAX];
  struct shmbus__geom g;
  struct stat st;
  int fd, rc, found = 0;
  pid_t holder;
  if ((rc = shmbus__path(bus, SHMBUS__PREFIX_BUS, name)) < 0 ||
      (rc = shmbus__path(lock, SHMBUS__PREFIX_LOCK, name)) < 0)
    return rc;
  holder = shmbus_lock_holder(name);
  if (holder != 0 && !force) return holder > 0 ? -EBUSY : holder; /* a writer, or unknown */
  /* Open it first, unlink the names, then tell readers (and a forced-out writer) through the
   * open descriptor: a reader told "replaced or removed" that reopens at once must find no
   * bus, not the old one still flagged. */
  fd = open(bus, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fd = open(bus, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  rc = 0;
  if (shmbus__remove_temporaries(name) > 0) found = 1;
  if (unlink(bus) == 0) found = 1; else if (errno != ENOENT) rc = -errno;
  if (unlink(lock) == 0) found = 1; else if (errno != ENOENT && rc == 0) rc = -errno;
  if (fd >= 0) {
    int32_t ids[2];
    if (rc == 0 && shmbus__validate(fd, &g, &st) == 0) {
      struct shmbus__header *h =
          mmap(NULL, SHMBUS__HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (h != MAP_FAILED) {
        atomic_fetch_or_explicit(&h->flags, SHMBUS__FLAG_REPLACED, memory_order_release);
        shmbus__kick(h, st.st_uid);
        munmap(h, SHMBUS__HEADER_SIZE);
      }
    }
    /* The wake page, even of a corrupt header: its id and key, checked against the segment. */
    if (rc == 0 && fstat(fd, &st) == 0 && pread(fd, ids, sizeof ids, 216) == (ssize_t)sizeof ids)
      shmbus__wake_remove_ids(ids[0], ids[1], st.st_uid);
    close(fd);
  }
  if (rc < 0) return rc;
  return found ? 0 : -ENOENT;
}

int shmbus_list(int (*cb)(const char *name, void *arg), void *arg) {
  const size_t plen = sizeof SHMBUS__PREFIX_BUS - 1;
  struct dirent *e;
  int rc = 0;
  DIR *d;
  if (cb == NULL) return -EINVAL;
  d = opendir(SHMBUS__DIR);
  if (d == NULL) return -errno;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, SHMBUS__PREFIX_BUS, plen) != 0) continue;
    if (shmbus_name_check(e->d_name + plen) != 0) continue; /* "NAME~PID" temporaries */
    rc = cb(e->d_name + plen, arg);
  }
  closedir(d);
  return rc;
}

int shmbus_path(const char *name, char *buf, size_t n) {
  char path[SHMBUS__PATH_MAX];
  int rc = shmbus__path(path, SHMBUS__PREFIX_BUS, name);
  if (rc < 0) return rc;
  if (buf == NULL || strlen(path) >= n) return -ENAMETOOLONG;
  memcpy(buf, path, strlen(path) + 1);
  return 0;
}
