/* hub.c - the Foxglove WebSocket protocol's state and queues (see hub.h). */
#include "serve/hub.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/shmbus.h"

struct hub_more { /* the unbounded queue of the negative control (HUB_BROKEN_UNBOUNDED) */
  struct hub_more *next;
  struct serve_payload *p;
};

struct hub_sub {
  uint32_t id;
  struct hub_channel *ch;
  struct hub_client *client;
  struct serve_payload *pending;      /* the newest unsent record, or NULL */
  struct hub_more *more, **more_tail; /* HUB_BROKEN_UNBOUNDED only: queued after pending */
  uint64_t nmore;
};

struct hub_channel {
  uint32_t id;
  char *topic;
  json_t *adv; /* its entry in an advertise message */
  void *bus;
  struct hub_sub **subs;
  unsigned nsubs, capsubs;
  struct hub_channel *next;
};

struct cchan { /* a channel the client advertised (clientPublish) */
  uint32_t id;
  void *h;
};

struct tmsg {
  struct tmsg *next;
  size_t len;
  unsigned char buf[]; /* HUB_PRE + len */
};

struct hub_client {
  uint32_t id;
  void *user;
  char peer[64];
  struct hub_sub **subs;
  unsigned nsubs, capsubs, rr;
  struct cchan *cch;
  unsigned ncch;
  struct tmsg *head, **tail;
  size_t queued;
  int overflow;
  uint64_t sent, dropped;
  unsigned char *sendbuf;
  size_t sendcap;
  struct hub_client *next;
};

struct hub {
  const struct hub_ops *ops;
  void *ctx;
  json_t *info; /* serverInfo */
  int publish;
  uint32_t next_channel, next_client;
  struct hub_channel *channels, **channels_tail;
  struct hub_client *clients, **clients_tail;
  unsigned nclients;
  int broken; /* SHMBUS_SERVE_TESTING builds: a HUB_BROKEN_* mode (hub__broken()) */
};

/* Test hooks: the negative controls of //tests/serve_node:slow_client_test. Only a build with
 * SHMBUS_SERVE_TESTING (//serve:hub_testing, in //tools:shmbus_testing) reads the environment
 * variable SHMBUS_SERVE_BROKEN; in the shipped server hub__broken() is the constant 0 and the
 * broken paths are dead code. */
enum {
  HUB_SOUND,
  HUB_BROKEN_UNBOUNDED, /* "unbounded": a FIFO per subscription, nothing ever dropped */
  HUB_BROKEN_LOCKSTEP,  /* "lockstep": a channel offers a record only when none of its
                           subscriptions holds an unsent one; otherwise it is dropped for every
                           subscriber (every client goes at the slowest one's pace) */
};
#ifdef SHMBUS_SERVE_TESTING
static int broken_mode(void) {
  const char *e = getenv("SHMBUS_SERVE_BROKEN");
  if (e == NULL || e[0] == 0) return HUB_SOUND;
  if (!strcmp(e, "unbounded")) return HUB_BROKEN_UNBOUNDED;
  if (!strcmp(e, "lockstep")) return HUB_BROKEN_LOCKSTEP;
  fprintf(stderr, "SHMBUS_SERVE_BROKEN=%s: want unbounded or lockstep\n", e);
  abort();
}
static inline int hub__broken(const struct hub *h) { return h->broken; }
#else
static int broken_mode(void) { return HUB_SOUND; }
static inline int hub__broken(const struct hub *h) {
  (void)h;
  return HUB_SOUND;
}
#endif

/* ---------------------------------------------------------------- payloads */

struct serve_payload *serve_payload_new(size_t len) {
  struct serve_payload *p = malloc(sizeof *p + len);
  if (p == NULL) return NULL;
  memset(p, 0, sizeof *p);
  p->refs = 1;
  p->len = len;
  return p;
}

struct serve_payload *serve_payload_ref(struct serve_payload *p) {
  if (p) p->refs++;
  return p;
}

void serve_payload_unref(struct serve_payload *p) {
  if (p && --p->refs == 0) free(p);
}

/* ---------------------------------------------------------------- text */

/* @s (@n bytes) with every invalid UTF-8 sequence replaced by U+FFFD, NUL-terminated
 * (NUL bytes become U+FFFD too: a JSON string may not end early). NULL: no memory. */
