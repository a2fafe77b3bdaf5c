/* bridge_util.h - shmbridge's configuration, topic names, QoS, host id and import markers:
 * the parts shared by both directions (and by the unit tests, in C or C++). */
#ifndef SHMBUS_BRIDGE_UTIL_H
#define SHMBUS_BRIDGE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dds/dds.h"

#ifdef __cplusplus
extern "C" {
#endif

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
  uint64_t received, lost;          /* this importer's counts for the bus (for `cat`) */
};
int bridge_marker_open(const char *bus, const struct bridge_marker *m);
int bridge_marker_update(int fd, const struct bridge_marker *m);
int bridge_marker_read(const char *bus, struct bridge_marker *m);
int bridge_is_imported(const char *bus, pid_t writer_pid);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_BRIDGE_UTIL_H */
