/* export.c - follow local buses and write every record on their DDS topics.
 *
 * One thread per exported bus: it waits on the bus (hybrid spin/futex, through writer deaths),
 * reads every record in order with shmbus_sub_next() and dds_write()s it. A record the local
 * writer overwrote before the thread read it counts as "lapped" and shows up remotely as a
 * version gap. The main thread calls exporter_scan() every second to pick up new buses that
 * match the patterns and to reap threads whose bus went away.
 *
 * Permissions: DDS readers anywhere on the network get what is exported, so a bus is exported
 * only if every local user could read it (mode o+r), unless it matches an --export-private
 * pattern. A bus that is refused is listed in the status (and logged once); it is looked at
 * again at every scan, so a chmod takes effect. A following thread stops when its bus stops
 * being exportable (replaced by a private one).
 *
 * Schema: every sample carries the bus's schema (shmbus_sub_schema(); empty for an untyped
 * bus), pointing into the subscriber's private copy: nothing is copied before dds_write()
 * serialises it. A replaced bus is reopened, so a new schema goes out with its first record.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/shmbus.h"
#include "bridge/bridge.h"
#include "bridge/bus_record.h"

struct export_bus {
  char name[SHMBUS_NAME_MAX + 1];
  char topic[BRIDGE_TOPIC_MAX];
  struct bridge *b;
  pthread_t thread;
  atomic_int done; /* the thread has ended: join it, forget the entry after retry_ns */
  int joined;
  int refused; /* not exported (mode); no thread */
  mode_t mode;
  uid_t uid;
  uint64_t retry_ns; /* set by the thread before done: when the bus may be tried again */
  struct bridge_export_stats st;
  struct export_bus *next;
};

struct exporter {
  struct export_bus *list; /* only the main thread walks and changes the list */
  struct logged {          /* names whose refusal was logged: once per name */
    char name[SHMBUS_NAME_MAX + 1];
    struct logged *next;
  } * logged;
};

/* 1 when bus @name, seen as @info, may be exported: readable by every user, or allowed
 * explicitly by an --export-private pattern. */
static int export_allowed(const struct bridge *b, const char *name,
                          const struct shmbus_bus_info *info) {
  return (info->mode & S_IROTH) || bridge_match(b->cfg.privates, b->cfg.n_privates, name);
}

#define WAIT_NS (200 * 1000 * 1000)

/* Open bus @e->name for export; 0, or 1 when it must not be exported (imported, gone, or an
 * error: then not tried again for 10 s, so that the log is not flooded). */
static int export_open(struct export_bus *e, shmbus_sub **s, struct shmbus_bus_info *info,
                       void **buf) {
  int rc = shmbus_sub_open(e->name, 0, s);
  void *nb;
  if (rc < 0) {
    if (rc != -ENOENT) {
      bridge_log("export %s: %s; trying again in 10 s", e->name, shmbus_strerror(rc));
      e->retry_ns = bridge_now_ns() + 10000000000ull;
    }
    return 1;
  }
  shmbus_sub_info(*s, info);
  if (!export_allowed(e->b, e->name, info)) {
    bridge_log("export %s: not exported: mode %04o is not world-readable (see --export-private)",
               e->name, (unsigned)info->mode);
    e->retry_ns = bridge_now_ns() + 10000000000ull;
    return 1;
  }
  if (bridge_is_imported(e->name, info)) {
    if (e->b->cfg.verbose)
      bridge_log("export %s: not exported: an importer writes it (no loops)", e->name);
    return 1;
  }
  nb = realloc(*buf, info->capacity);
  if (nb == NULL) {
    bridge_log("export %s: no memory for a %llu-byte record", e->name,
               (unsigned long long)info->capacity);
    e->retry_ns = bridge_now_ns() + 10000000000ull;
    return 1;
  }
  *buf = nb;
  return 0;
}

