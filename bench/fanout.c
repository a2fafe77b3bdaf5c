/* fanout.c - waking N sleeping readers: the writer's call, the first and the last reader;
 * see fanout.h. */
#include "bench/fanout.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/harness.h"
#include "core/shmbus.h"

#define RECORD 64

/* The old design's switch: //core:shmbus_testing defines it (core/wake.h), the library proper
 * does not, and then its address is NULL. Only the writer's process ever sets it. */
extern int shmbus__fanout_writer __attribute__((weak));
static int lib_default = -1;

int fanout_switchable(void) { return &shmbus__fanout_writer != NULL; }

int fanout_library_default(void) {
  if (!fanout_switchable()) return 0;
  if (lib_default < 0) lib_default = shmbus__fanout_writer;
  return lib_default;
}

/* Shared by the writer and its readers (MAP_SHARED | MAP_ANONYMOUS before fork). */
struct fo_area {
  _Atomic uint32_t word __attribute__((aligned(64))); /* the floor's futex word */
  _Atomic int64_t stamp;                              /* the floor's record */
  _Atomic uint32_t turn[FANOUT_MAX_READERS] __attribute__((aligned(64))); /* record awaited */
  _Atomic int64_t arrival[FANOUT_MAX_READERS]; /* when it had its last record (CLOCK_MONOTONIC) */
};

struct fo_run {
  const struct fanout_cfg *c;
  struct bench_ctl *ctl; /* acks, ready, err: as the latency harness */
  struct fo_area *a;
  shmbus_pub *pub;
  char name[64];
  pid_t pids[FANOUT_MAX_READERS];
  int statfd[FANOUT_MAX_READERS];
  int started;
  long total; /* records: (warmup + rounds) x kinds */
  int kinds;
};

static int kind_of(const struct fo_run *r, long i) { return (int)(i % r->kinds); }

/* ---------------------------------------------------------------- the reader */

/* The floor: sleep on the plain word until it moves (acquire: pairs with the writer's
 * release increment), then load the stamp. Return: the time it has it. */
static int64_t floor_recv(struct fo_area *a, uint32_t *last) {
  uint32_t w;
  while ((w = atomic_load_explicit(&a->word, memory_order_acquire)) == *last)
    bench_futex_wait(&a->word, *last, 1000000000LL);
  *last = w;
  (void)atomic_load_explicit(&a->stamp, memory_order_relaxed);
  return bench_now();
}

/* shmbus: sleep, then copy the next record out. Return: the time it has it. */
static int64_t bus_recv(struct bench_ctl *ctl, shmbus_sub *sub, int64_t seq) {
  unsigned char buf[RECORD];
  for (;;) {
    int64_t t, got;
    ssize_t n;
    int rc = shmbus_sub_wait(sub, -1, SHMBUS_WAIT_SLEEP);
    if (rc < 0) bench_fail(ctl, "fanout reader: wait failed: %s", shmbus_strerror(rc));
    n = shmbus_sub_next(sub, buf, sizeof buf, NULL);
    if (n == -EAGAIN) continue;
    t = bench_now();
    if (n != RECORD) bench_fail(ctl, "fanout reader: read returned %zd", n);
    memcpy(&got, buf + 8, 8);
    if (got != seq)
      bench_fail(ctl, "fanout reader: got record %lld, expected %lld", (long long)got,
                 (long long)seq);
    return t;
  }
}

/* Acknowledge record @i; the one that completes it wakes the writer (as reader_main()). */
static void ack(struct bench_ctl *ctl, long i, int readers) {
  uint32_t target = (uint32_t)((i + 1) * readers);
  uint32_t n = atomic_fetch_add(&ctl->acks, 1) + 1; /* seq_cst: Dekker with writer_waiting */
  if (n == target && atomic_load(&ctl->writer_waiting)) bench_futex_wake(&ctl->acks, 1);
}

static void __attribute__((noreturn)) fo_reader(struct fo_run *r, int idx) {
  struct fo_area *a = r->a;
  uint32_t last_word;
  int64_t seq = 0, t;
  shmbus_sub *sub;
  long i;
  int rc;
  bench_pin_reader(idx);
  alarm((unsigned)(r->c->timeout_ns / 1000000000LL) + 10); /* never outlive a dead writer */
  rc = shmbus_sub_open(r->name, 0, &sub);
  if (rc < 0) bench_fail(r->ctl, "fanout reader: cannot open the bus: %s", shmbus_strerror(rc));
  shmbus_sub_seek(sub, SHMBUS_SEEK_NEW);
  last_word = atomic_load(&a->word);
  atomic_fetch_add(&r->ctl->ready, 1);
  for (i = 0; i < r->total; i++) {
    /* "I wait for record i": the writer sends it only once every reader says so. */
    atomic_store_explicit(&a->turn[idx], (uint32_t)i, memory_order_release);
    t = kind_of(r, i) == 0 ? floor_recv(a, &last_word) : bus_recv(r->ctl, sub, seq++);
    atomic_store_explicit(&a->arrival[idx], t, memory_order_relaxed); /* before the ack */
    ack(r->ctl, i, r->c->readers);
  }
  shmbus_sub_close(sub);
  _exit(0);
}