static char *utf8_clean(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  char *out = malloc(3 * n + 1), *o = out;
  size_t i = 0;
  if (out == NULL) return NULL;
  while (i < n) {
    unsigned c = u[i];
    size_t k = 0, j;
    uint32_t cp = 0;
    if (c >= 0x01 && c < 0x80) {
      *o++ = (char)c;
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      k = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      k = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      k = 3;
      cp = c & 0x07;
    }
    for (j = 1; k && j <= k; j++) {
      if (i + j >= n || (u[i + j] & 0xc0) != 0x80) {
        k = 0;
        break;
      }
      cp = cp << 6 | (u[i + j] & 0x3f);
    }
    if (k && ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
              (cp >= 0xd800 && cp <= 0xdfff)))
      k = 0;
    if (k == 0) {
      memcpy(o, "\xef\xbf\xbd", 3);
      o += 3;
      i++;
      continue;
    }
    memcpy(o, u + i, k + 1);
    o += k + 1;
    i += k + 1;
  }
  *o = 0;
  return out;
}

/* A client's string, safe to quote in a message: printable ASCII, at most 64 of them. */
static void quote(const char *s, char *buf, size_t n) {
  size_t i, k = 0;
  for (i = 0; s && s[i] && k + 4 < n && i < 64; i++)
    buf[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  if (s && s[i] && k + 4 < n) {
    buf[k++] = '.';
    buf[k++] = '.';
    buf[k++] = '.';
  }
  buf[k] = 0;
}

/* ---------------------------------------------------------------- the text queue */

static void queue_text(struct hub *h, struct hub_client *c, json_t *msg) {
  char *s = json_dumps(msg, JSON_COMPACT);
  size_t n;
  struct tmsg *m;
  if (s == NULL) return;
  n = strlen(s);
  if (c->overflow || c->queued + n > HUB_MAX_TEXT_QUEUE ||
      (m = malloc(sizeof *m + HUB_PRE + n)) == NULL) {
    c->overflow = 1; /* a client that does not read: closed (hub_client_frame) */
    free(s);
    h->ops->want_write(h->ctx, c->user);
    return;
  }
  m->next = NULL;
  m->len = n;
  memcpy(m->buf + HUB_PRE, s, n);
  free(s);
  *c->tail = m;
  c->tail = &m->next;
  c->queued += n;
  h->ops->want_write(h->ctx, c->user);
}

void hub_client_status(struct hub *h, struct hub_client *c, int level, const char *msg) {
  json_t *j = json_pack("{s:s, s:i, s:s}", "op", "status", "level", level, "message", msg);
  if (j) queue_text(h, c, j);
  json_decref(j);
}

static void statusf(struct hub *h, struct hub_client *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void statusf(struct hub *h, struct hub_client *c, int level, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  hub_client_status(h, c, level, msg);
}

/* ---------------------------------------------------------------- the hub */

struct hub *hub_new(const struct hub_ops *ops, void *ctx, const char *name, int publish,
                    const char *const *encodings) {
  struct hub *h = calloc(1, sizeof *h);
  json_t *caps, *enc;
  if (h == NULL) return NULL;
  h->ops = ops;
  h->ctx = ctx;
  h->publish = publish;
  h->broken = broken_mode();
  h->next_channel = h->next_client = 1;
  h->channels_tail = &h->channels;
  h->clients_tail = &h->clients;
  caps = json_array();
  enc = json_array();
  if (publish) {
    json_array_append_new(caps, json_string("clientPublish"));
    for (; encodings && *encodings; encodings++)
      json_array_append_new(enc, json_string(*encodings));
  }
  h->info = json_pack("{s:s, s:s, s:o, s:o, s:{s:s}}", "op", "serverInfo", "name", name,
                      "capabilities", caps, "supportedEncodings", enc, "metadata", "shmbus.version",
                      SHMBUS_VERSION_STRING);
  if (h->info == NULL) {
    free(h);
    return NULL;
  }
  return h;
}

void hub_free(struct hub *h) {
  if (h == NULL) return;
  while (h->channels) hub_channel_remove(h, h->channels);
  json_decref(h->info);
  free(h);
}

/* ---------------------------------------------------------------- channels */

struct hub_channel *hub_channel_add(struct hub *h, const struct hub_channel_desc *d, void *bus) {
  struct hub_channel *ch = calloc(1, sizeof *ch);
  char *schema = utf8_clean(d->schema ? d->schema : "", d->schema ? d->schema_len : 0);
  char *topic = utf8_clean(d->topic, strlen(d->topic));
  char *sname = utf8_clean(d->schema_name, strlen(d->schema_name));
  json_t *msg;
  struct hub_client *c;
  if (ch == NULL || schema == NULL || topic == NULL || sname == NULL) goto fail;
  ch->id = h->next_channel++;
  ch->topic = topic;
  ch->bus = bus;
  ch->adv = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)ch->id, "topic", topic,
                      "encoding", d->encoding, "schemaName", sname, "schema", schema);
  if (ch->adv == NULL) goto fail;
  if (d->schema_encoding && d->schema_encoding[0])
    json_object_set_new(ch->adv, "schemaEncoding", json_string(d->schema_encoding));
  free(schema);
  free(sname);
  *h->channels_tail = ch;
  h->channels_tail = &ch->next;
  msg = json_pack("{s:s, s:[O]}", "op", "advertise", "channels", ch->adv);
  for (c = h->clients; c && msg; c = c->next) queue_text(h, c, msg);
  json_decref(msg);
  return ch;
fail:
  free(schema);
  free(topic);
  free(sname);
  free(ch);
  return NULL;
}