/* Write every record newer than the cursor. Return 0, or a shmbus error (-ESTALE). */
static int export_drain(struct export_bus *e, dds_entity_t w, shmbus_sub *s,
                        const struct shmbus_bus_info *info, void *buf) {
  shmbus_dds_BusRecord r;
  struct shmbus_record_info ri;
  struct shmbus_schema sc;
  ssize_t n;
  memset(&r, 0, sizeof r);
  r.origin = e->b->origin;
  r.bus_id = info->created_ns;
  r.capacity = info->capacity;
  r.slots = info->slots;
  memcpy(r.type_tag, info->type, sizeof r.type_tag);
  if (shmbus_sub_schema(s, &sc) == 0) { /* bounded by the reader: the copies fit */
    snprintf(r.schema_name, sizeof r.schema_name, "%s", sc.type_name);
    snprintf(r.schema_encoding, sizeof r.schema_encoding, "%s", sc.schema_encoding);
    snprintf(r.message_encoding, sizeof r.message_encoding, "%s", sc.message_encoding);
    r.schema_hash = sc.hash;
    r.schema._buffer = (uint8_t *)(uintptr_t)sc.text;
    r.schema._length = r.schema._maximum = (uint32_t)sc.text_len;
    r.schema._release = false;
  }
  while ((n = shmbus_sub_next(s, buf, info->capacity, &ri)) >= 0) {
    r.version = ri.version;
    r.timestamp_ns = ri.timestamp_ns;
    r.payload._buffer = buf;
    r.payload._length = r.payload._maximum = (uint32_t)n;
    r.payload._release = false;
    if (ri.lost) atomic_fetch_add_explicit(&e->st.lapped, ri.lost, memory_order_relaxed);
    dds_return_t rc = dds_write(w, &r);
    if (rc < 0) {
      atomic_fetch_add_explicit(&e->st.errors, 1, memory_order_relaxed);
      if (e->b->cfg.verbose) bridge_log("export %s: dds_write: %s", e->name, dds_strretcode(rc));
    } else {
      atomic_fetch_add_explicit(&e->st.sent, 1, memory_order_relaxed);
    }
  }
  return n == -EAGAIN ? 0 : (int)n;
}

static void *export_run(void *arg) {
  struct export_bus *e = arg;
  struct bridge *b = e->b;
  struct shmbus_bus_info info;
  shmbus_sub *s = NULL;
  void *buf = NULL;
  dds_entity_t topic, w = 0;
  dds_qos_t *q;
  uint64_t last_check = bridge_now_ns();

  topic = dds_create_topic(b->participant, &shmbus_dds_BusRecord_desc, e->topic, NULL, NULL);
  if (topic < 0) {
    bridge_log("export %s: cannot create topic %s: %s", e->name, e->topic, dds_strretcode(topic));
    e->retry_ns = bridge_now_ns() + 10000000000ull;
    goto out;
  }
  q = bridge_qos(&b->cfg, 0);
  w = dds_create_writer(b->participant, topic, q, NULL);
  dds_delete_qos(q);
  if (w < 0) {
    bridge_log("export %s: cannot create a DDS writer: %s", e->name, dds_strretcode(w));
    e->retry_ns = bridge_now_ns() + 10000000000ull;
    goto out;
  }
  if (export_open(e, &s, &info, &buf) != 0) goto out;
  if (b->cfg.verbose)
    bridge_log("export %s -> %s (type \"%s\", schema \"%s\")", e->name, e->topic, info.type,
               info.type_name);
  while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
    int rc = shmbus_sub_wait(s, WAIT_NS, b->cfg.wait_mode | SHMBUS_WAIT_THROUGH_DEATH);
    if (rc == 0) rc = export_drain(e, w, s, &info, buf);
    if (rc == -ESTALE) { /* replaced or removed: reopen by name, or end when it is gone */
      shmbus_sub_close(s);
      s = NULL;
      if (export_open(e, &s, &info, &buf) != 0) break;
      continue;
    }
    if (rc < 0 && rc != -ETIMEDOUT) {
      bridge_log("export %s: %s; stopping this bus for 10 s", e->name, shmbus_strerror(rc));
      e->retry_ns = bridge_now_ns() + 10000000000ull;
      break;
    }
    if (bridge_now_ns() - last_check > 1000000000ull) { /* an importer took the bus over? */
      last_check = bridge_now_ns();
      shmbus_sub_info(s, &info);
      if (bridge_is_imported(e->name, &info)) {
        bridge_log("export %s: an importer now writes this bus; no longer exported", e->name);
        break;
      }
      if (!export_allowed(b, e->name, &info)) {
        bridge_log("export %s: mode is now %04o, not world-readable; no longer exported", e->name,
                   (unsigned)info.mode);
        break;
      }
    }
  }
out:
  shmbus_sub_close(s);
  free(buf);
  /* Deleting the writer also withdraws its transient-local copy: a bus that is gone is no
   * longer offered to late joiners. The topic goes with the participant. */
  if (w > 0) dds_delete(w);
  atomic_store_explicit(&e->done, 1, memory_order_release);
  return NULL;
}

