/* server.c - `shmbus serve`'s transport: libwebsockets (Debian's libwebsockets-dev), one
 * thread, one event loop. The WebSocket protocol foxglove.websocket.v1 carries the hub's
 * frames (serve/hub.h); plain HTTP GET serves the page (serve/page/, embedded at build time);
 * the buses' pollable descriptors and /dev/shm's inotify descriptor are adopted into the same
 * loop as raw files, so a record is read, converted and queued on the thread that sends it:
 * nothing is shared between threads, nothing locks. */
#include "serve/server.h"

#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "serve/assets.h"
#include "serve/buses.h"
#include "serve/encoding.h"
#include "serve/hub.h"
#include "tools/common.h"

_Static_assert(LWS_PRE <= HUB_PRE, "the hub keeps HUB_PRE bytes before a frame for lws");

#define SUBPROTOCOL "foxglove.websocket.v1"
#define RAW_PROTOCOL "shmbus-fd"

struct server {
  const struct serve_opts *o;
  struct lws_context *ctx;
  struct lws_vhost *vh;
  struct hub *hub;
  struct buses *buses;
  lws_sorted_usec_list_t sul;
  unsigned clients;
  int port;
};

static struct server *server_of(struct lws *wsi) { return lws_context_user(lws_get_context(wsi)); }

/* ---------------------------------------------------------------- the page (HTTP) */

/* The page loads only what this server serves and talks only to it. */
static const char csp[] = "default-src 'self'; connect-src 'self'; img-src 'self' data:";

struct http_pss {
  const struct serve_asset *a;
  size_t off;
};

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len) {
  struct http_pss *pss = user;
  unsigned char buf[LWS_PRE + 16384], *start = buf + LWS_PRE, *p = start,
                                      *end = buf + sizeof buf - 1;
  switch (reason) {
    case LWS_CALLBACK_HTTP: {
      const char *path = in;
      pss->a = serve_asset_find(path);
      pss->off = 0;
      if (pss->a == NULL) {
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, "no such page");
        return lws_http_transaction_completed(wsi) ? -1 : 0;
      }
      if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, pss->a->mime, pss->a->len, &p, end) ||
          lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                      (const unsigned char *)"no-store", 8, &p, end) ||
          lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                      (const unsigned char *)"nosniff", 7, &p, end) ||
          lws_add_http_header_by_name(wsi, (const unsigned char *)"content-security-policy:",
                                      (const unsigned char *)csp, (int)strlen(csp), &p, end) ||
          lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
      lws_callback_on_writable(wsi);
      return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
      size_t n;
      int last;
      if (pss == NULL || pss->a == NULL) break;
      n = pss->a->len - pss->off;
      if (n > sizeof buf - LWS_PRE - 1) n = sizeof buf - LWS_PRE - 1;
      last = pss->off + n == pss->a->len;
      memcpy(start, pss->a->data + pss->off, n);
      if (lws_write(wsi, start, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return 1;
      pss->off += n;
      if (last) {
        pss->a = NULL;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
      }
      lws_callback_on_writable(wsi);
      return 0;
    }
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
      return 1; /* a WebSocket without our subprotocol: refused */
    default: break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---------------------------------------------------------------- the protocol (WebSocket) */

struct ws_pss {
  struct hub_client *c;
  unsigned char *rx;
  size_t rxlen, rxcap;
};

static void close_with(struct lws *wsi, enum lws_close_status st, const char *why) {
  lws_close_reason(wsi, st, (unsigned char *)why, strlen(why));
}

static int ws_rx(struct server *s, struct lws *wsi, struct ws_pss *pss, const void *in,
                 size_t len) {
  int rc;
  if (lws_is_first_fragment(wsi)) pss->rxlen = 0;
  if (pss->rxlen + len > HUB_MAX_CLIENT_MESSAGE) {
    close_with(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large (limit 1 MiB)");
    return -1;
  }
  if (pss->rxlen + len > pss->rxcap) {
    size_t cap = pss->rxcap ? pss->rxcap : 4096;
    unsigned char *nb;
    while (cap < pss->rxlen + len) cap *= 2;
    if ((nb = realloc(pss->rx, cap)) == NULL) return -1;
    pss->rx = nb;
    pss->rxcap = cap;
  }
  memcpy(pss->rx + pss->rxlen, in, len);
  pss->rxlen += len;
  if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) return 0;
  rc = hub_client_message(s->hub, pss->c, pss->rx, pss->rxlen, lws_frame_is_binary(wsi));
  pss->rxlen = 0;
  if (pss->rxcap > 65536) { /* one large message keeps no large buffer */
    free(pss->rx);
    pss->rx = NULL;
    pss->rxcap = 0;
  }
  if (rc == -ENOBUFS) {
    close_with(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
               "too much unread (the client does not read)");
    return -1;
  }
  return 0;
}

/* "ADDR:PORT" of the client (the status channel tells clients apart by it). */
static void peer_name(struct lws *wsi, char *buf, size_t n) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  char host[48] = "?";
  int port = 0;
  memset(&ss, 0, sizeof ss);
  if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET) {
      struct sockaddr_in *a = (struct sockaddr_in *)&ss;
      inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
      port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
      port = ntohs(a->sin6_port);
    }
  }
  snprintf(buf, n, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
}