static void sub_free(struct hub_sub *s) {
  struct hub_more *m;
  serve_payload_unref(s->pending);
  while ((m = s->more) != NULL) {
    s->more = m->next;
    serve_payload_unref(m->p);
    free(m);
  }
  free(s);
}

/* Take @s out of its channel's list (not its client's). */
static void channel_unlink_sub(struct hub *h, struct hub_sub *s) {
  struct hub_channel *ch = s->ch;
  unsigned i;
  for (i = 0; i < ch->nsubs; i++)
    if (ch->subs[i] == s) {
      ch->subs[i] = ch->subs[--ch->nsubs];
      break;
    }
  if (h->ops->subscribers) h->ops->subscribers(h->ctx, ch, ch->nsubs);
}

/* Take @s out of its client's list. */
static void client_unlink_sub(struct hub_client *c, struct hub_sub *s) {
  unsigned i;
  for (i = 0; i < c->nsubs; i++)
    if (c->subs[i] == s) {
      memmove(&c->subs[i], &c->subs[i + 1], (c->nsubs - i - 1) * sizeof *c->subs);
      c->nsubs--;
      break;
    }
}

void hub_channel_remove(struct hub *h, struct hub_channel *ch) {
  struct hub_channel **pp;
  struct hub_client *c;
  json_t *msg = json_pack("{s:s, s:[I]}", "op", "unadvertise", "channelIds", (json_int_t)ch->id);
  unsigned i;
  for (c = h->clients; c && msg; c = c->next) queue_text(h, c, msg);
  json_decref(msg);
  for (i = 0; i < ch->nsubs; i++) {
    client_unlink_sub(ch->subs[i]->client, ch->subs[i]);
    sub_free(ch->subs[i]);
  }
  ch->nsubs = 0;
  for (pp = &h->channels; *pp; pp = &(*pp)->next)
    if (*pp == ch) {
      *pp = ch->next;
      if (h->channels_tail == &ch->next) h->channels_tail = pp;
      break;
    }
  json_decref(ch->adv);
  free(ch->subs);
  free(ch->topic);
  free(ch);
}

static void offer_one(struct hub *h, struct hub_sub *s, struct serve_payload *p) {
  struct hub_more *m;
  if (s->pending && hub__broken(h) == HUB_BROKEN_UNBOUNDED) { /* queued, never dropped */
    if ((m = malloc(sizeof *m)) == NULL) abort();
    m->next = NULL;
    m->p = serve_payload_ref(p);
    if (s->more == NULL) s->more_tail = &s->more;
    *s->more_tail = m;
    s->more_tail = &m->next;
    s->nmore++;
    return;
  }
  if (s->pending) {
    s->client->dropped++;
    serve_payload_unref(s->pending);
  } else {
    h->ops->want_write(h->ctx, s->client->user);
  }
  s->pending = serve_payload_ref(p);
}

