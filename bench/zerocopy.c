/* zerocopy.c - shmbus's zero-copy rows: see zerocopy.h. */
#include "bench/zerocopy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/shmbus.h"

#define ZC_HEAD 16 /* the harness's record header: t0, record number */

struct zc_state {
  char name[64];
  shmbus_pub *pub; /* the writer's; readers inherit the pointer across fork and never use it */
  shmbus_sub *sub; /* a reader's own */
};

static int zc_setup(void **st, const struct lat_cfg *c, struct bench_ctl *ctl) {
  struct shmbus_pub_opts o;
  struct zc_state *s = calloc(1, sizeof *s);
  int rc;
  (void)ctl;
  if (s == NULL) return -ENOMEM;
  shmbus_pub_opts_init(&o);
  o.slots = 8;
  o.capacity = c->size;
  o.type = "bench-zc";
  snprintf(s->name, sizeof s->name, "bench-zc-%d-%d", (int)getpid(), rand() % 1000000);
  rc = shmbus_pub_open(s->name, &o, &s->pub);
  if (rc < 0) {
    free(s);
    return rc;
  }
  *st = s;
  return 0;
}

static int zc_reader_open(void *st, int idx, const struct lat_cfg *c) {
  struct zc_state *s = st;
  int rc;
  (void)idx;
  (void)c;
  rc = shmbus_sub_open(s->name, 0, &s->sub);
  if (rc < 0) return rc;
  return shmbus_sub_seek(s->sub, SHMBUS_SEEK_NEW);
}

static int zc_recv(void *st, int idx, void *buf, size_t size, int mode) {
  struct zc_state *s = st;
  int wm = mode == BENCH_SPIN    ? SHMBUS_WAIT_SPIN
           : mode == BENCH_SLEEP ? SHMBUS_WAIT_SLEEP
                                 : SHMBUS_WAIT_HYBRID;
  size_t head = size < ZC_HEAD ? size : ZC_HEAD;
  (void)idx;
  for (;;) {
    struct shmbus_borrow b;
    int rc = shmbus_sub_wait(s->sub, -1, wm);
    if (rc < 0) return rc;
    rc = shmbus_sub_borrow(s->sub, SHMBUS_BORROW_NEXT, &b);
    if (rc == -EAGAIN) continue;
    if (rc < 0) return rc;
    if (b.length != size) {
      shmbus_sub_borrow_release(s->sub, &b);
      return -EBADMSG;
    }
    rc = shmbus_borrow_copy(&b, 0, buf, head);
    /* The decision (this record, these bytes) only after the check. A lap here would need
     * 7 publishes during one delivery: the harness publishes one record per ack. */
    if (rc == 0 && !shmbus_sub_borrow_valid(&b)) rc = -ECANCELED;
    shmbus_sub_borrow_release(s->sub, &b);
    return rc;
  }
}

static void zc_reader_close(void *st, int idx) {
  (void)idx;
  shmbus_sub_close(((struct zc_state *)st)->sub);
}

static int zc_writer_open(void *st, const struct lat_cfg *c) {
  (void)st;
  (void)c;
  return 0;
}

static int zc_send(void *st, const void *buf, size_t size) {
  struct zc_state *s = st;
  void *where;
  int rc = shmbus_pub_reserve(s->pub, size, &where);
  if (rc == 0) rc = shmbus_pub_store(s->pub, 0, buf, size < ZC_HEAD ? size : ZC_HEAD);
  if (rc == 0) rc = shmbus_pub_commit(s->pub, size);
  return rc;
}

static void zc_teardown(void *st) {
  struct zc_state *s = st;
  shmbus_pub_close(s->pub);
  shmbus_unlink(s->name, 1);
  free(s);
}

const struct transport shmbus_zc_transport = {
    .name = "shmbus-zc",
    .max_readers = BENCH_MAX_READERS,
    .setup = zc_setup,
    .reader_open = zc_reader_open,
    .recv = zc_recv,
    .reader_close = zc_reader_close,
    .writer_open = zc_writer_open,
    .send = zc_send,
    .teardown = zc_teardown,
};

/* ---------------------------------------------------------------- targets */

static double p50_ratio(const struct row *a, const struct row *b) {
  return a && b && b->p50 ? (double)a->p50 / (double)b->p50 : -1;
}

static void target(FILE *f, const char *what, double x, int met) {
  if (x < 0) fprintf(f, "| %s | n/a | not measured |\n", what);
  else fprintf(f, "| %s | %.2fx | %s |\n", what, x, met ? "met" : "MISSED");
}

void zc_targets(const struct report *r, FILE *f) {
  static const size_t sizes[] = {8, 64, 4096, 65536, 1048576};
  static const char *modes[] = {"spin", "sleep"};
  const struct row *u = report_find(r, "unix-socket", "sleep", 1048576, 1);
  size_t i, m;
  double x;
  if (report_find(r, "shmbus-zc", NULL, 0, 1) == NULL) return;
  fprintf(f, "\n### Zero-copy (reserve/store/commit writer, borrowing reader), same run\n\n");
  fprintf(f, "| size | zc spin p50 (us) | copying spin p50 | zc / copying | zc sleep p50 (us) |"
             " copying sleep p50 | zc / copying |\n|---|---|---|---|---|---|---|\n");
  for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    fprintf(f, "| %s |", size_str_b(sizes[i]));
    for (m = 0; m < 2; m++) {
      const struct row *z = report_find(r, "shmbus-zc", modes[m], sizes[i], 1);
      const struct row *c = report_find(r, "shmbus", modes[m], sizes[i], 1);
      if (z) fprintf(f, " %.2f |", (double)z->p50 / 1e3);
      else fprintf(f, " n/a |");
      if (c) fprintf(f, " %.2f |", (double)c->p50 / 1e3);
      else fprintf(f, " n/a |");
      x = p50_ratio(z, c);
      if (x < 0) fprintf(f, " n/a |");
      else fprintf(f, " %.2fx |", x);
    }
    fprintf(f, "\n");
  }
  fprintf(f, "\n| target (issue 17) | measured | |\n|---|---|---|\n");
  for (m = 0; m < 2; m++) {
    char what[96];
    x = p50_ratio(report_find(r, "shmbus-zc", modes[m], 1048576, 1),
                  report_find(r, "shmbus-zc", modes[m], 64, 1));
    snprintf(what, sizeof what, "zero-copy %s p50 at 1 MiB <= 2x at 64 B", modes[m]);
    target(f, what, x, x <= 2.0);
  }
  x = p50_ratio(u, report_find(r, "shmbus-zc", "sleep", 1048576, 1));
  target(f, "unix socket p50 >= 10x zero-copy sleep p50 at 1 MiB", x, x >= 10.0);
}
