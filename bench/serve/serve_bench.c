/* serve_bench.c - `shmbus serve` measured: publish-to-client latency over loopback, and the
 * server's CPU time at 10 buses x 1 kHz with 5 clients. See bench/serve/README.md.
 *
 *   serve_bench SHMBUS latency [COUNT]   64 B and 64 KiB records at 1 kHz: p50/p90/p99/max
 *   serve_bench SHMBUS cpu [SECONDS]     10 buses x 1 kHz x 64 B, 5 clients on every bus
 *
 * The server is the real `shmbus serve` (a child process, --port 0). The clients are minimal
 * WebSocket clients in this process (one thread each: blocking socket, RFC 6455 framing,
 * subscribe to every advertised bus channel). The publisher stores CLOCK_MONOTONIC in the
 * record's first 8 bytes just before shmbus_pub_publish(); a client reads the clock as soon as
 * it has the whole frame: one-way, publish start to the message in the client's buffer. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/hist.h"
#include "core/shmbus.h"

static int64_t mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void sleep_until(int64_t ns) {
  struct timespec t = {ns / 1000000000, ns % 1000000000};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {
  }
}

/* ---------------------------------------------------------------- the server */

static pid_t server_pid;
static char port_file[128];

static int start_server(const char *shmbus, const char *pattern) {
  char cmd_port[16];
  FILE *f;
  int port = 0;
  snprintf(port_file, sizeof port_file, "/tmp/serve_bench.%d.port", (int)getpid());
  unlink(port_file);
  if ((server_pid = fork()) == 0) {
    execl(shmbus, shmbus, "serve", "--port", "0", "--port-file", port_file, "-q", pattern,
          (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 3000 && port == 0; i++) {
    if ((f = fopen(port_file, "r")) != NULL) {
      if (fgets(cmd_port, sizeof cmd_port, f)) port = atoi(cmd_port);
      fclose(f);
    }
    if (!port) usleep(10000);
  }
  unlink(port_file);
  return port;
}

static void stop_server(void) {
  if (server_pid > 0) {
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
  }
  server_pid = 0;
}

static double server_cpu_s(void) { /* utime + stime of the server, seconds */
  char path[64], buf[1024], *p;
  unsigned long ut, st;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)server_pid);
  if ((f = fopen(path, "r")) == NULL) return -1;
  if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
  fclose(f);
  if ((p = strrchr(buf, ')')) == NULL) return -1;
  /* fields after ") ": state(3) ... utime(14) stime(15) */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
    return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---------------------------------------------------------------- a minimal client */

struct client {
  int fd;
  const char *prefix; /* subscribe to every channel whose topic starts with it */
  pthread_t thread;
  struct hist h;
  uint64_t received;
  volatile int stop;
  unsigned char *buf;
  size_t cap;
};

static int send_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
    if (k <= 0) return -1;
    c += k;
    n -= (size_t)k;
  }
  return 0;
}

static int recv_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n) {
    ssize_t k = recv(fd, c, n, 0);
    if (k <= 0) return -1;
    c += k;
    n -= (size_t)k;
  }
  return 0;
}

static int ws_send_text(int fd, const char *s) { /* client frames are masked (RFC 6455 5.3) */
  size_t n = strlen(s), h = 0;
  unsigned char hdr[14], mask[4] = {1, 2, 3, 4};
  unsigned char *m = malloc(n);
  int rc;
  hdr[h++] = 0x81;
  if (n < 126) hdr[h++] = (unsigned char)(0x80 | n);
  else {
    hdr[h++] = 0x80 | 126;
    hdr[h++] = (unsigned char)(n >> 8);
    hdr[h++] = (unsigned char)n;
  }
  memcpy(hdr + h, mask, 4);
  h += 4;
  for (size_t i = 0; i < n; i++) m[i] = (unsigned char)s[i] ^ mask[i % 4];
  rc = send_all(fd, hdr, h) || send_all(fd, m, n) ? -1 : 0;
  free(m);
  return rc;
}

/* One whole frame into c->buf; *op its opcode. Return: its length, or -1. */
static ssize_t ws_recv(struct client *c, int *op) {
  unsigned char h[2], ext[8];
  uint64_t n;
  if (recv_all(c->fd, h, 2) < 0) return -1;
  *op = h[0] & 0x0f;
  n = h[1] & 0x7f;
  if (n == 126) {
    if (recv_all(c->fd, ext, 2) < 0) return -1;
    n = (uint64_t)ext[0] << 8 | ext[1];
  } else if (n == 127) {
    if (recv_all(c->fd, ext, 8) < 0) return -1;
    n = 0;
    for (int i = 0; i < 8; i++) n = n << 8 | ext[i];
  }
  if (n + 1 > c->cap) {
    c->cap = n + 1;
    c->buf = realloc(c->buf, c->cap);
  }
  if (recv_all(c->fd, c->buf, n) < 0) return -1;
  c->buf[n] = 0;
  return (ssize_t)n;
}