void hub_channel_offer(struct hub *h, struct hub_channel *ch, struct serve_payload *p) {
  unsigned i;
  if (hub__broken(h) == HUB_BROKEN_LOCKSTEP) { /* one unsent record anywhere: none gets it */
    for (i = 0; i < ch->nsubs && ch->subs[i]->pending == NULL; i++) continue;
    if (i < ch->nsubs) {
      for (i = 0; i < ch->nsubs; i++) ch->subs[i]->client->dropped++;
      return;
    }
  }
  for (i = 0; i < ch->nsubs; i++) offer_one(h, ch->subs[i], p);
}

uint32_t hub_channel_id(const struct hub_channel *ch) { return ch->id; }
unsigned hub_channel_subscribers(const struct hub_channel *ch) { return ch->nsubs; }
void *hub_channel_bus(const struct hub_channel *ch) { return ch->bus; }
const char *hub_channel_topic(const struct hub_channel *ch) { return ch->topic; }

/* ---------------------------------------------------------------- clients */

struct hub_client *hub_client_new(struct hub *h, void *user, const char *peer) {
  struct hub_client *c = calloc(1, sizeof *c);
  struct hub_channel *ch;
  json_t *chans, *msg;
  if (c == NULL) return NULL;
  c->id = h->next_client++;
  c->user = user;
  snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "");
  c->tail = &c->head;
  *h->clients_tail = c;
  h->clients_tail = &c->next;
  h->nclients++;
  queue_text(h, c, h->info);
  chans = json_array();
  for (ch = h->channels; ch && chans; ch = ch->next) json_array_append(chans, ch->adv);
  if (chans && json_array_size(chans)) {
    msg = json_pack("{s:s, s:O}", "op", "advertise", "channels", chans);
    if (msg) queue_text(h, c, msg);
    json_decref(msg);
  }
  json_decref(chans);
  return c;
}

void hub_client_free(struct hub *h, struct hub_client *c) {
  struct hub_client **pp;
  struct tmsg *m;
  unsigned i;
  if (c == NULL) return;
  for (i = 0; i < c->nsubs; i++) {
    channel_unlink_sub(h, c->subs[i]);
    sub_free(c->subs[i]);
  }
  for (i = 0; i < c->ncch; i++) h->ops->pub_close(h->ctx, c->cch[i].h);
  while ((m = c->head) != NULL) {
    c->head = m->next;
    free(m);
  }
  for (pp = &h->clients; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      if (h->clients_tail == &c->next) h->clients_tail = pp;
      break;
    }
  h->nclients--;
  free(c->subs);
  free(c->cch);
  free(c->sendbuf);
  free(c);
}

unsigned hub_client_count(const struct hub *h) { return h->nclients; }

void hub_client_stats(const struct hub_client *c, struct hub_client_stats *s) {
  unsigned i;
  s->pending = 0;
  for (i = 0; i < c->nsubs; i++) s->pending += (c->subs[i]->pending != NULL) + c->subs[i]->nmore;
  s->id = c->id;
  s->peer = c->peer;
  s->subscriptions = c->nsubs;
  s->sent = c->sent;
  s->dropped = c->dropped;
  s->queued = c->queued;
}

void hub_clients(struct hub *h, void (*cb)(void *arg, const struct hub_client_stats *s),
                 void *arg) {
  struct hub_client *c;
  struct hub_client_stats s;
  for (c = h->clients; c; c = c->next) {
    hub_client_stats(c, &s);
    cb(arg, &s);
  }
}

/* ---------------------------------------------------------------- client messages */

/* An id field of @o: a JSON integer in 0..2^32-1. */
static int get_id(json_t *o, const char *key, uint32_t *out) {
  json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
  json_int_t i;
  if (!json_is_integer(v)) return -1;
  i = json_integer_value(v);
  if (i < 0 || i > (json_int_t)UINT32_MAX) return -1;
  *out = (uint32_t)i;
  return 0;
}

static struct hub_channel *find_channel(struct hub *h, uint32_t id) {
  struct hub_channel *ch;
  for (ch = h->channels; ch; ch = ch->next)
    if (ch->id == id) return ch;
  return NULL;
}