/* ---------------------------------------------------------------- asleep, checked */

/* 1 if every reader says it waits for record @i. */
static int all_turned(const struct fo_run *r, long i) {
  int k;
  for (k = 0; k < r->c->readers; k++)
    if (atomic_load_explicit(&r->a->turn[k], memory_order_acquire) != (uint32_t)i) return 0;
  return 1;
}

/* 1 if the bus's reader registry counts every reader, asleep. */
static int registry_asleep(const struct fo_run *r) {
  struct shmbus_bus_info info;
  return shmbus_pub_info(r->pub, &info) == 0 && info.readers == r->c->readers &&
         info.sleepers == r->c->readers;
}

/* 1 if the kernel shows every reader blocked (/proc/PID/stat state 'S'). */
static int all_blocked(const struct fo_run *r) {
  char line[512];
  int k;
  for (k = 0; k < r->c->readers; k++) {
    ssize_t n = pread(r->statfd[k], line, sizeof line, 0);
    if (n <= 0 || fanout_proc_state(line, (size_t)n) != 'S') return 0;
  }
  return 1;
}

#define BLOCKED_BUDGET_NS 20000000LL /* how long /proc may take to show every reader blocked */

/* Wait until every reader is asleep for record @i: each says it waits for it, and (shmbus
 * records) the registry counts N sleepers; then, right before the record, /proc should show
 * every reader blocked. Under load a reader woken by its 10 ms tick may wait for a CPU for a
 * while (the registry still counts it asleep): /proc gets BLOCKED_BUDGET_NS, then the record
 * goes anyway and is counted as unconfirmed. Return: 0 confirmed; 1 unconfirmed; -ETIMEDOUT;
 * -ECHILD. */
static int await_asleep(struct fo_run *r, long i, int64_t deadline) {
  int64_t until;
  while (!(all_turned(r, i) && (kind_of(r, i) == 0 || registry_asleep(r)))) {
    if (bench_now() > deadline) return -ETIMEDOUT;
    if (bench_reader_died(r->pids, r->started)) return -ECHILD;
    usleep(50); /* a poll interval; the checks decide */
  }
  until = bench_now() + BLOCKED_BUDGET_NS;
  while (!all_blocked(r)) {
    if (bench_now() > until) return 1;
    usleep(20);
  }
  return 0;
}

/* ---------------------------------------------------------------- the writer */

/* The floor's record: stamp, move the word (release: pairs with floor_recv()), wake all. */
static void floor_send(struct fo_area *a, int64_t t0) {
  atomic_store_explicit(&a->stamp, t0, memory_order_relaxed);
  atomic_fetch_add_explicit(&a->word, 1, memory_order_release);
  bench_futex_wake(&a->word, INT_MAX);
}

/* Record @i: the call, timed. Return: 0 and *@t0, *@call; a negative errno. */
static int send_one(struct fo_run *r, long i, int64_t *t0, int64_t *call) {
  int k = kind_of(r, i), rc = 0;
  unsigned char buf[RECORD];
  int64_t seq = i / r->kinds * (r->kinds - 1) + k - 1; /* shmbus records before this one */
  memset(buf, 0x5a, sizeof buf);
  if (k > 0) shmbus__fanout_writer = r->c->designs[k - 1];
  *t0 = bench_now();
  if (k == 0) {
    floor_send(r->a, *t0);
  } else {
    memcpy(buf, t0, 8);
    memcpy(buf + 8, &seq, 8);
    rc = shmbus_pub_publish(r->pub, buf, sizeof buf);
  }
  *call = bench_now() - *t0;
  return rc;
}