static int export_exists(struct exporter *x, const char *name) {
  for (struct export_bus *e = x->list; e; e = e->next)
    if (strcmp(e->name, name) == 0) return 1;
  return 0;
}

/* Log that bus @name is not exported, the first time only. */
static void export_refuse_log(struct exporter *x, const char *name, mode_t mode, uid_t uid) {
  struct logged *l;
  for (l = x->logged; l; l = l->next)
    if (strcmp(l->name, name) == 0) return;
  bridge_log("export %s: not exported: mode %04o (owner uid %d) is not world-readable; "
             "export it anyway with --export-private '%s'",
             name, (unsigned)mode, (int)uid, name);
  if ((l = calloc(1, sizeof *l)) == NULL) return;
  snprintf(l->name, sizeof l->name, "%s", name);
  l->next = x->logged;
  x->logged = l;
}

static int scan_one(const char *name, void *arg) {
  struct bridge *b = arg;
  struct exporter *x = b->exp;
  struct shmbus_bus_info info;
  struct export_bus *e;
  int allowed;
  if (!bridge_match(b->cfg.exports, b->cfg.n_exports, name) || export_exists(x, name)) return 0;
  if (shmbus_stat(name, &info) < 0 || bridge_is_imported(name, &info)) return 0;
  allowed = export_allowed(b, name, &info);
  if (!allowed) export_refuse_log(x, name, info.mode, info.uid);
  e = calloc(1, sizeof *e);
  if (e == NULL) return -ENOMEM;
  snprintf(e->name, sizeof e->name, "%s", name);
  if (bridge_topic_name(name, e->topic, sizeof e->topic) < 0) {
    free(e);
    return 0;
  }
  e->b = b;
  if (!allowed) { /* listed (status) without a thread; looked at again at the next scan */
    e->refused = e->joined = 1;
    e->mode = info.mode;
    e->uid = info.uid;
    atomic_store_explicit(&e->done, 1, memory_order_relaxed);
    e->next = x->list;
    x->list = e;
    return 0;
  }
  if (pthread_create(&e->thread, NULL, export_run, e) != 0) {
    bridge_log("export %s: cannot start a thread", name);
    free(e);
    return 0;
  }
  e->next = x->list;
  x->list = e;
  return 0;
}

/* exporter_scan() - reap threads whose bus ended, start one per new matching bus.
 * Context: the main thread only. */
int exporter_scan(struct bridge *b) {
  struct export_bus **pe = &b->exp->list;
  uint64_t now = bridge_now_ns();
  while (*pe) {
    struct export_bus *e = *pe;
    if (atomic_load_explicit(&e->done, memory_order_acquire)) {
      if (!e->joined) pthread_join(e->thread, NULL);
      e->joined = 1;
      if (now < e->retry_ns) { /* keep it listed: not retried yet */
        pe = &e->next;
        continue;
      }
      *pe = e->next;
      free(e);
    } else {
      pe = &e->next;
    }
  }
  return shmbus_list(scan_one, b);
}

int exporter_start(struct bridge *b) {
  b->exp = calloc(1, sizeof *b->exp);
  if (b->exp == NULL) return -ENOMEM;
  return exporter_scan(b);
}

void exporter_status(struct bridge *b, FILE *f) {
  if (b->exp == NULL) return;
  for (struct export_bus *e = b->exp->list; e; e = e->next)
    if (e->refused)
      fprintf(f, "export %s: not exported (mode %04o, owner uid %d, not world-readable)\n", e->name,
              (unsigned)e->mode, (int)e->uid);
    else
      fprintf(f, "export %s -> %s: sent %llu, lapped %llu, errors %llu%s\n", e->name, e->topic,
              (unsigned long long)atomic_load_explicit(&e->st.sent, memory_order_relaxed),
              (unsigned long long)atomic_load_explicit(&e->st.lapped, memory_order_relaxed),
              (unsigned long long)atomic_load_explicit(&e->st.errors, memory_order_relaxed),
              atomic_load_explicit(&e->done, memory_order_relaxed) ? " (ended)" : "");
}

/* exporter_stop() - after b->stop is set: join every thread (each notices within 200 ms). */
void exporter_stop(struct bridge *b) {
  if (b->exp == NULL) return;
  while (b->exp->list) {
    struct export_bus *e = b->exp->list;
    if (!e->joined) pthread_join(e->thread, NULL);
    b->exp->list = e->next;
    free(e);
  }
  while (b->exp->logged) {
    struct logged *l = b->exp->logged;
    b->exp->logged = l->next;
    free(l);
  }
  free(b->exp);
  b->exp = NULL;
}
