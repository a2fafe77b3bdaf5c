/* bridge.h - shmbridge: bridge shmbus buses to other hosts over Cyclone DDS.
 *
 * Export: a thread per local bus follows it with shmbus_sub_next() and writes each record as a
 * shmbus_dds_BusRecord sample on the DDS topic named after the bus (bridge_topic_name()).
 * Import: one thread discovers remote writers of such topics through the DCPSPublication built-in
 * topic, subscribes to those matching the import patterns and republishes every sample on a
 * local bus with the remote's type tag and geometry.
 *
 * Loops: a bus that an importer writes carries a marker (/dev/shm/shmbridge.NAME naming the
 * importer's pid); exporters never export a bus whose writer is the pid in its marker. Importers
 * drop samples whose origin is this host (same boot and same /dev/shm), unless told otherwise.
 * See docs/DEPLOYMENT.md.
 */
#ifndef SHMBUS_BRIDGE_H
#define SHMBUS_BRIDGE_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "dds/dds.h"

#define BRIDGE_TOPIC_PREFIX "shmbus/"
#define BRIDGE_TYPE_NAME "shmbus_dds::BusRecord"
#define BRIDGE_MAX_PATTERNS 32
#define BRIDGE_TOPIC_MAX (sizeof BRIDGE_TOPIC_PREFIX + 2 * 200)

struct bridge_config {
  const char *exports[BRIDGE_MAX_PATTERNS]; /* fnmatch patterns of local buses to export */
  int n_exports;
  const char *imports[BRIDGE_MAX_PATTERNS]; /* fnmatch patterns of remote bus names */
  int n_imports;
  const char *prefix;       /* prepended to imported buses' local names */
  int domain;               /* DDS domain id; DDS_DOMAIN_DEFAULT = from the config */
  int best_effort;          /* 1: BEST_EFFORT; 0: RELIABLE (default) */
  int volatile_durability;  /* 1: VOLATILE; 0: TRANSIENT_LOCAL (default) */
  int depth;                /* KEEP_LAST depth, default 1 */
  mode_t mode;              /* read permission of imported buses */
  int allow_same_host;      /* import samples exported from this host too */
  int wait_mode;            /* how exporters wait on their bus: SHMBUS_WAIT_HYBRID (default) */
  int verbose;
  double interval;          /* seconds between status lines (-v) and status file updates */
  const char *status_file;
};

/* Counters are written by one thread and read by the status printer: relaxed atomics. */
struct bridge_export_stats {
  atomic_uint_fast64_t sent, lapped, errors;
};

struct bridge_import_stats {
  atomic_uint_fast64_t received, lost, dup, dds_lost, own, errors;
};

struct exporter;
struct importer;

struct bridge {
  struct bridge_config cfg;
  dds_entity_t participant;
  uint64_t origin;      /* this host's id (bridge_host_id()) */
  atomic_int stop;
  struct exporter *exp;
  struct importer *imp;
};

/* names.c */
int bridge_topic_name(const char *bus, char *topic, size_t n);
int bridge_bus_name(const char *topic, char *bus, size_t n);
int bridge_match(const char *const *patterns, int n, const char *name);
uint64_t bridge_host_id(void);
uint64_t bridge_now_ns(void);
dds_qos_t *bridge_qos(const struct bridge_config *cfg, int reader);
void bridge_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* marker.c */
struct bridge_marker {
  pid_t pid;            /* the importer that writes the bus */
  uint64_t origin, bus_id, version; /* the last remote record imported */
};
int bridge_marker_open(const char *bus, const struct bridge_marker *m);
int bridge_marker_update(int fd, const struct bridge_marker *m);
int bridge_marker_read(const char *bus, struct bridge_marker *m);
int bridge_is_imported(const char *bus, pid_t writer_pid);

/* export.c */
int exporter_start(struct bridge *b);
int exporter_scan(struct bridge *b);
void exporter_status(struct bridge *b, FILE *f);
void exporter_stop(struct bridge *b);

/* import.c */
int importer_start(struct bridge *b);
void importer_status(struct bridge *b, FILE *f);
void importer_stop(struct bridge *b);

#endif /* SHMBUS_BRIDGE_H */
