/* buses.c - the bus side of `shmbus serve` (see buses.h). */
#include "serve/buses.h"

#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "serve/encoding.h"
#include "tools/common.h"

struct sbus {
  char name[SHMBUS_NAME_MAX + 1];
  shmbus_sub *sub;
  struct shmbus_bus_info bi;
  struct serve_encoding enc;
  json_t *layout; /* enc.layout parsed, for the status channel */
  struct hub_channel *ch;
  void *watch;                /* the loop's handle of our descriptor, NULL: polled by ticks */
  struct serve_payload *last; /* the newest record read (while subscribed) */
  uint64_t lost, records;
  uint64_t rate_latest; /* latest version at the last rate sample */
  int64_t rate_ns;
  double rate;
  int seen; /* found by the current scan */
  int idle; /* subscribers went to 0: drop the descriptor at the next tick */
};

struct spub { /* a bus a client publishes to, shared by the clients publishing to it */
  char name[SHMBUS_NAME_MAX + 1];
  shmbus_pub *pub;
  struct serve_encoding enc; /* the bus's schema (JSON -> C struct), from a reader */
  int refs;
  struct spub *next;
};

struct spub_handle {
  struct spub *p;
  int json; /* the client's encoding is "json" */
};

struct buses {
  char **patterns, **allow;
  int npatterns, nallow;
  const struct buses_loop *loop;
  void *lctx;
  struct hub *hub;
  struct sbus **v;
  size_t n, cap;
  unsigned char *buf; /* one record */
  size_t bufcap;
  int inotify;
  void *inotify_watch;
  struct hub_channel *status;
  struct serve_payload *status_last;
  int64_t last_scan, last_status;
  struct spub *pubs;
};

static int matches(char **pat, int n, const char *name) {
  int i;
  for (i = 0; i < n; i++)
    if (fnmatch(pat[i], name, 0) == 0) return 1;
  return 0;
}

static int grow_buf(struct buses *b, size_t need) {
  unsigned char *nb;
  if (need <= b->bufcap) return 0;
  if ((nb = realloc(b->buf, need)) == NULL) return -ENOMEM;
  b->buf = nb;
  b->bufcap = need;
  return 0;
}

/* ---------------------------------------------------------------- one bus */

/* Advertise @s (its current incarnation) as a new channel. */
static int advertise(struct buses *b, struct sbus *s) {
  struct hub_channel_desc d;
  char warn[256];
  int rc;
  if ((rc = serve_encoding_of(s->sub, &s->bi, &s->enc, warn, sizeof warn)) < 0) return rc;
  if (warn[0]) tool_msg("bus %s: %s; advertised as it is", s->name, warn);
  json_decref(s->layout);
  s->layout = s->enc.layout ? json_loads(s->enc.layout, 0, NULL) : NULL;
  memset(&d, 0, sizeof d);
  d.topic = s->name;
  d.encoding = s->enc.encoding;
  d.schema_name = s->enc.schema_name;
  d.schema_encoding = s->enc.schema_encoding;
  d.schema = s->enc.schema;
  d.schema_len = s->enc.schema_len;
  if ((s->ch = hub_channel_add(b->hub, &d, s)) == NULL) return -ENOMEM;
  return 0;
}

static void unadvertise(struct buses *b, struct sbus *s) {
  if (s->ch) hub_channel_remove(b->hub, s->ch);
  s->ch = NULL;
  serve_payload_unref(s->last);
  s->last = NULL;
  serve_encoding_free(&s->enc);
  json_decref(s->layout);
  s->layout = NULL;
}

static void close_sub(struct buses *b, struct sbus *s) {
  if (s->watch) b->loop->unwatch(b->lctx, s->watch);
  s->watch = NULL;
  shmbus_sub_close(s->sub);
  s->sub = NULL;
}

