/* shmbus_lat.c - shmbus as a latency transport, writer throughput, copy cost; see the header. */
#include "bench/shmbus_lat.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/floors.h"
#include "core/shmbus.h"

struct sb_state {
  char name[64];
  shmbus_pub *pub; /* the writer's; readers inherit the pointer across fork and never use it */
  shmbus_sub *sub; /* a reader's own */
};

static void bus_name(char *buf, size_t n) {
  snprintf(buf, n, "bench-%d-%d", (int)getpid(), rand() % 1000000);
}

static int open_bus(struct sb_state *s, size_t size) {
  struct shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.slots = 8;
  o.capacity = size;
  o.type = "bench";
  bus_name(s->name, sizeof s->name);
  return shmbus_pub_open(s->name, &o, &s->pub);
}

static void close_bus(struct sb_state *s) {
  shmbus_pub_close(s->pub);
  shmbus_unlink(s->name, 1);
}

static int sb_setup(void **st, const struct lat_cfg *c, struct bench_ctl *ctl) {
  struct sb_state *s = calloc(1, sizeof *s);
  int rc;
  (void)ctl;
  if (s == NULL) return -ENOMEM;
  rc = open_bus(s, c->size);
  if (rc < 0) {
    free(s);
    return rc;
  }
  *st = s;
  return 0;
}

static int sb_reader_open(void *st, int idx, const struct lat_cfg *c) {
  struct sb_state *s = st;
  int rc;
  (void)idx;
  (void)c;
  rc = shmbus_sub_open(s->name, 0, &s->sub);
  if (rc < 0) return rc;
  return shmbus_sub_seek(s->sub, SHMBUS_SEEK_NEW);
}

static int wait_mode(int mode) {
  return mode == BENCH_SPIN    ? SHMBUS_WAIT_SPIN
         : mode == BENCH_SLEEP ? SHMBUS_WAIT_SLEEP
                               : SHMBUS_WAIT_HYBRID;
}

static int sb_recv(void *st, int idx, void *buf, size_t size, int mode) {
  struct sb_state *s = st;
  (void)idx;
  for (;;) {
    ssize_t n;
    int rc = shmbus_sub_wait(s->sub, -1, wait_mode(mode));
    if (rc < 0) return rc;
    n = shmbus_sub_next(s->sub, buf, size, NULL);
    if (n == -EAGAIN) continue;
    if (n < 0) return (int)n;
    return (size_t)n == size ? 0 : -EBADMSG;
  }
}

static void sb_reader_close(void *st, int idx) {
  (void)idx;
  shmbus_sub_close(((struct sb_state *)st)->sub);
}

static int sb_writer_open(void *st, const struct lat_cfg *c) {
  (void)st;
  (void)c;
  return 0;
}

static int sb_send(void *st, const void *buf, size_t size) {
  return shmbus_pub_publish(((struct sb_state *)st)->pub, buf, size);
}

static void sb_teardown(void *st) {
  close_bus(st);
  free(st);
}

const struct transport shmbus_transport = {
    .name = "shmbus",
    .max_readers = BENCH_MAX_READERS,
    .setup = sb_setup,
    .reader_open = sb_reader_open,
    .recv = sb_recv,
    .reader_close = sb_reader_close,
    .writer_open = sb_writer_open,
    .send = sb_send,
    .teardown = sb_teardown,
};

/* ---------------------------------------------------------------- throughput */

static void __attribute__((noreturn))
tput_reader(struct sb_state *s, struct bench_ctl *ctl, int idx, int mode, size_t size) {
  unsigned char *buf = malloc(size);
  uint64_t got = 0;
  int rc;
  bench_pin_reader(idx);
  alarm(120);
  if (buf == NULL) bench_fail(ctl, "throughput reader: out of memory");
  rc = shmbus_sub_open(s->name, 0, &s->sub);
  if (rc < 0) bench_fail(ctl, "throughput reader: cannot open the bus: %s", shmbus_strerror(rc));
  shmbus_sub_seek(s->sub, SHMBUS_SEEK_NEW);
  atomic_fetch_add(&ctl->ready, 1);
  while (!atomic_load_explicit(&ctl->stop, memory_order_relaxed)) {
    rc = shmbus_sub_wait(s->sub, 10000000,
                         mode == BENCH_SPIN ? SHMBUS_WAIT_SPIN : SHMBUS_WAIT_SLEEP);
    if (rc == -ETIMEDOUT) continue;
    if (rc < 0) bench_fail(ctl, "throughput reader: wait failed: %s", shmbus_strerror(rc));
    while (shmbus_sub_next(s->sub, buf, size, NULL) >= 0) got++;
  }
  atomic_store(&ctl->received[idx], got);
  shmbus_sub_close(s->sub);
  _exit(0);
}