static int client_connect(struct client *c, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  char req[512], resp[2048];
  size_t k = 0;
  int one = 1;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || connect(c->fd, (void *)&a, sizeof a) < 0)
    return -1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  snprintf(req, sizeof req,
           "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Protocol: foxglove.websocket.v1\r\n\r\n",
           port);
  if (send_all(c->fd, req, strlen(req)) < 0) return -1;
  while (k < sizeof resp - 1) { /* the response headers, byte by byte up to the blank line */
    if (recv(c->fd, resp + k, 1, 0) != 1) return -1;
    if (++k >= 4 && !memcmp(resp + k - 4, "\r\n\r\n", 4)) break;
  }
  resp[k] = 0;
  return strstr(resp, " 101 ") ? 0 : -1;
}

static void subscribe_advertised(struct client *c, const char *text, size_t n, uint32_t *next) {
  json_t *m = json_loadb(text, n, 0, NULL), *ch, *subs = json_array(), *msg;
  size_t i;
  if (m && !strcmp(json_string_value(json_object_get(m, "op")) ?: "", "advertise"))
    json_array_foreach(json_object_get(m, "channels"), i, ch) {
      const char *t = json_string_value(json_object_get(ch, "topic"));
      if (t && !strncmp(t, c->prefix, strlen(c->prefix)))
        json_array_append_new(subs, json_pack("{s:I, s:O}", "id", (json_int_t)(*next)++,
                                              "channelId", json_object_get(ch, "id")));
    }
  if (json_array_size(subs)) {
    char *s;
    msg = json_pack("{s:s, s:O}", "op", "subscribe", "subscriptions", subs);
    s = json_dumps(msg, JSON_COMPACT);
    ws_send_text(c->fd, s);
    free(s);
    json_decref(msg);
  }
  json_decref(subs);
  json_decref(m);
}

static void *client_main(void *arg) {
  struct client *c = arg;
  uint32_t next = 1;
  int op;
  ssize_t n;
  while (!c->stop && (n = ws_recv(c, &op)) >= 0) {
    if (op == 1) subscribe_advertised(c, (char *)c->buf, (size_t)n, &next);
    if (op == 2 && n >= 13 + 8 && c->buf[0] == 1) {
      int64_t now = mono_ns(), t0;
      memcpy(&t0, c->buf + 13, 8);
      if (t0 > 0) hist_add(&c->h, (uint64_t)(now - t0));
      c->received++;
    }
  }
  return NULL;
}

static int client_start(struct client *c, int port, const char *prefix) {
  memset(c, 0, sizeof *c);
  c->prefix = prefix;
  hist_reset(&c->h);
  if (client_connect(c, port) < 0) return -1;
  return pthread_create(&c->thread, NULL, client_main, c);
}

static void client_stop(struct client *c) {
  c->stop = 1;
  shutdown(c->fd, SHUT_RDWR);
  pthread_join(c->thread, NULL);
  close(c->fd);
  free(c->buf);
}

/* ---------------------------------------------------------------- the runs */

static void publish_paced(shmbus_pub **p, int nbus, size_t size, int count, double hz,
                          struct hist *warm_reset, int nwarm, void (*on_warm)(void)) {
  unsigned char *rec = calloc(1, size);
  int64_t t = mono_ns(), period = (int64_t)(1e9 / hz);
  for (int i = 0; i < count; i++) {
    t += period;
    sleep_until(t);
    if (i == nwarm && on_warm) on_warm();
    for (int b = 0; b < nbus; b++) {
      int64_t now = mono_ns();
      memcpy(rec, &now, 8);
      shmbus_pub_publish(p[b], rec, size);
    }
  }
  (void)warm_reset;
  free(rec);
}

static struct client *lat_client;
static void reset_lat(void) {
  hist_reset(&lat_client->h);
  lat_client->received = 0;
}

static void wait_subscribed(const char *name, int readers) {
  /* the server reads a bus only once subscribed; give the clients 2 s to subscribe */
  (void)name;
  (void)readers;
  usleep(2000000);
}