/* Open bus @s->name, watch it, advertise it. */
static int open_bus(struct buses *b, struct sbus *s) {
  int rc = shmbus_sub_open(s->name, 0, &s->sub);
  if (rc < 0) {
    s->sub = NULL;
    return rc;
  }
  shmbus_sub_info(s->sub, &s->bi);
  shmbus_sub_seek(s->sub, SHMBUS_SEEK_NEW); /* nobody subscribed yet: nothing to read */
  s->rate_latest = s->bi.latest;
  s->rate_ns = now_monotonic_ns();
  s->rate = 0;
  s->idle = 0;
  if ((rc = advertise(b, s)) < 0) close_sub(b, s);
  return rc;
}

/* A subscribed bus is read as soon as its descriptor says so; an unsubscribed one has none
 * (its notifier thread would wake on every publish for nothing) and is looked at on ticks. */
static void watch_bus(struct buses *b, struct sbus *s) {
  int fd;
  if (s->watch || s->sub == NULL) return;
  if ((fd = shmbus_sub_fd(s->sub)) >= 0 && b->loop->watch(b->lctx, fd, s, &s->watch) < 0)
    s->watch = NULL; /* read on every tick instead */
}

/* Nobody subscribes any more: a new reader without the descriptor's thread takes the place of
 * this one, unless the bus was replaced or removed meanwhile (then it is followed). 0: @s
 * still exists. */
static int follow(struct buses *b, struct sbus *s);
static int unwatch_bus(struct buses *b, struct sbus *s) {
  struct shmbus_bus_info bi;
  shmbus_sub *ns;
  s->idle = 0;
  if (s->watch == NULL) return 0;
  if (shmbus_sub_open(s->name, 0, &ns) == 0) {
    shmbus_sub_info(ns, &bi);
    if (bi.created_ns == s->bi.created_ns) {
      b->loop->unwatch(b->lctx, s->watch);
      s->watch = NULL;
      shmbus_sub_close(s->sub);
      s->sub = ns;
      shmbus_sub_seek(s->sub, SHMBUS_SEEK_NEW);
      return 0;
    }
    shmbus_sub_close(ns);
  }
  return follow(b, s);
}

static void remove_bus(struct buses *b, struct sbus *s) {
  size_t i;
  unadvertise(b, s);
  close_sub(b, s);
  for (i = 0; i < b->n; i++)
    if (b->v[i] == s) {
      b->v[i] = b->v[--b->n];
      break;
    }
  free(s);
}

/* The bus was replaced or removed: a replacement is advertised anew (a new channel id: its
 * schema may differ), a removed bus is unadvertised. 0: @s still exists. */
static int follow(struct buses *b, struct sbus *s) {
  unadvertise(b, s);
  close_sub(b, s);
  if (open_bus(b, s) < 0) {
    remove_bus(b, s);
    return -ENOENT;
  }
  return 0;
}

/* A payload made of record @rec (@len bytes) of @s; NULL: not sendable (wrong size for its
 * type) or no memory. */
static struct serve_payload *make_payload(struct sbus *s, const void *rec, size_t len,
                                          const struct shmbus_record_info *info) {
  struct serve_payload *p = serve_payload_new(serve_encoding_size(&s->enc, len));
  ssize_t n;
  if (p == NULL) return NULL;
  if ((n = serve_encoding_convert(&s->enc, rec, len, p->data, p->len)) < 0) {
    serve_payload_unref(p);
    return NULL;
  }
  p->len = (size_t)n;
  p->version = info->version;
  p->timestamp_ns = info->timestamp_ns;
  return p;
}

/* Read one record with @read (next or read_latest) into b->buf. */
static ssize_t read_one(struct buses *b, struct sbus *s, int latest,
                        struct shmbus_record_info *info) {
  ssize_t n;
  for (int tries = 0; tries < 4; tries++) {
    memset(info, 0, sizeof *info);
    n = latest ? shmbus_sub_read_latest(s->sub, b->buf, b->bufcap, info)
               : shmbus_sub_next(s->sub, b->buf, b->bufcap, info);
    if (n != -ENOBUFS) return n;
    if (grow_buf(b, info->length) < 0) return -ENOMEM;
  }
  return -ENOBUFS;
}