static int ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len) {
  struct server *s = server_of(wsi);
  struct ws_pss *pss = user;
  char peer[64];
  switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
      if (s->clients >= s->o->max_clients) {
        if (!s->o->quiet) tool_msg("refusing a client: %u connected (--max-clients)", s->clients);
        return 1;
      }
      return 0;
    case LWS_CALLBACK_ESTABLISHED:
      memset(pss, 0, sizeof *pss);
      peer_name(wsi, peer, sizeof peer);
      if ((pss->c = hub_client_new(s->hub, wsi, peer)) == NULL) return -1;
      s->clients++;
      if (s->o->verbose) tool_msg("client %s connected", peer);
      return 0;
    case LWS_CALLBACK_RECEIVE:
      if (pss->c == NULL) return -1;
      return ws_rx(s, wsi, pss, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE: {
      unsigned char *buf;
      size_t n;
      int binary, rc;
      if (pss->c == NULL) return -1;
      rc = hub_client_frame(s->hub, pss->c, &buf, &n, &binary);
      if (rc < 0) {
        close_with(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                   "too much unread (the client does not read)");
        return -1;
      }
      if (rc == 0) return 0;
      if (lws_write(wsi, buf + HUB_PRE, n, binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)n)
        return -1;
      lws_callback_on_writable(wsi); /* there may be more */
      return 0;
    }
    case LWS_CALLBACK_CLOSED:
      if (pss->c) {
        if (s->o->verbose) {
          struct hub_client_stats st;
          hub_client_stats(pss->c, &st);
          tool_msg("client %s left: %llu records sent, %llu dropped", st.peer,
                   (unsigned long long)st.sent, (unsigned long long)st.dropped);
        }
        hub_client_free(s->hub, pss->c);
        s->clients--;
      }
      free(pss->rx);
      memset(pss, 0, sizeof *pss);
      return 0;
    default: break;
  }
  return 0;
}

/* ---------------------------------------------------------------- descriptors (raw files) */

static int raw_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len) {
  struct server *s = server_of(wsi);
  void *tag;
  (void)user;
  (void)in;
  (void)len;
  if (reason == LWS_CALLBACK_RAW_RX_FILE && (tag = lws_get_opaque_user_data(wsi)) != NULL &&
      s->buses)
    buses_ready(s->buses, tag);
  return 0;
}

static int loop_watch(void *lctx, int fd, void *tag, void **handle) {
  struct server *s = lctx;
  lws_sock_file_fd_type u;
  struct lws *wsi;
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) return -errno;
  u.filefd = d;
  wsi = lws_adopt_descriptor_vhost(s->vh, LWS_ADOPT_RAW_FILE_DESC, u, RAW_PROTOCOL, NULL);
  if (wsi == NULL) return -ENOMEM;
  lws_set_opaque_user_data(wsi, tag);
  *handle = wsi;
  return 0;
}

static void loop_unwatch(void *lctx, void *handle) {
  struct lws *wsi = handle;
  (void)lctx;
  lws_set_opaque_user_data(wsi, NULL);                              /* a late event finds no tag */
  lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC); /* closes the duplicate */
}