/* Fork @readers throughput readers and wait until every one has opened the bus; *@started
 * counts those forked. Return: 0; a negative errno with a sentence in @err. */
static int start_tput_readers(struct sb_state *s, struct bench_ctl *ctl, int readers, int mode,
                              size_t size, pid_t *pids, int *started, char *err, size_t errlen) {
  int64_t deadline;
  int r;
  fflush(NULL);
  for (r = 0; r < readers; r++) {
    pids[r] = fork();
    if (pids[r] == 0) tput_reader(s, ctl, r, mode, size);
    if (pids[r] < 0) {
      int e = errno;
      snprintf(err, errlen, "throughput: fork failed: %s", strerror(e));
      return -e;
    }
    (*started)++;
  }
  bench_pin_writer();
  deadline = bench_now() + 10000000000LL;
  while ((int)atomic_load(&ctl->ready) < readers && bench_now() < deadline) usleep(200);
  if ((int)atomic_load(&ctl->ready) < readers) {
    snprintf(err, errlen, "throughput: readers did not start: %s", ctl->err);
    return -ETIMEDOUT;
  }
  return 0;
}

/* Publish @size-byte records from @buf back to back for @duration_ns after a warm-up, timing
 * batches of 32 into @cost; *@n counts the timed publishes. Return: publishes per second. */
static double time_publishes(shmbus_pub *pub, unsigned char *buf, size_t size, int64_t duration_ns,
                             struct hist *cost, long *n) {
  int64_t t0, t1, start;
  long i;
  for (i = 0; i < 1000; i++) shmbus_pub_publish(pub, buf, size); /* warm-up */
  hist_reset(cost);
  start = bench_now();
  do {
    t0 = bench_now();
    for (i = 0; i < 32; i++) {
      memcpy(buf, n, sizeof *n);
      shmbus_pub_publish(pub, buf, size);
      (*n)++;
    }
    t1 = bench_now();
    hist_add(cost, (uint64_t)(t1 - t0) / 32);
  } while (t1 - start < duration_ns);
  return (double)*n * 1e9 / (double)(t1 - start);
}

/* Wait for the @started readers (killed first when @rc < 0: only those forked here).
 * Return: @rc, or -ECHILD with a sentence in @err when a reader failed after a success. */
static int reap_tput_readers(const pid_t *pids, int started, int rc, struct bench_ctl *ctl,
                             char *err, size_t errlen) {
  int r, status;
  for (r = 0; r < started; r++) {
    if (rc < 0) kill(pids[r], SIGKILL);
    if (waitpid(pids[r], &status, 0) == pids[r] && (!WIFEXITED(status) || WEXITSTATUS(status)) &&
        rc == 0) {
      rc = -ECHILD;
      snprintf(err, errlen, "throughput: %s", ctl->err[0] ? ctl->err : "a reader died");
    }
  }
  return rc;
}

int run_throughput(size_t size, int readers, int mode, int64_t duration_ns, struct hist *cost,
                   double *per_s, double *seen, char *err, size_t errlen) {
  struct bench_ctl *ctl = bench_ctl_new(readers > 0 ? readers : 1);
  struct sb_state s;
  pid_t pids[BENCH_MAX_READERS];
  unsigned char *buf = calloc(1, size);
  long n = 0;
  int r, rc, started = 0;
  uint64_t got = 0;

  err[0] = 0;
  memset(&s, 0, sizeof s);
  if (ctl == NULL || buf == NULL) {
    free(buf);
    bench_ctl_free(ctl, readers > 0 ? readers : 1);
    return -ENOMEM;
  }
  rc = open_bus(&s, size);
  if (rc < 0) snprintf(err, errlen, "throughput: cannot create a bus: %s", shmbus_strerror(rc));
  else rc = start_tput_readers(&s, ctl, readers, mode, size, pids, &started, err, errlen);
  if (rc == 0) {
    *per_s = time_publishes(s.pub, buf, size, duration_ns, cost, &n);
    atomic_store(&ctl->stop, 1);
    shmbus_pub_publish(s.pub, buf, size); /* wakes any sleeper so it sees stop */
  }
  rc = reap_tput_readers(pids, started, rc, ctl, err, errlen);
  for (r = 0; r < readers; r++) got += atomic_load(&ctl->received[r]);
  *seen = readers > 0 && n > 0 ? (double)got / ((double)n * readers) : 0;
  if (s.pub) close_bus(&s);
  free(buf);
  bench_ctl_free(ctl, readers > 0 ? readers : 1);
  return rc;
}

/* ---------------------------------------------------------------- copy cost */