/* Take @p as @s's newest record and offer it. */
static void deliver(struct buses *b, struct sbus *s, struct serve_payload *p) {
  serve_payload_unref(s->last);
  s->last = p;
  s->records++;
  hub_channel_offer(b->hub, s->ch, p);
}

/* Read what @s has for its subscribers (up to a batch: fair to the other buses), or skip to
 * the newest when it has none. Return: 0; 1: more may be waiting; -ENOENT: @s is gone. */
static int service(struct buses *b, struct sbus *s) {
  struct shmbus_record_info info;
  int rc = shmbus_sub_wait(s->sub, 0, 0), i;
  if (rc == -ESTALE) return follow(b, s) < 0 ? -ENOENT : 1;
  if (rc != 0) return 0; /* -ETIMEDOUT: nothing; -EOWNERDEAD: the status channel shows it */
  if (hub_channel_subscribers(s->ch) == 0) {
    shmbus_sub_seek(s->sub, SHMBUS_SEEK_NEW);
    return 0;
  }
  for (i = 0; i < 1024; i++) {
    struct serve_payload *p;
    ssize_t n = read_one(b, s, 0, &info);
    if (n == -EAGAIN) return 0;
    if (n == -ESTALE) return follow(b, s) < 0 ? -ENOENT : 1;
    if (n < 0) { /* -EBADMSG (corruption) or -ENOMEM: skip what is there now */
      shmbus_sub_seek(s->sub, SHMBUS_SEEK_NEW);
      return 0;
    }
    s->lost += info.lost;
    if ((p = make_payload(s, b->buf, (size_t)n, &info)) != NULL) deliver(b, s, p);
  }
  return 1;
}

/* ---------------------------------------------------------------- discovery */

static struct sbus *find(struct buses *b, const char *name) {
  size_t i;
  for (i = 0; i < b->n; i++)
    if (!strcmp(b->v[i]->name, name)) return b->v[i];
  return NULL;
}

static int scan_one(const char *name, void *arg) {
  struct buses *b = arg;
  struct sbus *s;
  if (b->npatterns && !matches(b->patterns, b->npatterns, name)) return 0;
  if ((s = find(b, name)) != NULL) {
    s->seen = 1;
    return 0;
  }
  if (b->n == b->cap) {
    struct sbus **nv = realloc(b->v, (b->cap = b->cap ? 2 * b->cap : 16) * sizeof *nv);
    if (nv == NULL) return -ENOMEM;
    b->v = nv;
  }
  if ((s = calloc(1, sizeof *s)) == NULL) return -ENOMEM;
  snprintf(s->name, sizeof s->name, "%s", name);
  s->seen = 1;
  if (open_bus(b, s) < 0) { /* no permission, not a bus, gone again: not served */
    free(s);
    return 0;
  }
  b->v[b->n++] = s;
  return 0;
}

static void scan(struct buses *b) {
  size_t i;
  for (i = 0; i < b->n; i++) b->v[i]->seen = 0;
  shmbus_list(scan_one, b);
  b->last_scan = now_monotonic_ns();
  /* A bus no longer listed whose reader has not noticed yet (no descriptor). */
  for (i = b->n; i-- > 0;)
    if (!b->v[i]->seen && b->v[i]->watch == NULL) service(b, b->v[i]);
}

/* ---------------------------------------------------------------- the status channel */

static const char status_schema[] =
    "{\"type\":\"object\",\"description\":\"shmbus serve: the buses and clients, once a second\","
    "\"properties\":{\"time\":{\"type\":\"integer\"},\"buses\":{\"type\":\"array\"},"
    "\"clients\":{\"type\":\"array\"}}}";

