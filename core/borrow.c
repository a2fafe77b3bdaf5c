/* borrow.c - zero-copy reads: a reader borrows a record in its slot instead of copying it
 * (core/shmbus.h, "zero-copy reads"; docs/PROTOCOL.md, Borrowed reads).
 *
 * A borrow is the copying read (core/subscriber.c, try_read()) cut in two: shmbus_sub_borrow()
 * performs its first half and checks the slot's header under the seqlock; the caller then
 * reads the payload through relaxed atomic loads (shmbus_borrow_load64(), shmbus_borrow_copy()),
 * and shmbus_sub_borrow_valid() performs the second half (core/seqslot.h) as often as the
 * caller likes. The cursor, the lost counts and the pollable descriptor are moved by the very
 * code of shmbus_sub_next() and shmbus_sub_read_latest() (shmbus__sub_borrow()).
 */
#include <errno.h>
#include <string.h>

#include "core/copy.h"
#include "core/internal.h"
#include "core/seqslot.h"

static void clear(struct shmbus_borrow *b) { memset(b, 0, sizeof *b); }

int shmbus_sub_borrow(shmbus_sub *s, int mode, struct shmbus_borrow *b) {
  struct shmbus_record_info info;
  struct shmbus__borrowed bw;
  ssize_t rc;
  if (b == NULL) return -EINVAL;
  clear(b);
  if (s == NULL || (mode != SHMBUS_BORROW_NEXT && mode != SHMBUS_BORROW_LATEST)) return -EINVAL;
  rc = shmbus__sub_borrow(s, mode == SHMBUS_BORROW_LATEST, &info, &bw);
  if (rc < 0) return (int)rc;
  b->data = bw.slot->payload;
  b->version = info.version;
  b->length = info.length;
  b->timestamp_ns = info.timestamp_ns;
  b->lost = info.lost;
  b->priv_slot = bw.slot;
  b->priv_seq = bw.seq;
  b->priv_next = mode == SHMBUS_BORROW_NEXT;
  return 0;
}

/* The seqlock's second half (shmbus__seq_read_retry(): its acquire fence pairs with the
 * release fence in shmbus__seq_write_begin()). The first half is the acquire load of seq in
 * try_read(), which pairs with shmbus__seq_write_end(). A lapped slot's seq only grows, so a
 * borrow that failed once fails for ever. */
int shmbus_sub_borrow_valid(const struct shmbus_borrow *b) {
  if (b == NULL || b->priv_slot == NULL) return 0;
  return !shmbus__seq_read_retry((const struct shmbus__slot *)b->priv_slot, b->priv_seq);
}

int shmbus_sub_borrow_release(shmbus_sub *s, struct shmbus_borrow *b) {
  int valid;
  if (s == NULL || b == NULL || b->priv_slot == NULL) return -EINVAL;
  valid = shmbus_sub_borrow_valid(b);
  /* A lapped borrow is a lost record: reported with the next record read, as the records
   * next() skips (subscriber.c: lost_pending, then lost_total for the registry). */
  if (!valid) s->lost_pending++;
  clear(b);
  return valid ? 0 : -ECANCELED;
}

int shmbus_borrow_copy(const struct shmbus_borrow *b, size_t offset, void *dst, size_t len) {
  const _Atomic uint64_t *w;
  unsigned char *d = dst;
  size_t head, n;
  uint64_t word;
  if (b == NULL || b->data == NULL || (dst == NULL && len > 0)) return -EINVAL;
  if (offset > b->length || len > b->length - offset) return -EINVAL;
  w = (const _Atomic uint64_t *)b->data + offset / 8;
  head = offset % 8;
  if (head != 0 && len > 0) { /* the first word, from byte @head (loaded whole: in the slot) */
    n = len < 8 - head ? len : 8 - head;
    word = atomic_load_explicit(w, memory_order_relaxed);
    memcpy(d, (unsigned char *)&word + head, n);
    w++;
    d += n;
    len -= n;
  }
  /* Whole words, then a last partial word loaded whole: the slot is padded to 64 bytes, so
   * the word holding the record's last byte is inside it (core/copy.h). */
  shmbus__copy_out(d, w, len);
  return 0;
}