static struct hub_sub *find_sub(struct hub_client *c, uint32_t id) {
  unsigned i;
  for (i = 0; i < c->nsubs; i++)
    if (c->subs[i]->id == id) return c->subs[i];
  return NULL;
}

static int grow(void *pv, unsigned *cap, unsigned need, size_t size) {
  void **p = pv, *nv;
  unsigned ncap;
  if (need <= *cap) return 0;
  ncap = *cap ? 2 * *cap : 8;
  if (ncap < need) ncap = need;
  if ((nv = realloc(*p, (size_t)ncap * size)) == NULL) return -ENOMEM;
  *p = nv;
  *cap = ncap;
  return 0;
}

static void subscribe_one(struct hub *h, struct hub_client *c, json_t *s) {
  uint32_t id, cid;
  struct hub_channel *ch;
  struct hub_sub *sub;
  struct serve_payload *p;
  unsigned i;
  if (get_id(s, "id", &id) < 0 || get_id(s, "channelId", &cid) < 0)
    return hub_client_status(
        h, c, 2,
        "subscribe: each subscription needs an integer \"id\" and \"channelId\" (0 to 2^32-1)");
  if (find_sub(c, id))
    return statusf(h, c, 2, "subscribe: subscription id %" PRIu32 " is already in use", id);
  if ((ch = find_channel(h, cid)) == NULL)
    return statusf(h, c, 2, "subscribe: no channel %" PRIu32 " (it may have been unadvertised)",
                   cid);
  for (i = 0; i < c->nsubs; i++)
    if (c->subs[i]->ch == ch)
      return statusf(h, c, 2,
                     "subscribe: this client already subscribed to channel %" PRIu32
                     " (subscription %" PRIu32 ")",
                     cid, c->subs[i]->id);
  if (c->nsubs >= HUB_MAX_SUBS)
    return statusf(h, c, 2, "subscribe: at most %u subscriptions per client", HUB_MAX_SUBS);
  if ((sub = calloc(1, sizeof *sub)) == NULL ||
      grow(&c->subs, &c->capsubs, c->nsubs + 1, sizeof *c->subs) < 0 ||
      grow(&ch->subs, &ch->capsubs, ch->nsubs + 1, sizeof *ch->subs) < 0) {
    free(sub);
    return hub_client_status(h, c, 2, "subscribe: the server is out of memory");
  }
  sub->id = id;
  sub->ch = ch;
  sub->client = c;
  c->subs[c->nsubs++] = sub;
  ch->subs[ch->nsubs++] = sub;
  if (h->ops->subscribers) h->ops->subscribers(h->ctx, ch, ch->nsubs);
  /* The latest value at once, as a shmbus reader gets it (a bus that publishes rarely still
   * shows its value). */
  if ((p = h->ops->latest(h->ctx, ch)) != NULL) {
    offer_one(h, sub, p);
    serve_payload_unref(p);
  }
}

static void unsubscribe_one(struct hub *h, struct hub_client *c, json_t *v) {
  json_int_t i = json_is_integer(v) ? json_integer_value(v) : -1;
  struct hub_sub *s;
  if (i < 0 || i > (json_int_t)UINT32_MAX)
    return hub_client_status(h, c, 2,
                             "unsubscribe: subscriptionIds must be integers (0 to 2^32-1)");
  if ((s = find_sub(c, (uint32_t)i)) == NULL)
    return statusf(h, c, 1, "unsubscribe: no subscription %" PRIu32, (uint32_t)i);
  client_unlink_sub(c, s);
  channel_unlink_sub(h, s);
  sub_free(s);
}

static struct cchan *find_cchan(struct hub_client *c, uint32_t id) {
  unsigned i;
  for (i = 0; i < c->ncch; i++)
    if (c->cch[i].id == id) return &c->cch[i];
  return NULL;
}