static const char *writer_state(const struct shmbus_bus_info *bi) {
  if (bi->writer_pid == 0) return "none";
  if (bi->writer_alive) return "running";
  return bi->writer_closed ? "closed" : "died";
}

static void add_client(void *arg, const struct hub_client_stats *s) {
  json_array_append_new(arg, json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I}", "id",
                                       (json_int_t)s->id, "peer", s->peer, "subscriptions",
                                       (json_int_t)s->subscriptions, "sent", (json_int_t)s->sent,
                                       "dropped", (json_int_t)s->dropped, "pending",
                                       (json_int_t)s->pending, "queued", (json_int_t)s->queued));
}

static void publish_status(struct buses *b) {
  json_t *buses = json_array(), *clients = json_array(), *msg;
  int64_t now = now_monotonic_ns();
  struct serve_payload *p;
  char *text;
  size_t i;
  for (i = 0; i < b->n; i++) {
    struct sbus *s = b->v[i];
    json_t *o;
    if (s->sub == NULL || s->ch == NULL) continue;
    shmbus_sub_info(s->sub, &s->bi);
    if (now > s->rate_ns) {
      s->rate = (double)(s->bi.latest - s->rate_latest) * 1e9 / (double)(now - s->rate_ns);
      s->rate_latest = s->bi.latest;
      s->rate_ns = now;
    }
    o = json_pack(
        "{s:s, s:I, s:s, s:s, s:s, s:f, s:I, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "name",
        s->name, "channel", (json_int_t)hub_channel_id(s->ch), "type", s->enc.schema_name,
        "encoding", s->enc.encoding, "schemaEncoding", s->enc.schema_encoding, "rate", s->rate,
        "writer", (json_int_t)(s->bi.writer_alive ? s->bi.writer_pid : 0), "writerState",
        writer_state(&s->bi), "readers", shmbus_readers(s->name, NULL, 0), "latest",
        (json_int_t)s->bi.latest, "lastPublishNs", (json_int_t)s->bi.last_publish_ns, "capacity",
        (json_int_t)s->bi.capacity, "slots", (json_int_t)s->bi.slots, "lost", (json_int_t)s->lost,
        "read", (json_int_t)(s->last ? s->last->version : 0), "subscribers",
        (json_int_t)hub_channel_subscribers(s->ch));
    if (o && s->layout) json_object_set(o, "layout", s->layout);
    if (o) json_array_append_new(buses, o);
  }
  hub_clients(b->hub, add_client, clients);
  msg = json_pack("{s:I, s:I, s:o, s:o}", "time", (json_int_t)now_realtime_ns(), "pid",
                  (json_int_t)getpid(), "buses", buses, "clients", clients);
  text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
  json_decref(msg);
  if (text && (p = serve_payload_new(strlen(text))) != NULL) {
    memcpy(p->data, text, p->len);
    p->timestamp_ns = (uint64_t)now_realtime_ns();
    serve_payload_unref(b->status_last);
    b->status_last = p;
    hub_channel_offer(b->hub, b->status, p);
  }
  free(text);
  b->last_status = now;
}

/* ---------------------------------------------------------------- hub callbacks */

static struct serve_payload *cb_latest(void *ctx, struct hub_channel *ch) {
  struct buses *b = ctx;
  struct sbus *s = hub_channel_bus(ch);
  struct shmbus_record_info info;
  struct serve_payload *p;
  ssize_t n;
  if (ch == b->status) return serve_payload_ref(b->status_last);
  if (s == NULL || s->sub == NULL) return NULL;
  if (s->last && s->last->version == shmbus_sub_latest(s->sub)) return serve_payload_ref(s->last);
  /* Read the newest record now; the cursor moves past it, which loses nothing: whatever is
   * unread was published before it, and every subscriber gets only the newest anyway. */
  n = read_one(b, s, 1, &info);
  if (n < 0 || (p = make_payload(s, b->buf, (size_t)n, &info)) == NULL) return NULL;
  serve_payload_unref(s->last);
  s->last = p;
  return serve_payload_ref(p);
}

