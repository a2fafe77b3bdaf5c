/* peers.c - pipe, Unix socket, POSIX mq and ZeroMQ as latency transports; see peers.h. */
#include "bench/peers.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

struct peer_state {
  int fd[2]; /* pipe: [0] read end, [1] write end; unix: [0] writer, [1] reader */
  mqd_t mq;
  char name[96]; /* mq name or ZeroMQ endpoint */
  void *zctx, *zsock;
  int hello_seen; /* zmq reader: counted itself in ctl->synced */
  struct bench_ctl *ctl;
};

static struct peer_state *state_new(struct bench_ctl *ctl) {
  struct peer_state *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->fd[0] = s->fd[1] = -1;
  s->mq = (mqd_t)-1;
  s->ctl = ctl;
  return s;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* Full-length write and read on a byte stream. */
static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return k < 0 ? -errno : -EPIPE;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static int read_all(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t k = read(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return k < 0 ? -errno : -EPIPE;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static void teardown_fds(void *st) {
  struct peer_state *s = st;
  close_fd(&s->fd[0]);
  close_fd(&s->fd[1]);
  free(s);
}

/* ---------------------------------------------------------------- pipe */

static int pipe_setup(void **st, const struct lat_cfg *c, struct bench_ctl *ctl) {
  struct peer_state *s = state_new(ctl);
  if (s == NULL) return -ENOMEM;
  if (pipe2(s->fd, O_CLOEXEC) < 0) {
    free(s);
    return -errno;
  }
  /* Room for one whole record where the kernel allows (pipe-max-size, 1 MiB by default). */
  if (c->size > 65536) (void)fcntl(s->fd[1], F_SETPIPE_SZ, (int)c->size);
  *st = s;
  return 0;
}

static int pipe_reader_open(void *st, int idx, const struct lat_cfg *c) {
  (void)idx;
  (void)c;
  close_fd(&((struct peer_state *)st)->fd[1]);
  return 0;
}

static int pipe_recv(void *st, int idx, void *buf, size_t size, int mode) {
  (void)idx;
  (void)mode;
  return read_all(((struct peer_state *)st)->fd[0], buf, size);
}

static int pipe_writer_open(void *st, const struct lat_cfg *c) {
  (void)c;
  close_fd(&((struct peer_state *)st)->fd[0]);
  return 0;
}

static int pipe_send(void *st, const void *buf, size_t size) {
  return write_all(((struct peer_state *)st)->fd[1], buf, size);
}

const struct transport peer_pipe = {
    .name = "pipe",
    .max_readers = 1,
    .setup = pipe_setup,
    .reader_open = pipe_reader_open,
    .recv = pipe_recv,
    .writer_open = pipe_writer_open,
    .send = pipe_send,
    .teardown = teardown_fds,
};

/* ---------------------------------------------------------------- Unix socket */

static int unix_setup(void **st, const struct lat_cfg *c, struct bench_ctl *ctl) {
  struct peer_state *s = state_new(ctl);
  int want = (int)(2 * c->size);
  if (s == NULL) return -ENOMEM;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->fd) < 0) {
    free(s);
    return -errno;
  }
  if (c->size > 65536) { /* ask for room for one record; the kernel caps it at wmem_max */
    (void)setsockopt(s->fd[0], SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
    (void)setsockopt(s->fd[1], SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
  }
  *st = s;
  return 0;
}

static int unix_reader_open(void *st, int idx, const struct lat_cfg *c) {
  (void)idx;
  (void)c;
  close_fd(&((struct peer_state *)st)->fd[0]);
  return 0;
}

static int unix_recv(void *st, int idx, void *buf, size_t size, int mode) {
  (void)idx;
  (void)mode;
  return read_all(((struct peer_state *)st)->fd[1], buf, size);
}

static int unix_writer_open(void *st, const struct lat_cfg *c) {
  (void)c;
  close_fd(&((struct peer_state *)st)->fd[1]);
  return 0;
}

static int unix_send(void *st, const void *buf, size_t size) {
  return write_all(((struct peer_state *)st)->fd[0], buf, size);
}

const struct transport peer_unix = {
    .name = "unix-socket",
    .max_readers = 1,
    .setup = unix_setup,
    .reader_open = unix_reader_open,
    .recv = unix_recv,
    .writer_open = unix_writer_open,
    .send = unix_send,
    .teardown = teardown_fds,
};

/* ---------------------------------------------------------------- POSIX mq */

static int mq_setup(void **st, const struct lat_cfg *c, struct bench_ctl *ctl) {
  struct peer_state *s = state_new(ctl);
  struct mq_attr a = {.mq_maxmsg = 1, .mq_msgsize = (long)c->size}; /* one in flight */
  struct rlimit rl;
  rlim_t need = 2 * (rlim_t)c->size + 65536;
  if (s == NULL) return -ENOMEM;
  /* The queue must fit RLIMIT_MSGQUEUE (800 KiB by default): raise it if we may. */
  if (getrlimit(RLIMIT_MSGQUEUE, &rl) == 0 && rl.rlim_cur < need) {
    rl.rlim_cur = need;
    if (rl.rlim_max < need) rl.rlim_max = need;
    (void)setrlimit(RLIMIT_MSGQUEUE, &rl);
  }
  snprintf(s->name, sizeof s->name, "/shmbus-bench-mq-%d-%d", (int)getpid(), rand() % 100000);
  s->mq = mq_open(s->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &a);
  if (s->mq == (mqd_t)-1) {
    int e = errno;
    free(s);
    return -e; /* EINVAL: size above fs.mqueue.msgsize_max without CAP_SYS_RESOURCE */
  }
  *st = s;
  return 0;
}

static int mq_reader_open(void *st, int idx, const struct lat_cfg *c) {
  (void)st;
  (void)idx;
  (void)c;
  return 0;
}

static int mq_recv(void *st, int idx, void *buf, size_t size, int mode) {
  ssize_t n;
  (void)idx;
  (void)mode;
  do n = mq_receive(((struct peer_state *)st)->mq, buf, size, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  return (size_t)n == size ? 0 : -EBADMSG;
}

static int mq_writer_open(void *st, const struct lat_cfg *c) {
  (void)st;
  (void)c;
  return 0;
}

static int mq_send_one(void *st, const void *buf, size_t size) {
  int rc;
  do rc = mq_send(((struct peer_state *)st)->mq, buf, size, 0);
  while (rc < 0 && errno == EINTR);
  return rc < 0 ? -errno : 0;
}

static void mq_teardown(void *st) {
  struct peer_state *s = st;
  mq_close(s->mq);
  mq_unlink(s->name);
  free(s);
}

const struct transport peer_mq = {
    .name = "posix-mq",
    .max_readers = 1,
    .setup = mq_setup,
    .reader_open = mq_reader_open,
    .recv = mq_recv,
    .writer_open = mq_writer_open,
    .send = mq_send_one,
    .teardown = mq_teardown,
};

/* ---------------------------------------------------------------- ZeroMQ PUB/SUB */

static int zmq_err(void) { return errno ? -errno : -EIO; }

static int zmq_setup(void **st, const struct lat_cfg *c, struct bench_ctl *ctl) {
  struct peer_state *s;
  (void)c;
#if defined(__SANITIZE_THREAD__)
  (void)st;
  (void)ctl;
  return -ENOTSUP; /* libzmq is not instrumented: TSan reads its lock-free queues as races */
#endif
  s = state_new(ctl);
  if (s == NULL) return -ENOMEM;
  snprintf(s->name, sizeof s->name, "ipc:///tmp/shmbus-bench-zmq-%d-%d.ipc", (int)getpid(),
           rand() % 100000);
  *st = s;
  return 0;
}

/* One context and socket per process, made after fork (a ZeroMQ context must not cross it). */
static int zmq_open_socket(struct peer_state *s, int type) {
  int zero = 0;
  s->zctx = zmq_ctx_new();
  if (s->zctx == NULL) return zmq_err();
  s->zsock = zmq_socket(s->zctx, type);
  if (s->zsock == NULL) return zmq_err();
  zmq_setsockopt(s->zsock, ZMQ_LINGER, &zero, sizeof zero);
  return 0;
}

static void zmq_close_socket(struct peer_state *s) {
  if (s->zsock) zmq_close(s->zsock);
  if (s->zctx) zmq_ctx_term(s->zctx);
  s->zsock = s->zctx = NULL;
}

static int zmq_reader_open(void *st, int idx, const struct lat_cfg *c) {
  struct peer_state *s = st;
  int rc = zmq_open_socket(s, ZMQ_SUB);
  (void)idx;
  (void)c;
  if (rc < 0) return rc;
  if (zmq_setsockopt(s->zsock, ZMQ_SUBSCRIBE, "", 0) < 0) return zmq_err();
  if (zmq_connect(s->zsock, s->name) < 0) return zmq_err(); /* retried until the bind */
  return 0;
}

static int zmq_recv_one(void *st, int idx, void *buf, size_t size, int mode) {
  struct peer_state *s = st;
  (void)idx;
  (void)mode;
  for (;;) {
    int n = zmq_recv(s->zsock, buf, size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return zmq_err();
    if (n == 1) { /* the writer's hello (see zmq_sync): count ourselves once, skip it */
      if (!s->hello_seen) atomic_fetch_add(&s->ctl->synced, 1);
      s->hello_seen = 1;
      continue;
    }
    return (size_t)n == size ? 0 : -EBADMSG;
  }
}

static void zmq_reader_close(void *st, int idx) {
  (void)idx;
  zmq_close_socket(st);
}

static int zmq_writer_open(void *st, const struct lat_cfg *c) {
  struct peer_state *s = st;
  int rc = zmq_open_socket(s, ZMQ_PUB);
  (void)c;
  if (rc < 0) return rc;
  return zmq_bind(s->zsock, s->name) < 0 ? zmq_err() : 0;
}

/* PUB drops what it sends before a subscription arrives ("slow joiner"): send a 1-byte hello
 * every millisecond until every reader has seen one. */
static int zmq_sync(void *st, struct bench_ctl *ctl, int readers) {
  struct peer_state *s = st;
  int64_t deadline = bench_now() + 10000000000LL;
  while ((int)atomic_load(&ctl->synced) < readers) {
    if (bench_now() > deadline) return -ETIMEDOUT;
    zmq_send(s->zsock, "h", 1, ZMQ_DONTWAIT);
    usleep(1000);
  }
  return 0;
}

static int zmq_send_one(void *st, const void *buf, size_t size) {
  struct peer_state *s = st;
  int n;
  do n = zmq_send(s->zsock, buf, size, 0);
  while (n < 0 && errno == EINTR);
  return n < 0 ? zmq_err() : 0;
}

static void zmq_teardown(void *st) {
  struct peer_state *s = st;
  zmq_close_socket(s);
  unlink(s->name + strlen("ipc://"));
  free(s);
}

const struct transport peer_zmq = {
    .name = "zeromq",
    .max_readers = 1,
    .setup = zmq_setup,
    .reader_open = zmq_reader_open,
    .recv = zmq_recv_one,
    .reader_close = zmq_reader_close,
    .writer_open = zmq_writer_open,
    .writer_sync = zmq_sync,
    .send = zmq_send_one,
    .teardown = zmq_teardown,
};
