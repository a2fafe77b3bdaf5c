/* import.c - subscribe to remote buses' DDS topics and republish them on local buses.
 *
 * One thread (the importer thread) waits on a waitset holding two guard conditions (stop, and
 * "a bus must be made") and a read condition on the built-in DCPSPublication topic (discovery:
 * a remote writer of a shmbus topic appeared), and subscribes, up to --max-topics topics.
 * Samples are taken in each reader's data-available listener, which Cyclone DDS calls in the
 * thread that received them: no extra thread wakeup between the network and the local bus (it
 * cut the bridge's median latency from 108 to 67 us, bench/bridge/README.md). Cyclone never
 * runs one reader's listener twice at once.
 *
 * Every sample goes through bridge_check_sample() (accept.c): bounded geometry, a pinned
 * origin, plausible versions; older or equal versions are duplicates (dropped: order is
 * preserved and no record is delivered twice, e.g. after a restart), a jump counts the
 * versions in between as lost. Nothing a sample says is kept unless it was republished.
 *
 * The listener only ever publishes on a bus that is already open with the sample's geometry.
 * Otherwise it keeps the sample as the topic's pending record and wakes the importer thread,
 * which creates (or replaces) the bus, never in the receive thread, and publishes the pending
 * record. It only writes a bus that does not exist or that its marker proves it made
 * (bridge_bus_is_ours()): a local bus of the name is never adopted nor replaced.
 *
 * Schema: every sample carries its source bus's schema (empty for an untyped bus), checked by
 * accept.c (bounds, printable names, the hash recomputed). The schema hash is part of the
 * geometry: a sample whose schema differs from the bus's (the source bus was replaced by one
 * with another schema) makes the importer thread replace the bus, with the sample's schema.
 * Only then is the text copied (pending record); a sample for the bus as it is is published
 * straight from the DDS sample.
 *
 * Locking: im->lock guards the list (the importer thread adds; the status printer walks);
 * t->lock guards a topic's state between its listener and the importer thread. While
 * t->opening is set, the importer thread alone uses t->pub, t->marker_fd and t->last.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "bridge/bridge.h"
#include "bridge/bus_record.h"

#define BATCH 16
#define RETRY_NS 5000000000ull

struct importer;

struct geometry {
  char type[SHMBUS_TYPE_MAX + 1];
  uint32_t slots;
  uint64_t capacity;
  uint64_t schema_hash; /* 0: untyped */
};

/* A schema of the importer's own (the pending record's, or the one a bus is made with). */
struct schema_buf {
  char name[SHMBUS_TYPE_NAME_MAX + 1];
  char schema_encoding[SHMBUS_ENCODING_MAX + 1];
  char message_encoding[SHMBUS_ENCODING_MAX + 1];
  void *text;
  size_t len, cap;
  uint64_t hash;
};

struct import_topic {
  struct importer *im;
  char topic[BRIDGE_TOPIC_MAX];
  char bus[SHMBUS_NAME_MAX + 1];
  dds_entity_t reader;
  pthread_mutex_t lock;
  shmbus_pub *pub;     /* NULL until the importer thread made the bus */
  struct geometry geo; /* of pub */
  int opening;         /* the importer thread is making the bus: the listener only stashes */
  int need_open;       /* the pending record waits for a bus of its geometry */
  int refused;         /* the bus exists and is not ours (logged once) */
  int marker_fd;
  struct bridge_marker last;        /* the accepted state, as saved in the marker */
  struct bridge_source src;         /* what is believed about the source */
  dds_instance_handle_t pin_handle; /* DDS writer of the last accepted sample, 0 = unknown */
  struct {                          /* the newest accepted sample waiting for its bus */
    int have;
    struct bridge_sample s;
    char type[SHMBUS_TYPE_MAX + 1];
    struct schema_buf schema;
    uint64_t gap;
    dds_instance_handle_t handle;
    void *buf;
    size_t cap;
  } pend;
  struct schema_buf open_schema; /* the importer thread's copy of the pending schema */
  uint64_t retry_ns;             /* after a failed open: not again before this (monotonic) */
  unsigned logged;      /* verdicts already logged for this topic, one bit each (listener) */
  unsigned logged_open; /* the same for the importer thread's messages */
  struct bridge_import_stats st;
  struct import_topic *next;
};