static void loop_want_write(void *lctx, void *user) {
  (void)lctx;
  lws_callback_on_writable(user);
}

static const struct buses_loop loop = {loop_watch, loop_unwatch, loop_want_write};

/* ---------------------------------------------------------------- the loop */

static const struct lws_protocols protocols[] = {
    {"http", http_cb, sizeof(struct http_pss), 0, 0, NULL, 0},
    {SUBPROTOCOL, ws_cb, sizeof(struct ws_pss), 65536, 0, NULL, 0},
    {RAW_PROTOCOL, raw_cb, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void tick(lws_sorted_usec_list_t *sul) {
  struct server *s = lws_container_of(sul, struct server, sul);
  buses_tick(s->buses);
  lws_sul_schedule(s->ctx, 0, &s->sul, tick, 100 * LWS_US_PER_MS);
}

static void lws_log(int level, const char *line) {
  size_t n = strlen(line);
  (void)level;
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
  tool_msg("libwebsockets: %.*s", (int)n, line);
}

int serve_run(const struct serve_opts *o) {
  static const char *const encodings[] = {"json", SERVE_RAW_ENCODING, NULL};
  struct lws_context_creation_info info;
  struct server s;
  char name[64];
  int rc = 0;
  memset(&s, 0, sizeof s);
  s.o = o;
  lws_set_log_level(o->verbose ? LLL_ERR | LLL_WARN : LLL_ERR, lws_log);
  memset(&info, 0, sizeof info);
  info.port = o->port;
  info.iface = o->bind;
  info.protocols = protocols;
  info.user = &s;
  info.options = LWS_SERVER_OPTION_VALIDATE_UTF8; /* a text frame of bad UTF-8: closed (1007) */
  if (strchr(o->bind, ':') == NULL) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
  info.vhost_name = "shmbus";
  info.server_string = "shmbus serve";
  info.timeout_secs = 10;
  if ((s.ctx = lws_create_context(&info)) == NULL) {
    tool_msg("cannot listen on %s port %d (in use? a valid address?)", o->bind, o->port);
    return -EADDRINUSE;
  }
  s.vh = lws_get_vhost_by_name(s.ctx, "shmbus");
  if (s.vh == NULL) s.vh = lws_get_vhost_by_name(s.ctx, "default");
  s.port = s.vh ? lws_get_vhost_listen_port(s.vh) : o->port;
  snprintf(name, sizeof name, "shmbus serve %s", SHMBUS_VERSION_STRING);
  s.buses = buses_new(o->patterns, o->npatterns, o->allow, o->nallow, &loop, &s);
  if (s.vh == NULL || s.buses == NULL ||
      (s.hub = hub_new(buses_hub_ops(), s.buses, name, o->nallow > 0, encodings)) == NULL ||
      (rc = buses_start(s.buses, s.hub)) < 0) {
    tool_msg("cannot start: %s", s.vh == NULL ? "no virtual host" : strerror(rc ? -rc : ENOMEM));
    rc = rc ? rc : -ENOMEM;
    goto out;
  }
  /* The line scripts wait for: the address and the real port (--port 0 picks one). */
  tool_msg("serving %zu bus%s on ws://%s:%d/ (page: http://%s:%d/)", buses_count(s.buses),
           buses_count(s.buses) == 1 ? "" : "es", o->bind, s.port, o->bind, s.port);
  if (o->port_file) {
    FILE *f = fopen(o->port_file, "w");
    if (f) {
      fprintf(f, "%d\n", s.port);
      fclose(f);
    }
  }
  lws_sul_schedule(s.ctx, 0, &s.sul, tick, 100 * LWS_US_PER_MS);
  while (!tool_stop)
    if (lws_service(s.ctx, 0) < 0) break;
  lws_sul_cancel(&s.sul);
out:
  /* The buses stop first (their descriptors are the loop's), then lws_context_destroy()
   * closes every client (LWS_CALLBACK_CLOSED frees it from the hub, closing its writers),
   * then the rest goes. */
  if (s.buses) buses_stop(s.buses);
  lws_context_destroy(s.ctx);
  buses_free(s.buses);
  hub_free(s.hub);
  return rc;
}
