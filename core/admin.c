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

int shmbus_bus_layout(const char *name) {
  char path[SHMBUS__PATH_MAX];
  unsigned char head[12];
  struct stat st;
  uint32_t version;
  int fd, rc = shmbus__path(path, SHMBUS__PREFIX_BUS, name);
  if (rc < 0) return rc;
  fd = shmbus__open_file(path, O_RDONLY, 0, &st);
  if (fd < 0) return fd == -ELOOP ? -EPROTO : fd;
  rc = pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head ? 0 : -EPROTO;
  close(fd);
  if (rc < 0 || memcmp(head, SHMBUS__MAGIC, 8) != 0) return -EPROTO;
  memcpy(&version, head + 8, 4);
  return version == 0 || version > INT32_MAX ? -EPROTO : (int)version;
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
    if (sscanf(line, "%*d: %15s %*s %15s %d %x:%x:%llu", type, access, &pid, &maj, &min, &ino) != 6)
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

/* lock_for_remove() - take bus @lock's writer lock for shmbus_unlink(), on the object that is
 * at the path right now (take_lock() in publisher.c is the other end). When there is no lock
 * object, make one (owned by @owner, the bus's owner, so that a writer of the bus accepts it)
 * and lock it: with none, a writer starting meanwhile would create its own, and its new bus or
 * its temporary file would be removed under it. *@created says we made it.
 * Return: the locked descriptor; -EPROTO (not a regular file: junk, nobody's lock); -EBUSY (a
 *         live writer holds it); -EAGAIN; another negative errno. */
static int lock_for_remove(const char *lock, uid_t owner, int *created) {
  int fd, attempt, rc;
  for (attempt = 0; attempt < 16; attempt++) {
    *created = 0;
    fd = shmbus__open_file(lock, O_RDONLY, 0, NULL);
    if (fd == -ENOENT) {
      fd = shmbus__open_file(lock, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
      if (fd == -EEXIST) continue; /* a writer made one meanwhile: lock that one */
      if (fd >= 0) *created = 1;
      if (fd >= 0 && owner != geteuid() && fchown(fd, owner, (gid_t)-1) < 0) {
        rc = -errno;
        unlink(lock);
        close(fd);
        return rc;
      }
    }
    if (fd < 0) return fd == -ELOOP ? -EPROTO : fd;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
      rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
      close(fd);
      return rc;
    }
    rc = shmbus__lock_check(fd, lock);
    if (rc == 0) return fd;
    close(fd); /* a remove and a new writer ran between our open and our flock: again */
    if (rc != -ESTALE) return rc;
  }
  return -EAGAIN;
}

/* shmbus_unlink() holds the bus's writer lock while it unlinks the two names, and unlinks the
 * lock object only while it holds the lock on that very object (or when @force): a writer that
 * opened the lock object before the unlink and flocks it after sees that the path no longer
 * names its file and starts again (take_lock()), so two writers never both hold the bus. */
int shmbus_unlink(const char *name, int force) {
  char bus[SHMBUS__PATH_MAX], lock[SHMBUS__PATH_MAX];
  struct shmbus__geom g;
  struct stat st;
  uid_t owner = geteuid();
  int fd, lfd, rc, found = 0, created = 0;
  if ((rc = shmbus__path(bus, SHMBUS__PREFIX_BUS, name)) < 0 ||
      (rc = shmbus__path(lock, SHMBUS__PREFIX_LOCK, name)) < 0)
    return rc;
  if (lstat(bus, &st) == 0) {
    /* Only the owner or root may remove it (/dev/shm is sticky): nobody else takes its lock. */
    if (geteuid() != 0 && geteuid() != st.st_uid) return -EPERM;
    owner = st.st_uid;
  }
  lfd = lock_for_remove(lock, owner, &created);
  if (lfd == -EBUSY && !force) return -EBUSY; /* a live writer */
  if (lfd < 0 && lfd != -EBUSY && lfd != -EPROTO) return lfd;
  shmbus__step(102); /* test hook: the lock is ours (unless forced or junk), nothing removed */
  /* Open it first, unlink the names, then tell readers (and a forced-out writer) through the
   * open descriptor: a reader told "replaced or removed" that reopens at once must find no
   * bus, not the old one still flagged. */
  fd = shmbus__open_file(bus, O_RDWR, 0, NULL);
  if (fd == -EACCES || fd == -EPERM) fd = shmbus__open_file(bus, O_RDONLY, 0, NULL);
  rc = 0;
  /* Temporaries are made only under the lock: ours now, a junk lock nobody can take, or a
   * forced-out writer's. */
  if (shmbus__remove_temporaries(name) > 0) found = 1;
  if (unlink(bus) == 0) found = 1;
  else if (errno != ENOENT) rc = -errno;
  /* Our lock object (or, forced, the live writer's, or junk): never one we do not hold. */
  if (unlink(lock) == 0) found |= !created;
  else if (errno != ENOENT && rc == 0) rc = -errno;
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
  if (lfd >= 0) close(lfd); /* releases the lock: a waiting writer now finds no lock object */
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
