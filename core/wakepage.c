/* wakepage.c - the one page readers may write: the "someone sleeps" flag.
 *
 * It is a System V shared-memory segment, not a file in /dev/shm. Any process that may write
 * a file may also ftruncate() it, and a writer whose mapping of a truncated file is touched
 * dies of SIGBUS: a hostile reader could kill the writer. A System V segment has a fixed size
 * that nobody can change, and only its owner (or root) can remove it or change its mode, so
 * the worst a reader can do with it is write the flag (docs/PROTOCOL.md, Hazards).
 *
 * The bus header holds the segment's id and its key. Ids are recycled after removal, so a
 * segment is this bus's wake page only when its key (fixed at creation, unchangeable) is the
 * header's, its size is one page and its owner is the bus's owner. Otherwise a reader goes
 * without (it then polls at the tick when it sleeps) and the writer makes a new one.
 *
 * The key is derived from the bus file's identity (inode, creation time), so that a segment
 * whose creator was killed before it could store the id in the header is found again, by the
 * next writer (which adopts it) and by shmbus_unlink() (which removes it): nothing leaks. If
 * another user took that key first, the writer falls back to random keys. */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/random.h>
#include <sys/shm.h>

#include "core/internal.h"

/* 0 if segment @id has key @key, one page, and owner and creator @uid (a bus's wake page),
 * else -1. The creator too: the creator of a segment keeps full control of it (IPC_SET,
 * IPC_RMID) after giving it to another uid with IPC_SET, and the key is predictable, so a
 * segment created by someone else and handed to @uid is not the bus's. */
static int check_ids(int id, int32_t key, uid_t uid) {
  struct shmid_ds ds;
  if (id < 0 || key == IPC_PRIVATE || shmctl(id, IPC_STAT, &ds) < 0) return -1;
  if (ds.shm_perm.__key != key || ds.shm_perm.uid != uid || ds.shm_perm.cuid != uid ||
      ds.shm_segsz != SHMBUS__WAKE_SIZE)
    return -1;
  return 0;
}

static int check(const struct shmbus__header *h, int id, uid_t uid) {
  return check_ids(id, atomic_load_explicit(&h->wake_key, memory_order_relaxed), uid);
}

static struct shmbus__wake *attach(const struct shmbus__header *h, uid_t uid) {
  int id = atomic_load_explicit(&h->wake_shmid, memory_order_acquire);
  void *w;
  if (check(h, id, uid) < 0) return NULL;
  w = shmat(id, NULL, 0);
  return w == (void *)-1 ? NULL : w;
}

struct shmbus__wake *shmbus__wake_attach(const struct shmbus__header *h, uid_t owner) {
  return attach(h, owner);
}

void shmbus__wake_detach(struct shmbus__wake *w) {
  if (w) shmdt(w);
}

/* The key a bus's wake page is first created with (FNV-1a of inode and creation time). */
int32_t shmbus__wake_key(const struct shmbus__header *h, ino_t ino) {
  uint64_t x = 1469598103934665603ull, parts[2] = {(uint64_t)ino, h->created_ns};
  const unsigned char *b = (const unsigned char *)parts;
  size_t i;
  for (i = 0; i < sizeof parts; i++) x = (x ^ b[i]) * 1099511628211ull;
  x ^= x >> 32;
  return (int32_t)x == IPC_PRIVATE ? 1 : (int32_t)x;
}

/* The writer's side: reuse the bus's wake page (or an orphan at the derived key), or make
 * one; set its mode and group. @ino: the records object's inode.
 * Return: 0 and *@out; a negative errno (-ENOSPC when the system's SysV limits are hit). */
int shmbus__wake_open(struct shmbus__header *h, ino_t ino, mode_t mode, gid_t gid,
                      struct shmbus__wake **out) {
  struct shmid_ds ds;
  struct shmbus__wake *w = attach(h, geteuid());
  int id = atomic_load(&h->wake_shmid), attempt;
  if (w == NULL) {
    for (attempt = 0;; attempt++) {
      int32_t key = shmbus__wake_key(h, ino);
      if (attempt > 0 && getrandom(&key, sizeof key, 0) != sizeof key)
        key = (int32_t)shmbus__now(CLOCK_MONOTONIC);
      if (key == IPC_PRIVATE) continue;
      /* Publish the key before the segment exists: a death in between leaves it findable. */
      atomic_store_explicit(&h->wake_key, key, memory_order_relaxed);
      shmbus__step(140); /* test hook: the key is in the header, no segment yet */
      id = shmget((key_t)key, SHMBUS__WAKE_SIZE, IPC_CREAT | IPC_EXCL | 0600);
      if (id >= 0) break;
      if (errno == EEXIST) {
        id = shmget((key_t)key, 0, 0); /* an orphan of a killed predecessor? */
        if (check_ids(id, key, geteuid()) == 0) break;
      }
      if ((errno != EEXIST && errno != EACCES) || attempt == 16)
        return errno == ENOSPC || errno == ENOMEM ? -ENOSPC : -errno;
    }
    shmbus__step(141); /* test hook: the segment exists, its id is not in the header */
    w = shmat(id, NULL, 0);
    if (w == (void *)-1) {
      int e = -errno;
      shmctl(id, IPC_RMID, NULL);
      return e;
    }
    shmbus__step(142); /* test hook: attached; its id is still not in the header */
    atomic_store_explicit(&h->wake_shmid, id, memory_order_release);
  }
  if (shmctl(id, IPC_STAT, &ds) == 0) {
    ds.shm_perm.mode = mode;
    if (gid != (gid_t)-1) ds.shm_perm.gid = gid;
    if (shmctl(id, IPC_SET, &ds) < 0) {
      int e = -errno;
      shmdt(w);
      return e;
    }
  }
  *out = w;
  return 0;
}

/* Remove the wake page @id with key @key, owned like the bus by @owner (the owner or root
 * may); attached readers keep it until they detach. When @id does not match (a writer died
 * before storing it), the segment is looked up by @key. */
void shmbus__wake_remove_ids(int id, int32_t key, uid_t owner) {
  if (check_ids(id, key, owner) != 0 && key != IPC_PRIVATE) id = shmget((key_t)key, 0, 0);
  if (check_ids(id, key, owner) == 0) shmctl(id, IPC_RMID, NULL);
}

void shmbus__wake_remove(const struct shmbus__header *h, uid_t owner) {
  shmbus__wake_remove_ids(atomic_load(&h->wake_shmid), atomic_load(&h->wake_key), owner);
}