static void cb_subscribers(void *ctx, struct hub_channel *ch, unsigned n) {
  struct sbus *s = hub_channel_bus(ch);
  if (s == NULL) return;
  if (n > 0) {
    s->idle = 0;
    watch_bus(ctx, s);
  } else { /* nobody reads: keep nothing; the descriptor goes at the next tick (not while the
            * hub walks its lists) */
    serve_payload_unref(s->last);
    s->last = NULL;
    s->idle = 1;
  }
}

static struct spub *find_pub(struct buses *b, const char *name) {
  struct spub *p;
  for (p = b->pubs; p; p = p->next)
    if (!strcmp(p->name, name)) return p;
  return NULL;
}

static int cb_pub_open(void *ctx, const char *topic, const char *encoding, const char *schema_name,
                       void **h, char *err, size_t errlen) {
  struct buses *b = ctx;
  struct spub *p;
  struct spub_handle *ph;
  shmbus_sub *sub;
  int rc;
  (void)schema_name;
  if (shmbus_name_check(topic) < 0) {
    snprintf(err, errlen, "not a valid bus name");
    return -EINVAL;
  }
  if (!matches(b->allow, b->nallow, topic)) {
    snprintf(err, errlen, "this bus is not among those --allow-publish names");
    return -EPERM;
  }
  if ((ph = calloc(1, sizeof *ph)) == NULL) return -ENOMEM;
  ph->json = !strcmp(encoding, "json");
  if ((p = find_pub(b, topic)) == NULL) {
    if ((p = calloc(1, sizeof *p)) == NULL) {
      free(ph);
      return -ENOMEM;
    }
    snprintf(p->name, sizeof p->name, "%s", topic);
    if ((rc = shmbus_pub_open(topic, NULL, &p->pub)) < 0) {
      pid_t holder = rc == -EBUSY ? shmbus_lock_holder(topic) : 0;
      if (holder > 0) snprintf(err, errlen, "process %d is the bus's writer", (int)holder);
      else snprintf(err, errlen, "%s", shmbus_strerror(rc));
      free(p);
      free(ph);
      return rc;
    }
    if (shmbus_sub_open(topic, 0, &sub) == 0) { /* its schema, for JSON -> C struct */
      struct shmbus_bus_info bi;
      shmbus_sub_info(sub, &bi);
      serve_encoding_of(sub, &bi, &p->enc, NULL, 0);
      shmbus_sub_close(sub);
    }
    p->next = b->pubs;
    b->pubs = p;
  }
  p->refs++;
  ph->p = p;
  *h = ph;
  return 0;
}

static int cb_pub_write(void *ctx, void *h, const void *data, size_t len, char *err,
                        size_t errlen) {
  struct buses *b = ctx;
  struct spub_handle *ph = h;
  ssize_t n;
  int rc;
  if (ph->p->enc.cstruct && ph->json) {
    if ((rc = grow_buf(b, 65536)) < 0) return rc;
    n = serve_encoding_from_json(&ph->p->enc, data, len, b->buf, b->bufcap, err, errlen);
    if (n < 0) return (int)n;
    data = b->buf;
    len = (size_t)n;
  }
  if ((rc = shmbus_pub_publish(ph->p->pub, data, len)) < 0)
    snprintf(err, errlen, "%s", shmbus_strerror(rc));
  return rc;
}

static void cb_pub_close(void *ctx, void *h) {
  struct buses *b = ctx;
  struct spub_handle *ph = h;
  struct spub **pp;
  if (ph == NULL) return;
  if (--ph->p->refs == 0)
    for (pp = &b->pubs; *pp; pp = &(*pp)->next)
      if (*pp == ph->p) {
        *pp = ph->p->next;
        shmbus_pub_close(ph->p->pub);
        serve_encoding_free(&ph->p->enc);
        free(ph->p);
        break;
      }
  free(ph);
}