static void advertise_one(struct hub *h, struct hub_client *c, json_t *o) {
  uint32_t id;
  const char *topic = json_string_value(json_object_get(o, "topic"));
  const char *enc = json_string_value(json_object_get(o, "encoding"));
  const char *sname = json_string_value(json_object_get(o, "schemaName"));
  char q[80], err[256];
  void *ph;
  int rc;
  if (get_id(o, "id", &id) < 0 || topic == NULL || enc == NULL)
    return hub_client_status(
        h, c, 2,
        "advertise: each channel needs an integer \"id\", a \"topic\" and an \"encoding\"");
  if (find_cchan(c, id))
    return statusf(h, c, 2, "advertise: client channel id %" PRIu32 " is already in use", id);
  if (c->ncch >= HUB_MAX_CLIENT_CHANNELS)
    return statusf(h, c, 2, "advertise: at most %u client channels per client",
                   HUB_MAX_CLIENT_CHANNELS);
  err[0] = 0;
  if ((rc = h->ops->pub_open(h->ctx, topic, enc, sname ? sname : "", &ph, err, sizeof err)) < 0) {
    quote(topic, q, sizeof q);
    return statusf(h, c, 2, "advertise: cannot publish to '%s': %s", q,
                   err[0] ? err : strerror(-rc));
  }
  {
    struct cchan *nv = realloc(c->cch, (c->ncch + 1) * sizeof *nv);
    if (nv == NULL) {
      h->ops->pub_close(h->ctx, ph);
      return hub_client_status(h, c, 2, "advertise: the server is out of memory");
    }
    c->cch = nv;
  }
  c->cch[c->ncch].id = id;
  c->cch[c->ncch].h = ph;
  c->ncch++;
}

static void unadvertise_one(struct hub *h, struct hub_client *c, json_t *v) {
  json_int_t i = json_is_integer(v) ? json_integer_value(v) : -1;
  struct cchan *cc;
  if (i < 0 || i > (json_int_t)UINT32_MAX)
    return hub_client_status(h, c, 2, "unadvertise: channelIds must be integers (0 to 2^32-1)");
  if ((cc = find_cchan(c, (uint32_t)i)) == NULL)
    return statusf(h, c, 1, "unadvertise: no client channel %" PRIu32, (uint32_t)i);
  h->ops->pub_close(h->ctx, cc->h);
  *cc = c->cch[--c->ncch];
}

/* Each element of array @key of @msg through @fn. */
static void each(struct hub *h, struct hub_client *c, json_t *msg, const char *op, const char *key,
                 void (*fn)(struct hub *, struct hub_client *, json_t *)) {
  json_t *a = json_object_get(msg, key), *v;
  size_t i;
  if (!json_is_array(a)) return statusf(h, c, 2, "%s: \"%s\" must be an array", op, key);
  json_array_foreach(a, i, v) fn(h, c, v);
}

static void text_message(struct hub *h, struct hub_client *c, const void *data, size_t len) {
  json_error_t e;
  json_t *msg = json_loadb(data, len, 0, &e);
  const char *op = json_string_value(json_object_get(msg, "op"));
  char q[80];
  if (msg == NULL) {
    statusf(h, c, 2, "invalid JSON at line %d, column %d: %s", e.line, e.column, e.text);
  } else if (op == NULL) {
    hub_client_status(h, c, 2, "a message must be a JSON object with a string \"op\"");
  } else if (!strcmp(op, "subscribe")) {
    each(h, c, msg, op, "subscriptions", subscribe_one);
  } else if (!strcmp(op, "unsubscribe")) {
    each(h, c, msg, op, "subscriptionIds", unsubscribe_one);
  } else if (!strcmp(op, "advertise") || !strcmp(op, "unadvertise")) {
    if (!h->publish)
      statusf(h, c, 2, "%s: client publishing is off (start the server with --allow-publish)", op);
    else if (!strcmp(op, "advertise")) each(h, c, msg, op, "channels", advertise_one);
    else each(h, c, msg, op, "channelIds", unadvertise_one);
  } else if (!strcmp(op, "getParameters") || !strcmp(op, "setParameters") ||
             !strcmp(op, "subscribeParameterUpdates") ||
             !strcmp(op, "unsubscribeParameterUpdates") ||
             !strcmp(op, "subscribeConnectionGraph") || !strcmp(op, "unsubscribeConnectionGraph") ||
             !strcmp(op, "fetchAsset")) {
    statusf(h, c, 2, "%s: not supported by this server (see its capabilities)", op);
  } else {
    quote(op, q, sizeof q);
    statusf(h, c, 2, "unknown op '%s'", q);
  }
  json_decref(msg);
}