int run_copy_compare(size_t size, long samples, struct hist h[COPY_VARIANTS], char *err,
                     size_t errlen) {
  struct sb_state s;
  size_t n = (size + 63) & ~(size_t)63;
  /* The destination sits half a page past the source's page offset, as a reader's malloc'd
   * buffer is offset from a slot's payload. Equal or close offsets make loads that run ahead
   * of pending stores falsely alias them (4K aliasing), a stall no real reader sees. */
  size_t alloc = (n + 2 * 4096 - 1) & ~(size_t)4095; /* C11: a multiple of the alignment */
  unsigned char *src = aligned_alloc(4096, alloc), *dbase = aligned_alloc(4096, alloc);
  unsigned char *dst = dbase ? dbase + 2112 : NULL;
  long i, j, batch = bench_batch(size);
  int rc, k;
  memset(&s, 0, sizeof s);
  err[0] = 0;
  if (src == NULL || dbase == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  memset(src, 0x5a, n);
  memset(dbase, 0, alloc);
  rc = open_bus(&s, size);
  if (rc < 0) {
    snprintf(err, errlen, "copy: cannot create a bus: %s", shmbus_strerror(rc));
    goto out;
  }
  rc = shmbus_pub_publish(s.pub, src, size);
  if (rc == 0) rc = shmbus_sub_open(s.name, 0, &s.sub);
  if (rc < 0) {
    snprintf(err, errlen, "copy: %s", shmbus_strerror(rc));
    close_bus(&s);
    goto out;
  }
  for (k = 0; k < COPY_VARIANTS; k++) hist_reset(&h[k]);
  /* Round robin, sample by sample: whatever the host does to this vCPU hits every variant. */
  for (i = -samples / 10; i < samples && rc == 0; i++) { /* first tenth: warm-up */
    for (k = 0; k < COPY_VARIANTS; k++) {
      int64_t t0 = bench_now(), t1;
      for (j = 0; j < batch; j++) {
        if (k < COPY_SHMBUS_READ) copy_kernel(k, dst, src, size);
        else if (shmbus_sub_read_latest(s.sub, dst, size, NULL) != (ssize_t)size) rc = -EBADMSG;
      }
      t1 = bench_now();
      if (i >= 0) hist_add(&h[k], (uint64_t)(t1 - t0) / (uint64_t)batch);
    }
  }
  if (rc < 0) snprintf(err, errlen, "copy: read_latest did not return the record");
  shmbus_sub_close(s.sub);
  close_bus(&s);
out:
  free(src);
  free(dbase);
  return rc;
}

/* ---------------------------------------------------------------- syscalls */

static int tracepoint_id(void) {
  const char *paths[] = {"/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
                         "/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id"};
  unsigned i;
  for (i = 0; i < 2; i++) {
    FILE *f = fopen(paths[i], "r");
    int id;
    if (f == NULL) continue;
    if (fscanf(f, "%d", &id) != 1) id = -1;
    fclose(f);
    if (id >= 0) return id;
  }
  return -ENOENT;
}

long long count_publish_syscalls(size_t size, long n) {
  struct perf_event_attr a;
  struct sb_state s;
  unsigned char *buf = calloc(1, size);
  long long count = -1;
  long i;
  int fd, id = tracepoint_id(), rc;
  if (id < 0 || buf == NULL) {
    free(buf);
    return id < 0 ? id : -ENOMEM;
  }
  memset(&a, 0, sizeof a);
  a.type = PERF_TYPE_TRACEPOINT;
  a.size = sizeof a;
  a.config = (uint64_t)id;
  a.disabled = 1;
  a.exclude_hv = 1;
  fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0); /* this thread, any CPU */
  if (fd < 0) {
    free(buf);
    return -errno;
  }
  memset(&s, 0, sizeof s);
  rc = open_bus(&s, size);
  if (rc == 0) {
    for (i = 0; i < 1000; i++) shmbus_pub_publish(s.pub, buf, size); /* warm-up */
    ioctl(fd, PERF_EVENT_IOC_RESET, 0);
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
    for (i = 0; i < n; i++) shmbus_pub_publish(s.pub, buf, size);
    ioctl(fd, PERF_EVENT_IOC_DISABLE, 0); /* the enable/disable ioctls are counted: subtract */
    if (read(fd, &count, sizeof count) != (ssize_t)sizeof count) count = -EIO;
    close_bus(&s);
  } else {
    count = rc;
  }
  close(fd);
  free(buf);
  return count;
}

int publish_only(size_t size, long n) {
  struct sb_state s;
  unsigned char *buf = calloc(1, size);
  long i;
  int rc;
  if (buf == NULL) return -ENOMEM;
  memset(&s, 0, sizeof s);
  rc = open_bus(&s, size);
  if (rc == 0) {
    for (i = 0; i < n && rc == 0; i++) rc = shmbus_pub_publish(s.pub, buf, size);
    close_bus(&s);
  }
  free(buf);
  return rc;
}