static void cb_want_write(void *ctx, void *user);

static const struct hub_ops ops = {
    .want_write = cb_want_write,
    .latest = cb_latest,
    .subscribers = cb_subscribers,
    .pub_open = cb_pub_open,
    .pub_write = cb_pub_write,
    .pub_close = cb_pub_close,
};

const struct hub_ops *buses_hub_ops(void) { return &ops; }

static void cb_want_write(void *ctx, void *user) {
  struct buses *b = ctx;
  b->loop->want_write(b->lctx, user);
}

/* ---------------------------------------------------------------- the object */

struct buses *buses_new(char **patterns, int n, char **allow, int nallow,
                        const struct buses_loop *loop, void *lctx) {
  struct buses *b = calloc(1, sizeof *b);
  if (b == NULL) return NULL;
  b->patterns = patterns;
  b->npatterns = n;
  b->allow = allow;
  b->nallow = nallow;
  b->loop = loop;
  b->lctx = lctx;
  b->inotify = -1;
  if (grow_buf(b, 65536) < 0) {
    free(b);
    return NULL;
  }
  return b;
}

static int inotify_tag;

int buses_start(struct buses *b, struct hub *hub) {
  struct hub_channel_desc d = {SERVE_STATUS_TOPIC, "json",        "shmbus.Buses",
                               "jsonschema",       status_schema, sizeof status_schema - 1};
  b->hub = hub;
  if ((b->status = hub_channel_add(hub, &d, NULL)) == NULL) return -ENOMEM;
  if ((b->inotify = shm_watch_open()) >= 0 &&
      b->loop->watch(b->lctx, b->inotify, &inotify_tag, &b->inotify_watch) < 0)
    b->inotify_watch = NULL;
  scan(b);
  publish_status(b);
  return 0;
}

void buses_ready(struct buses *b, void *tag) {
  char ev[4096] __attribute__((aligned(8)));
  size_t i;
  if (tag == &inotify_tag) {
    while (read(b->inotify, ev, sizeof ev) > 0) {
    }
    scan(b);
    return;
  }
  for (i = 0; i < b->n; i++)
    if (b->v[i] == tag) {
      service(b, b->v[i]);
      return;
    }
}

void buses_tick(struct buses *b) {
  int64_t now = now_monotonic_ns();
  size_t i;
  for (i = b->n; i-- > 0;) {
    if (i < b->n && b->v[i]->idle && hub_channel_subscribers(b->v[i]->ch) == 0 &&
        unwatch_bus(b, b->v[i]) < 0)
      continue;
    if (i < b->n && b->v[i]->watch == NULL) service(b, b->v[i]);
  }
  if (now - b->last_scan >= 1000000000LL) scan(b);
  if (now - b->last_status >= 1000000000LL) publish_status(b);
}

size_t buses_count(const struct buses *b) { return b->n; }

void buses_stop(struct buses *b) {
  while (b->n) remove_bus(b, b->v[b->n - 1]);
  if (b->status) hub_channel_remove(b->hub, b->status);
  b->status = NULL;
  serve_payload_unref(b->status_last);
  b->status_last = NULL;
  if (b->inotify_watch) b->loop->unwatch(b->lctx, b->inotify_watch);
  b->inotify_watch = NULL;
  if (b->inotify >= 0) close(b->inotify);
  b->inotify = -1;
}

void buses_free(struct buses *b) {
  if (b == NULL) return;
  if (b->hub) buses_stop(b);
  while (b->pubs) {
    struct spub *p = b->pubs;
    b->pubs = p->next;
    shmbus_pub_close(p->pub);
    serve_encoding_free(&p->enc);
    free(p);
  }
  free(b->v);
  free(b->buf);
  free(b);
}