static void binary_message(struct hub *h, struct hub_client *c, const unsigned char *b,
                           size_t len) {
  struct cchan *cc;
  uint32_t id;
  char err[256];
  int rc;
  if (len < 1) return hub_client_status(h, c, 2, "empty binary message");
  if (b[0] == 2)
    return hub_client_status(h, c, 2, "service calls are not supported by this server");
  if (b[0] != 1) return statusf(h, c, 2, "unknown binary opcode 0x%02x", b[0]);
  if (!h->publish)
    return hub_client_status(h, c, 2,
                             "client publishing is off (start the server with --allow-publish)");
  if (len < 5) return hub_client_status(h, c, 2, "message data: shorter than its 5-byte header");
  id = (uint32_t)b[1] | (uint32_t)b[2] << 8 | (uint32_t)b[3] << 16 | (uint32_t)b[4] << 24;
  if ((cc = find_cchan(c, id)) == NULL)
    return statusf(h, c, 2, "message data: no client channel %" PRIu32 " (advertise it first)", id);
  err[0] = 0;
  if ((rc = h->ops->pub_write(h->ctx, cc->h, b + 5, len - 5, err, sizeof err)) < 0)
    statusf(h, c, 2, "message data on client channel %" PRIu32 ": %s", id,
            err[0] ? err : strerror(-rc));
}

int hub_client_message(struct hub *h, struct hub_client *c, const void *data, size_t len,
                       int binary) {
  if (len > HUB_MAX_CLIENT_MESSAGE) return -EMSGSIZE;
  if (binary) binary_message(h, c, data, len);
  else text_message(h, c, data, len);
  return c->overflow ? -ENOBUFS : 0;
}

/* ---------------------------------------------------------------- frames out */

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> 8 * i);
}

static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> 8 * i);
}

int hub_client_frame(struct hub *h, struct hub_client *c, unsigned char **buf, size_t *len,
                     int *binary) {
  struct tmsg *m;
  unsigned i;
  (void)h;
  if (c->overflow) return -ENOBUFS;
  if ((m = c->head) != NULL) { /* control messages first, in order */
    size_t need = HUB_PRE + m->len;
    if (need > c->sendcap) {
      unsigned char *nb = realloc(c->sendbuf, need);
      if (nb == NULL) return -ENOBUFS;
      c->sendbuf = nb;
      c->sendcap = need;
    }
    memcpy(c->sendbuf + HUB_PRE, m->buf + HUB_PRE, m->len);
    *buf = c->sendbuf;
    *len = m->len;
    *binary = 0;
    c->head = m->next;
    if (c->head == NULL) c->tail = &c->head;
    c->queued -= m->len;
    free(m);
    return 1;
  }
  for (i = 0; i < c->nsubs; i++) { /* then one record, subscriptions in turn */
    struct hub_sub *s = c->subs[(c->rr + i) % c->nsubs];
    struct serve_payload *p = s->pending;
    size_t need;
    if (p == NULL) continue;
    need = HUB_PRE + HUB_DATA_HEADER + p->len;
    if (need > c->sendcap) {
      unsigned char *nb = realloc(c->sendbuf, need);
      if (nb == NULL) return -ENOBUFS;
      c->sendbuf = nb;
      c->sendcap = need;
    }
    c->sendbuf[HUB_PRE] = 1;
    put32(c->sendbuf + HUB_PRE + 1, s->id);
    put64(c->sendbuf + HUB_PRE + 5, p->timestamp_ns);
    memcpy(c->sendbuf + HUB_PRE + HUB_DATA_HEADER, p->data, p->len);
    *len = HUB_DATA_HEADER + p->len;
    s->pending = NULL;
    if (s->more) { /* HUB_BROKEN_UNBOUNDED: the next queued one */
      struct hub_more *m = s->more;
      s->more = m->next;
      s->nmore--;
      s->pending = m->p;
      free(m);
    }
    serve_payload_unref(p);
    c->rr = (c->rr + i + 1) % c->nsubs;
    c->sent++;
    *buf = c->sendbuf;
    *binary = 1;
    return 1;
  }
  return 0;
}