struct importer {
  struct bridge *b;
  pthread_t thread;
  dds_entity_t ws, guard, work, pubreader;
  pthread_mutex_t lock; /* the list, against the status printer */
  struct import_topic *list;
  int n_topics;
  uint64_t topics_refused; /* under lock */
  dds_guid_t self;
};

static void import_on_data(dds_entity_t reader, void *arg);

static void count(atomic_uint_fast64_t *c, uint64_t n) {
  atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Resume after the last record a predecessor republished on bus @t->bus, if its marker (this
 * user's) names a bus that still exists and is ours; remove a marker that is stale. */
static void import_resume(struct import_topic *t) {
  struct bridge_marker m;
  struct shmbus_bus_info info;
  int rc = bridge_marker_read(t->bus, geteuid(), &m);
  if (rc == -EPERM) {
    bridge_log("import %s: marker /dev/shm/shmbridge.%s is not this user's regular file; "
               "ignored",
               t->topic, t->bus);
    return;
  }
  if (rc < 0) return;
  rc = shmbus_stat(t->bus, &info);
  if (rc == -ENOENT || (rc == 0 && !bridge_bus_is_ours(t->bus, &info, &m))) {
    bridge_marker_remove(t->bus); /* stale: its bus is gone or is somebody else's now */
    return;
  }
  uint64_t now = bridge_now_ns(), real = realtime_ns();
  uint64_t age = m.saved_ns && real > m.saved_ns ? real - m.saved_ns : 0;
  t->last = m;
  t->last.received = t->last.lost = 0; /* counts are this importer's own */
  t->src.have = 1;
  t->src.origin = m.origin;
  t->src.bus_id = m.bus_id;
  t->src.version = m.version;
  t->src.accepted_ns = now > age ? now - age : 0;
}

static void import_subscribe(struct importer *im, const char *topic_name, const char *remote) {
  struct bridge *b = im->b;
  struct import_topic *t;
  dds_entity_t topic;
  dds_listener_t *l;
  dds_qos_t *q;
  for (t = im->list; t; t = t->next)
    if (strcmp(t->topic, topic_name) == 0) return;
  if (im->n_topics >= b->cfg.max_topics) {
    pthread_mutex_lock(&im->lock);
    uint64_t refused = im->topics_refused++;
    pthread_mutex_unlock(&im->lock);
    if (refused == 0)
      bridge_log("import %s: not imported: --max-topics %d reached (further refusals are "
                 "counted in the status, not logged)",
                 topic_name, b->cfg.max_topics);
    return;
  }
  t = calloc(1, sizeof *t);
  if (t == NULL) return;
  snprintf(t->topic, sizeof t->topic, "%s", topic_name);
  if ((size_t)snprintf(t->bus, sizeof t->bus, "%s%s", b->cfg.prefix, remote) >= sizeof t->bus ||
      shmbus_name_check(t->bus) < 0) {
    bridge_log("import %s: \"%s%s\" is not a valid bus name; not imported", topic_name,
               b->cfg.prefix, remote);
    free(t);
    return;
  }
  t->marker_fd = -1;
  t->im = im;
  pthread_mutex_init(&t->lock, NULL);
  import_resume(t);
  topic = dds_create_topic(b->participant, &shmbus_dds_BusRecord_desc, topic_name, NULL, NULL);
  q = bridge_qos(&b->cfg, 1);
  l = dds_create_listener(t);
  dds_lset_data_available(l, import_on_data);
  /* The listener may run (history of a transient-local writer) before this returns: it gets
   * the reader as an argument and touches only @t, which is complete by now. */
  t->reader = topic < 0 ? topic : dds_create_reader(b->participant, topic, q, l);
  dds_delete_listener(l);
  dds_delete_qos(q);
  if (t->reader < 0) {
    bridge_log("import %s: cannot subscribe: %s", topic_name, dds_strretcode(t->reader));
    pthread_mutex_destroy(&t->lock);
    free(t);
    return;
  }
  pthread_mutex_lock(&im->lock);
  t->next = im->list;
  im->list = t;
  im->n_topics++;
  pthread_mutex_unlock(&im->lock);
  if (b->cfg.verbose) bridge_log("import %s -> bus %s", topic_name, t->bus);
}

/* A new publication on the network: subscribe when it is a shmbus topic we import. */
static void import_discover(struct importer *im) {
  void *samples[BATCH] = {NULL};
  dds_sample_info_t infos[BATCH];
  int n = dds_take(im->pubreader, samples, infos, BATCH, BATCH);
  for (int i = 0; i < n; i++) {
    const dds_builtintopic_endpoint_t *ep = samples[i];
    char remote[SHMBUS_NAME_MAX + 1];
    if (!infos[i].valid_data || strcmp(ep->type_name, BRIDGE_TYPE_NAME) != 0) continue;
    if (memcmp(&ep->participant_key, &im->self, sizeof im->self) == 0) continue; /* our own */
    if (bridge_bus_name(ep->topic_name, remote, sizeof remote) < 0) continue;
    if (bridge_match(im->b->cfg.imports, im->b->cfg.n_imports, remote))
      import_subscribe(im, ep->topic_name, remote);
  }
  if (n > 0) dds_return_loan(im->pubreader, samples, n);
}

/* Log verdict or event @bit the first time only (@mask: the listener's or the thread's). */
static int first_time(unsigned *mask, unsigned bit) {
  if (*mask & (1u << bit)) return 0;
  *mask |= 1u << bit;
  return 1;
}
#define LOG_REFUSED 0
#define LOG_OPEN 1

/* 1 when the writer of the last accepted sample is still matched with @t's reader. When it is
 * not known (resumed from a marker), 1 when any writer other than @sender is matched. */
static int pinned_alive(struct import_topic *t, dds_instance_handle_t sender) {
  dds_instance_handle_t h[64];
  dds_return_t n = dds_get_matched_publications(t->reader, h, 64);
  for (int i = 0; i < n && i < 64; i++)
    if (t->pin_handle ? h[i] == t->pin_handle : h[i] != sender) return 1;
  return n > 64; /* too many to tell: keep the pin */
}

/* Sample @s was republished: it is the source's state, saved in the marker. */
static void import_accepted(struct import_topic *t, const struct bridge_sample *s, uint64_t gap,
                            dds_instance_handle_t handle) {
  if (t->src.have && s->origin != t->src.origin)
    bridge_log("import %s: the source changed from host %016" PRIx64 " (gone) to host %016" PRIx64,
               t->topic, t->src.origin, s->origin);
  else if (t->src.have && gap == UINT64_MAX && s->bus_id == t->src.bus_id)
    bridge_log("import %s: resynchronised to version %" PRIu64 " after %d consistent samples "
               "(the last version believed, %" PRIu64 ", was implausible)",
               t->topic, s->version, BRIDGE_RESYNC_RUN, t->src.version);
  if (gap != UINT64_MAX && gap > 0) count(&t->st.lost, gap);
  count(&t->st.received, 1);
  bridge_source_accept(&t->src, s, bridge_now_ns());
  t->pin_handle = handle;
  t->last.origin = s->origin;
  t->last.bus_id = s->bus_id;
  t->last.version = s->version;
  t->last.received = atomic_load_explicit(&t->st.received, memory_order_relaxed);
  t->last.lost = atomic_load_explicit(&t->st.lost, memory_order_relaxed);
  t->last.saved_ns = realtime_ns();
  if (t->marker_fd >= 0) bridge_marker_update(t->marker_fd, &t->last);
}

static void import_rejected(struct import_topic *t, enum bridge_verdict v,
                            const struct bridge_sample *s) {
  struct bridge_config *c = &t->im->b->cfg;
  if (v == BRIDGE_DUP || v == BRIDGE_OWN) {
    count(v == BRIDGE_DUP ? &t->st.dup : &t->st.own, 1);
    return;
  }
  count(&t->st.rejected, 1);
  if (!first_time(&t->logged, v)) return;
  if (v == BRIDGE_TOO_BIG)
    bridge_log("import %s: sample refused: its bus would take %" PRIu64 " bytes (%u slots x "
               "%" PRIu64 ", schema %" PRIu64 "), more than --max-bus-bytes %" PRIu64,
               t->topic, bridge_bus_bytes(s->slots, s->capacity) + bridge_schema_bytes(s),
               (unsigned)s->slots, s->capacity, bridge_schema_bytes(s), c->max_bus_bytes);
  else if (v == BRIDGE_FOREIGN)
    bridge_log("import %s: sample from a second origin, host %016" PRIx64 ", refused: the "
               "topic's source is host %016" PRIx64 ", still present (two exporters of one "
               "bus name, or a forgery)",
               t->topic, s->origin, t->src.origin);
  else if (v == BRIDGE_BAD_SCHEMA)
    bridge_log("import %s: sample refused: its schema (type name, encodings, %" PRIu64
               " bytes of text) is out of bounds, not printable, or does not match its hash "
               "%016" PRIx64,
               t->topic, s->schema_len, s->schema_hash);
  else if (v == BRIDGE_IMPLAUSIBLE)
    bridge_log("import %s: sample refused: implausible version %" PRIu64 " of source bus %" PRIu64
               " after version %" PRIu64 " of bus %" PRIu64,
               t->topic, s->version, s->bus_id, t->src.version, t->src.bus_id);
  else
    bridge_log("import %s: malformed sample (%u slots, capacity %" PRIu64 ", %u bytes); "
               "dropped",
               t->topic, (unsigned)s->slots, s->capacity, (unsigned)s->length);
}

/* Copy the schema of sample @s (checked: names bounded) into @d. Return: 0; -ENOMEM. */
static int schema_copy(struct schema_buf *d, const struct bridge_sample *s) {
  struct shmbus_schema sc;
  bridge_sample_schema(s, &sc);
  if (d->cap < sc.text_len) {
    void *nb = realloc(d->text, sc.text_len);
    if (nb == NULL) return -ENOMEM;
    d->text = nb;
    d->cap = sc.text_len;
  }
  snprintf(d->name, sizeof d->name, "%s", sc.type_name);
  snprintf(d->schema_encoding, sizeof d->schema_encoding, "%s", sc.schema_encoding);
  snprintf(d->message_encoding, sizeof d->message_encoding, "%s", sc.message_encoding);
  if (sc.text_len) memcpy(d->text, sc.text, sc.text_len);
  d->len = sc.text_len;
  d->hash = sc.hash;
  return 0;
}

/* Keep accepted sample @r as the pending record and wake the importer thread to make its bus. */
static void import_stash(struct import_topic *t, const shmbus_dds_BusRecord *r,
                         const struct bridge_sample *s, uint64_t gap, dds_instance_handle_t h) {
  if (t->pend.cap < r->payload._length) {
    void *nb = realloc(t->pend.buf, r->payload._length);
    if (nb == NULL) {
      count(&t->st.errors, 1);
      return;
    }
    t->pend.buf = nb;
    t->pend.cap = r->payload._length;
  }
  if (schema_copy(&t->pend.schema, s) < 0) {
    count(&t->st.errors, 1);
    return;
  }
  if (r->payload._length) memcpy(t->pend.buf, r->payload._buffer, r->payload._length);
  snprintf(t->pend.type, sizeof t->pend.type, "%s", r->type_tag);
  t->pend.s = *s;
  t->pend.s.type_tag = t->pend.type;
  t->pend.s.schema_name = t->pend.schema.name;
  t->pend.s.schema_encoding = t->pend.schema.schema_encoding;
  t->pend.s.message_encoding = t->pend.schema.message_encoding;
  t->pend.s.schema = t->pend.schema.text;
  t->pend.gap = gap; /* against the unchanged source state: a replaced one counts as lost */
  t->pend.handle = h;
  t->pend.have = 1;
  if (!t->need_open) {
    t->need_open = 1;
    dds_set_guardcondition(t->im->work, true);
  }
}

static int geometry_is(const struct import_topic *t, const struct bridge_sample *s) {
  return t->pub && t->geo.slots == s->slots && t->geo.capacity == s->capacity &&
         strcmp(t->geo.type, s->type_tag) == 0 && t->geo.schema_hash == s->schema_hash;
}

/* One sample of topic @t. Context: the listener, with t->lock held. */
static void import_record(struct import_topic *t, const shmbus_dds_BusRecord *r,
                          dds_instance_handle_t handle) {
  struct bridge *b = t->im->b;
  struct bridge_sample s = {r->origin,           r->bus_id,         r->version,
                            r->capacity,         r->slots,          r->payload._length,
                            r->type_tag,         r->schema_name,    r->schema_encoding,
                            r->message_encoding, r->schema._buffer, r->schema._length,
                            r->schema_hash};
  uint64_t gap;
  int alive = t->src.have && r->origin != t->src.origin ? pinned_alive(t, handle) : 1;
  enum bridge_verdict v = bridge_check_sample(&t->src, &s, b->cfg.allow_same_host ? 0 : b->origin,
                                              b->cfg.max_bus_bytes, alive, bridge_now_ns(), &gap);
  if (v != BRIDGE_ACCEPT) import_rejected(t, v, &s);
  else if (t->opening || t->need_open || !geometry_is(t, &s)) import_stash(t, r, &s, gap, handle);
  else if (shmbus_pub_publish(t->pub, r->payload._buffer, r->payload._length) < 0)
    count(&t->st.errors, 1); /* the gap, this record included, counts at the next */
  else import_accepted(t, &s, gap, handle);
}

/* Data-available listener of a topic's reader; runs in a Cyclone DDS receive thread. */
static void import_on_data(dds_entity_t reader, void *arg) {
  struct import_topic *t = arg;
  void *samples[BATCH] = {NULL};
  dds_sample_info_t infos[BATCH];
  dds_sample_lost_status_t lost;
  int n;
  while ((n = dds_take(reader, samples, infos, BATCH, BATCH)) > 0) {
    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < n; i++)
      if (infos[i].valid_data) import_record(t, samples[i], infos[i].publication_handle);
    pthread_mutex_unlock(&t->lock);
    dds_return_loan(reader, samples, n);
  }
  if (dds_get_sample_lost_status(reader, &lost) == 0 && lost.total_count_change > 0)
    count(&t->st.dds_lost, (uint64_t)lost.total_count_change);
}

/* Refuse to write bus @t->bus: it exists and is not ours. Logged once per name.
 * Return: -EEXIST. */
static int import_refuse(struct import_topic *t, const char *why) {
  if (first_time(&t->logged_open, LOG_REFUSED))
    bridge_log("import %s: bus %s %s; this bridge never writes a bus it did not create: "
               "nothing imported (remove the bus, or import under another name with "
               "--prefix); looking again every 5 s",
               t->topic, t->bus, why);
  return -EEXIST;
}

/* Take the marker of bus @t->bus for this importer; @info is the existing bus or NULL. */
static int import_mark(struct import_topic *t, const struct shmbus_bus_info *info) {
  int rc;
  if (t->marker_fd >= 0) return 0;
  t->last.pid = getpid();
  t->last.bus_created = info ? info->created_ns : 0;
  rc = bridge_marker_open(t->bus, &t->last);
  if (rc < 0) {
    if (first_time(&t->logged_open, LOG_OPEN))
      bridge_log("import %s: cannot write the marker of bus %s: %s; retrying every 5 s", t->topic,
                 t->bus, strerror(-rc));
    return rc;
  }
  t->marker_fd = rc;
  return 0;
}

/* Become the writer of bus @t->bus with geometry @g, if it is ours to write: absent, or made
 * by this user's importer (its marker says so). Context: the importer thread, t->opening set.
 * Return: 0; -EEXIST (the bus is not ours: refused); another negative errno. */
static int import_open(struct import_topic *t, const struct geometry *g,
                       const struct schema_buf *sb) {
  struct shmbus_pub_opts o;
  struct shmbus_schema sc = {sb->name, sb->schema_encoding, sb->message_encoding, sb->text, sb->len,
                             sb->hash};
  struct shmbus_bus_info info;
  struct bridge_marker m, prev;
  int rc = shmbus_stat(t->bus, &info), had_prev, bus_existed = rc == 0;
  if (rc == 0) {
    if (bridge_marker_read(t->bus, geteuid(), &m) < 0 || !bridge_bus_is_ours(t->bus, &info, &m))
      return import_refuse(t, "exists and was not made by this bridge's user as an import");
  } else if (rc != -ENOENT) {
    char why[160];
    snprintf(why, sizeof why, "exists but cannot be examined (%s)", shmbus_strerror(rc));
    return import_refuse(t, why);
  }
  had_prev = bridge_marker_read(t->bus, geteuid(), &prev) == 0;
  /* The marker comes first, so that no exporter ever sees this bus written by us unmarked. */
  if ((rc = import_mark(t, rc == 0 ? &info : NULL)) < 0) return rc;
  shmbus_pub_opts_init(&o);
  o.slots = g->slots;
  o.capacity = g->capacity;
  o.type = g->type;
  o.schema = &sc; /* an empty one for an untyped source: never adopt a previous schema */
  o.mode = t->im->b->cfg.mode;
  /* A bus that was absent must still be absent: a local program that creates the name between
   * our look and this open keeps its bus (-EEXIST: refused below). */
  if (!bus_existed) o.flags = SHMBUS_PUB_CREATE;
  rc = shmbus_pub_open(t->bus, &o, &t->pub);
  if (rc < 0) {
    pid_t holder = rc == -EBUSY ? shmbus_lock_holder(t->bus) : 0;
    if (rc == -EEXIST) import_refuse(t, "appeared locally while this bridge was creating it");
    else if (first_time(&t->logged_open, LOG_OPEN))
      bridge_log("import %s: cannot write bus %s: %s%s; retrying every 5 s", t->topic, t->bus,
                 shmbus_strerror(rc),
                 holder > 0 ? " (another importer of this user holds it)" : "");
    t->pub = NULL;
    /* Hand the marker back to the importer that still writes the bus, if any, so that
     * exporters keep skipping it. */
    close(t->marker_fd);
    t->marker_fd = -1;
    if (had_prev) {
      int fd = bridge_marker_open(t->bus, &prev);
      if (fd >= 0) close(fd);
    } else {
      bridge_marker_remove(t->bus);
    }
    return rc;
  }
  shmbus_pub_info(t->pub, &info);
  t->last.bus_created = info.created_ns;
  bridge_marker_update(t->marker_fd, &t->last);
  t->geo = *g;
  t->logged_open = 0;
  return 0;
}

/* Make the bus that topic @t's pending record needs, then publish it. Context: the importer
 * thread (bus creation pre-faults the whole segment: never in a receive thread). */
static void import_make_bus(struct import_topic *t) {
  struct geometry g;
  shmbus_pub *old;
  int rc;
  pthread_mutex_lock(&t->lock);
  if (!t->need_open || t->opening || bridge_now_ns() < t->retry_ns) {
    pthread_mutex_unlock(&t->lock);
    return;
  }
  snprintf(g.type, sizeof g.type, "%s", t->pend.type);
  g.slots = t->pend.s.slots;
  g.capacity = t->pend.s.capacity;
  g.schema_hash = t->pend.s.schema_hash;
  if (schema_copy(&t->open_schema, &t->pend.s) < 0) { /* the listener may change pend */
    t->retry_ns = bridge_now_ns() + RETRY_NS;
    pthread_mutex_unlock(&t->lock);
    return;
  }
  t->opening = 1;
  old = t->pub;
  t->pub = NULL;
  pthread_mutex_unlock(&t->lock);

  shmbus_pub_close(old); /* a new geometry: the bus is replaced below (readers get -ESTALE) */
  rc = import_open(t, &g, &t->open_schema);

  pthread_mutex_lock(&t->lock);
  t->opening = 0;
  t->refused = rc == -EEXIST;
  if (rc < 0) {
    t->retry_ns = bridge_now_ns() + RETRY_NS;
  } else if (t->pend.have && geometry_is(t, &t->pend.s)) {
    if (shmbus_pub_publish(t->pub, t->pend.buf, t->pend.s.length) == 0)
      import_accepted(t, &t->pend.s, t->pend.gap, t->pend.handle);
    else count(&t->st.errors, 1);
    t->pend.have = 0;
    t->need_open = 0;
  } /* else: the geometry changed again meanwhile; the next round makes that bus */
  pthread_mutex_unlock(&t->lock);
}

static void import_service(struct importer *im) {
  pthread_mutex_lock(&im->lock);
  struct import_topic *list = im->list; /* entries are only freed after this thread ended */
  pthread_mutex_unlock(&im->lock);
  for (struct import_topic *t = list; t; t = t->next) import_make_bus(t);
}

static void *import_run(void *arg) {
  struct importer *im = arg;
  dds_attach_t trig[BATCH];
  while (!atomic_load_explicit(&im->b->stop, memory_order_relaxed)) {
    int n = dds_waitset_wait(im->ws, trig, BATCH, DDS_MSECS(500));
    bool work;
    for (int i = 0; i < n && i < BATCH; i++)
      if (trig[i] == 0) import_discover(im);
    dds_take_guardcondition(im->work, &work);
    import_service(im); /* pending records, and retries that are due */
  }
  return NULL;
}

int importer_start(struct bridge *b) {
  struct importer *im = calloc(1, sizeof *im);
  dds_entity_t rc;
  if (im == NULL) return -ENOMEM;
  im->b = b;
  pthread_mutex_init(&im->lock, NULL);
  dds_get_guid(b->participant, &im->self);
  im->ws = dds_create_waitset(b->participant);
  im->guard = dds_create_guardcondition(b->participant);
  im->work = dds_create_guardcondition(b->participant);
  im->pubreader = dds_create_reader(b->participant, DDS_BUILTIN_TOPIC_DCPSPUBLICATION, NULL, NULL);
  if (im->ws < 0 || im->guard < 0 || im->work < 0 || im->pubreader < 0) {
    bridge_log("import: cannot set up DDS discovery: %s",
               dds_strretcode(im->pubreader < 0 ? im->pubreader : im->ws));
    free(im);
    return -EIO;
  }
  rc = dds_create_readcondition(im->pubreader, DDS_ANY_STATE);
  dds_waitset_attach(im->ws, rc, 0);
  dds_waitset_attach(im->ws, im->guard, 1);
  dds_waitset_attach(im->ws, im->work, 2);
  b->imp = im;
  if (pthread_create(&im->thread, NULL, import_run, im) != 0) {
    b->imp = NULL;
    free(im);
    return -EAGAIN;
  }
  return 0;
}

void importer_status(struct bridge *b, FILE *f) {
  struct importer *im = b->imp;
  if (im == NULL) return;
  pthread_mutex_lock(&im->lock);
  for (struct import_topic *t = im->list; t; t = t->next) {
#define C(x) (unsigned long long)atomic_load_explicit(&t->st.x, memory_order_relaxed)
    pthread_mutex_lock(&t->lock);
    int refused = t->refused;
    pthread_mutex_unlock(&t->lock);
    fprintf(f,
            "import %s -> %s: received %llu, lost %llu, dup %llu, dds-lost %llu, "
            "own %llu, errors %llu, rejected %llu%s\n",
            t->topic, t->bus, C(received), C(lost), C(dup), C(dds_lost), C(own), C(errors),
            C(rejected), refused ? " (not written: the bus exists and is not this bridge's)" : "");
#undef C
  }
  if (im->topics_refused)
    fprintf(f, "import: %llu topic(s) not imported: --max-topics %d reached\n",
            (unsigned long long)im->topics_refused, b->cfg.max_topics);
  pthread_mutex_unlock(&im->lock);
}

/* importer_stop() - after b->stop is set: wake and join the thread, close every bus (readers
 * that wait through writer deaths keep their mapping and resume when a bridge comes back). */
void importer_stop(struct bridge *b) {
  struct importer *im = b->imp;
  if (im == NULL) return;
  dds_set_guardcondition(im->guard, true);
  pthread_join(im->thread, NULL);
  while (im->list) {
    struct import_topic *t = im->list;
    im->list = t->next;
    dds_delete(t->reader); /* waits for a listener call in progress */
    shmbus_pub_close(t->pub);
    if (t->marker_fd >= 0) close(t->marker_fd);
    free(t->pend.buf);
    free(t->pend.schema.text);
    free(t->open_schema.text);
    pthread_mutex_destroy(&t->lock);
    free(t);
  }
  pthread_mutex_destroy(&im->lock);
  free(im);
  b->imp = NULL;
}