static int run_latency(const char *shmbus, int count) {
  static const size_t sizes[] = {64, 65536};
  char name[96], prefix[64];
  snprintf(prefix, sizeof prefix, "bench-serve-%d-", (int)getpid());
  printf(
      "| record | records | received | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|---|\n");
  for (int s = 0; s < 2; s++) {
    struct shmbus_pub_opts o;
    shmbus_pub *p;
    struct client c;
    int port;
    snprintf(name, sizeof name, "%s%zu", prefix, sizes[s]);
    shmbus_pub_opts_init(&o);
    o.capacity = sizes[s] < 4096 ? 4096 : sizes[s];
    o.slots = 64;
    if (shmbus_pub_open(name, &o, &p) < 0) {
      fprintf(stderr, "cannot create %s\n", name);
      return 1;
    }
    if ((port = start_server(shmbus, name)) <= 0) {
      fprintf(stderr, "no server\n");
      return 1;
    }
    if (client_start(&c, port, prefix) < 0) {
      fprintf(stderr, "cannot connect\n");
      return 1;
    }
    wait_subscribed(name, 1);
    lat_client = &c;
    publish_paced(&p, 1, sizes[s], count + 200, 1000, NULL, 200, reset_lat);
    usleep(300000);
    printf("| %zu B | %d | %" PRIu64 " | %.1f us | %.1f us | %.1f us | %.1f us |\n", sizes[s],
           count, c.received, hist_pct(&c.h, 0.5) / 1e3, hist_pct(&c.h, 0.9) / 1e3,
           hist_pct(&c.h, 0.99) / 1e3, hist_pct(&c.h, 1.0) / 1e3);
    fflush(stdout);
    client_stop(&c);
    stop_server();
    shmbus_pub_close(p);
    shmbus_unlink(name, 1);
  }
  return 0;
}

static int run_cpu(const char *shmbus, double seconds) {
  enum { NBUS = 10, NCLI = 5 };
  shmbus_pub *p[NBUS];
  struct client c[NCLI];
  char name[96], prefix[64], pattern[80];
  double cpu0, cpu1, idle0, idle1;
  int64_t t0, t1;
  int port, i;
  uint64_t recv = 0;
  snprintf(prefix, sizeof prefix, "bench-serve-%d-cpu", (int)getpid());
  snprintf(pattern, sizeof pattern, "%s*", prefix);
  for (i = 0; i < NBUS; i++) {
    struct shmbus_pub_opts o;
    shmbus_pub_opts_init(&o);
    o.capacity = 4096;
    o.slots = 64;
    snprintf(name, sizeof name, "%s%d", prefix, i);
    if (shmbus_pub_open(name, &o, &p[i]) < 0) {
      fprintf(stderr, "cannot create %s\n", name);
      return 1;
    }
  }
  if ((port = start_server(shmbus, pattern)) <= 0) {
    fprintf(stderr, "no server\n");
    return 1;
  }
  /* Idle: the buses publishing, no client (nothing is read or converted). */
  usleep(500000);
  idle0 = server_cpu_s();
  t0 = mono_ns();
  publish_paced(p, NBUS, 64, (int)(seconds * 1000 / 2), 1000, NULL, -1, NULL);
  idle1 = server_cpu_s();
  t1 = mono_ns();
  printf("| 10 buses x 1 kHz x 64 B, no client | %.1f %% of one core |\n",
         100 * (idle1 - idle0) / ((double)(t1 - t0) / 1e9));
  for (i = 0; i < NCLI; i++)
    if (client_start(&c[i], port, prefix) < 0) {
      fprintf(stderr, "cannot connect\n");
      return 1;
    }
  wait_subscribed(prefix, NCLI);
  for (i = 0; i < NCLI; i++) c[i].received = 0;
  cpu0 = server_cpu_s();
  t0 = mono_ns();
  publish_paced(p, NBUS, 64, (int)(seconds * 1000), 1000, NULL, -1, NULL);
  cpu1 = server_cpu_s();
  t1 = mono_ns();
  usleep(300000);
  for (i = 0; i < NCLI; i++) recv += c[i].received;
  printf("| 10 buses x 1 kHz x 64 B, 5 clients on every bus | %.1f %% of one core "
         "(%" PRIu64 " of %d messages received) |\n",
         100 * (cpu1 - cpu0) / ((double)(t1 - t0) / 1e9), recv,
         (int)(seconds * 1000) * NBUS * NCLI);
  for (i = 0; i < NCLI; i++) client_stop(&c[i]);
  stop_server();
  for (i = 0; i < NBUS; i++) {
    snprintf(name, sizeof name, "%s%d", prefix, i);
    shmbus_pub_close(p[i]);
    shmbus_unlink(name, 1);
  }
  return 0;
}

int main(int argc, char **argv) {
  int rc;
  if (argc < 3) {
    fprintf(stderr, "usage: serve_bench SHMBUS latency [COUNT] | cpu [SECONDS]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (!strcmp(argv[2], "latency")) rc = run_latency(argv[1], argc > 3 ? atoi(argv[3]) : 5000);
  else if (!strcmp(argv[2], "cpu")) rc = run_cpu(argv[1], argc > 3 ? atof(argv[3]) : 10);
  else rc = 2;
  stop_server();
  return rc;
}