static void sleep_until(int64_t t) {
  struct timespec ts = {t / 1000000000LL, t % 1000000000LL};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static int writer_loop(struct fo_run *r, struct fanout_result *res, char *err, size_t errlen) {
  int64_t deadline = bench_now() + r->c->timeout_ns, next = 0, t0, call;
  uint64_t first, last;
  long i;
  int rc = 0;
  for (i = 0; rc == 0 && i < r->total; i++) {
    int k = kind_of(r, i);
    int unconfirmed;
    sleep_until(next);
    rc = unconfirmed = await_asleep(r, i, deadline);
    if (rc >= 0) rc = send_one(r, i, &t0, &call);
    if (rc == 0)
      rc = bench_wait_acks(r->ctl, (uint32_t)((i + 1) * r->c->readers), 0, deadline, r->pids,
                           r->started);
    if (rc < 0) break;
    next = t0 + r->c->period_ns;
    if (i < r->c->warmup * r->kinds) continue;
    fanout_spread((const int64_t *)r->a->arrival, r->c->readers, t0, &first, &last);
    hist_add(&res->call[k], (uint64_t)call);
    hist_add(&res->first[k], first);
    hist_add(&res->last[k], last);
    res->unconfirmed[k] += unconfirmed;
  }
  if (rc == -ETIMEDOUT)
    snprintf(err, errlen,
             "fanout: %d readers, record %ld: not every reader was back asleep, "
             "or acknowledged, before the run's deadline",
             r->c->readers, i);
  else if (rc < 0 && rc != -ECHILD)
    snprintf(err, errlen, "fanout: publish failed: %s", shmbus_strerror(rc));
  return rc;
}

/* ---------------------------------------------------------------- set up, tear down */

static int start_readers(struct fo_run *r, char *err, size_t errlen) {
  char path[64];
  int k;
  fflush(NULL);
  for (k = 0; k < r->c->readers; k++) {
    r->statfd[k] = -1;
    r->pids[k] = fork();
    if (r->pids[k] == 0) fo_reader(r, k);
    if (r->pids[k] < 0) {
      snprintf(err, errlen, "fanout: fork failed: %s", strerror(errno));
      return -errno;
    }
    r->started++;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)r->pids[k]);
    r->statfd[k] = open(path, O_RDONLY | O_CLOEXEC);
    if (r->statfd[k] < 0) {
      snprintf(err, errlen, "fanout: cannot open %s: %s", path, strerror(errno));
      return -errno;
    }
  }
  bench_pin_writer();
  while ((int)atomic_load(&r->ctl->ready) < r->c->readers) {
    if (bench_reader_died(r->pids, r->started)) return -ECHILD;
    usleep(200);
  }
  return 0;
}

/* Reap every reader (killed first if the run failed). Return: @rc, or -ECHILD if a reader of
 * a successful run exited badly. */
static int stop_readers(struct fo_run *r, int rc) {
  int k, status;
  for (k = 0; k < r->started; k++) {
    if (r->statfd[k] >= 0) close(r->statfd[k]);
    if (r->pids[k] < 0) continue;
    if (rc < 0) kill(r->pids[k], SIGKILL); /* only the readers this run forked */
    if (waitpid(r->pids[k], &status, 0) == r->pids[k] &&
        (!WIFEXITED(status) || WEXITSTATUS(status)) && rc == 0)
      rc = -ECHILD;
  }
  return rc;
}

static int open_bus(struct fo_run *r) {
  static int counter;
  struct shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.slots = 8;
  o.capacity = RECORD;
  o.type = "bench";
  snprintf(r->name, sizeof r->name, "bench-%d-fanout%d", (int)getpid(), counter++);
  return shmbus_pub_open(r->name, &o, &r->pub);
}

int run_fanout(const struct fanout_cfg *c, struct fanout_result *res, char *err, size_t errlen) {
  struct fo_run *r = calloc(1, sizeof *r);
  int rc;
  err[0] = 0;
  if (r == NULL) return -ENOMEM;
  if (!fanout_switchable()) {
    free(r);
    snprintf(err, errlen,
             "this binary links the library proper, whose writer fan-out cannot "
             "be switched; run shmbus_bench_testing (bench/run.sh does)");
    return -ENOTSUP;
  }
  fanout_library_default(); /* remember it before the first switch */
  r->c = c;
  r->kinds = 1 + c->ndesigns;
  r->total = (c->warmup + c->rounds) * r->kinds;
  r->ctl = bench_ctl_new(1);
  r->a = mmap(NULL, sizeof *r->a, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  rc = r->ctl == NULL || r->a == MAP_FAILED ? -ENOMEM : open_bus(r);
  if (rc < 0 && !err[0])
    snprintf(err, errlen, "fanout: cannot create a bus: %s", shmbus_strerror(rc));
  if (rc == 0) rc = start_readers(r, err, errlen);
  if (rc == 0) rc = writer_loop(r, res, err, errlen);
  rc = stop_readers(r, rc);
  if (rc == -ECHILD && !err[0])
    snprintf(err, errlen, "%s", r->ctl->err[0] ? r->ctl->err : "a fanout reader died");
  if (r->pub) {
    shmbus_pub_close(r->pub);
    shmbus_unlink(r->name, 1);
  }
  shmbus__fanout_writer = fanout_library_default();
  if (r->a != MAP_FAILED && r->a != NULL) munmap(r->a, sizeof *r->a);
  bench_ctl_free(r->ctl, 1);
  free(r);
  return rc;
}
