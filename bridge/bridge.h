/* bridge.h - shmbridge: bridge shmbus buses to other hosts over Cyclone DDS.
 *
 * Export: a thread per local bus follows it with shmbus_sub_next() and writes each record as a
 * shmbus_dds_BusRecord sample on the DDS topic named after the bus (bridge_topic_name()).
 * Import: one thread discovers remote writers of such topics through the DCPSPublication built-in
 * topic, subscribes to those matching the import patterns and republishes every sample on a
 * local bus with the remote's type tag and geometry, after the checks of accept.c (bounded
 * geometry, one origin per topic, plausible versions). The importer only writes buses it made
 * (its marker proves it); buses are made by its own thread, never in a DDS receive thread.
 * Exporters export only world-readable buses unless told otherwise (--export-private).
 * Security: with --security DIR, the participant runs Cyclone DDS's security plugins
 * (authentication, access control, encryption); see docs/DEPLOYMENT.md, "Security".
 *
 * Loops: a bus that an importer writes carries a marker (/dev/shm/shmbridge.NAME naming the
 * importer's pid, owned by the bus's owner); exporters never export a bus whose writer is the
 * pid in its marker. Importers
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
#include "bridge/bridge_util.h"

/* Counters are written by one thread and read by the status printer: relaxed atomics. */
struct bridge_export_stats {
  atomic_uint_fast64_t sent, lapped, errors;
};

struct bridge_import_stats {
  atomic_uint_fast64_t received, lost, dup, dds_lost, own, errors, rejected;
};

struct exporter;
struct importer;

struct bridge {
  struct bridge_config cfg;
  dds_entity_t participant;
  uint64_t origin; /* this host's id (bridge_host_id()) */
  atomic_int stop;
  struct exporter *exp;
  struct importer *imp;
};

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
