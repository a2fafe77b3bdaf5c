/* bridge_util.h - shmbridge's configuration, topic names, QoS, host id and import markers:
 * the parts shared by both directions (and by the unit tests, in C or C++). */
#ifndef SHMBUS_BRIDGE_UTIL_H
#define SHMBUS_BRIDGE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/shmbus.h"
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
  const char *prefix;      /* prepended to imported buses' local names */
  int domain;              /* DDS domain id; DDS_DOMAIN_DEFAULT = from the config */
  int best_effort;         /* 1: BEST_EFFORT; 0: RELIABLE (default) */
  int volatile_durability; /* 1: VOLATILE; 0: TRANSIENT_LOCAL (default) */
  int depth;               /* KEEP_LAST depth, default 1 */
  mode_t mode;             /* read permission of imported buses */
  int allow_same_host;     /* import samples exported from this host too */
  int wait_mode;           /* how exporters wait on their bus: SHMBUS_WAIT_HYBRID (default) */
  int verbose;
  double interval; /* seconds between status lines (-v) and status file updates */
  const char *status_file;
  const char *privates[BRIDGE_MAX_PATTERNS]; /* buses exported whatever their mode */
  int n_privates;
  uint64_t max_bus_bytes; /* largest imported bus (shared memory bytes), default 64 MiB */
  int max_topics;         /* most imported topics, default 64 */
  const char *security;   /* directory of DDS Security files, NULL = unsecured */
};

#define BRIDGE_DEFAULT_MAX_BUS_BYTES (64ull << 20)
#define BRIDGE_DEFAULT_MAX_TOPICS 64

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
  pid_t pid;                        /* the importer that writes the bus */
  uint64_t origin, bus_id, version; /* the last remote record imported */
  uint64_t received, lost;          /* this importer's counts for the bus (for `cat`) */
  uint64_t bus_created;             /* created_ns of the local bus the importer made, 0 = not yet */
  uint64_t saved_ns; /* CLOCK_REALTIME of the last update (plausibility after a restart) */
};
int bridge_marker_open(const char *bus, const struct bridge_marker *m);
int bridge_marker_update(int fd, const struct bridge_marker *m);
int bridge_marker_read(const char *bus, uid_t owner, struct bridge_marker *m);
int bridge_marker_remove(const char *bus);
int bridge_is_imported(const char *bus, const struct shmbus_bus_info *info);
int bridge_bus_is_ours(const char *bus, const struct shmbus_bus_info *info,
                       const struct bridge_marker *m);
uint64_t bridge_bus_bytes(uint32_t slots, uint64_t capacity);

/* accept.c - what the importer believes about a topic's source, and the rules that decide
 * whether a remote sample is republished. Pure functions of their arguments (fuzzed). */
enum bridge_verdict {
  BRIDGE_ACCEPT,      /* republish it */
  BRIDGE_MALFORMED,   /* geometry out of range, payload beyond capacity, bad type tag */
  BRIDGE_TOO_BIG,     /* the bus it needs is larger than --max-bus-bytes */
  BRIDGE_OWN,         /* exported by this very host */
  BRIDGE_FOREIGN,     /* a second origin while the pinned one is still there */
  BRIDGE_DUP,         /* not newer than the last record republished */
  BRIDGE_IMPLAUSIBLE, /* a version jump (up or far down) no real bus could have made */
  BRIDGE_BAD_SCHEMA   /* a schema field out of bounds or not printable, or its hash wrong */
};

/* Samples' header fields that the rules look at. Each name points at a buffer of at least its
 * bound + 1 bytes (the sample's own arrays) or at a shorter NUL-terminated string: the rules
 * look for the NUL within the bound, never beyond. NULL names are "", as for an untyped bus. */
struct bridge_sample {
  uint64_t origin, bus_id, version, capacity;
  uint32_t slots, length;
  const char *type_tag;
  /* The source bus's schema (bus_record.idl): all empty, 0 and NULL for an untyped bus. */
  const char *schema_name;      /* 1..SHMBUS_TYPE_NAME_MAX printable chars when typed */
  const char *schema_encoding;  /* 0..SHMBUS_ENCODING_MAX printable chars */
  const char *message_encoding; /* 1..SHMBUS_ENCODING_MAX printable chars when typed */
  const void *schema;           /* the text, @schema_len bytes */
  uint64_t schema_len;          /* 0..SHMBUS_SCHEMA_MAX */
  uint64_t schema_hash;         /* must be shmbus_schema_hash() of the four */
};

#define BRIDGE_JUMP_SLACK (1ull << 20) /* always-plausible jump, in versions */
#define BRIDGE_MAX_RATE_NS 10u         /* at most one version per 10 ns (100 M/s) */
#define BRIDGE_RESYNC_RUN 3            /* consistent implausible samples that resynchronise */

struct bridge_source {
  int have; /* a record was accepted (or resumed from a marker) */
  uint64_t origin, bus_id, version;
  uint64_t accepted_ns; /* monotonic time of the last acceptance */
  int run;              /* implausible samples in a row that agree with each other */
  uint64_t run_origin, run_bus_id, run_version;
};

enum bridge_verdict bridge_check_sample(struct bridge_source *src, const struct bridge_sample *s,
                                        uint64_t self_origin, uint64_t max_bus_bytes,
                                        int pinned_alive, uint64_t now_ns, uint64_t *gap);
void bridge_source_accept(struct bridge_source *src, const struct bridge_sample *s,
                          uint64_t now_ns);
const char *bridge_verdict_name(enum bridge_verdict v);
uint64_t bridge_schema_bytes(const struct bridge_sample *s);
int bridge_sample_schema(const struct bridge_sample *s, struct shmbus_schema *out);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_BRIDGE_UTIL_H */
