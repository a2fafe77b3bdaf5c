/* bridge_forge.c - a hostile DDS participant for the shmbridge tests: it forges
 * shmbus_dds_BusRecord samples with the bridge's own generated type, as anyone who reaches
 * the DDS domain can (docs/DEPLOYMENT.md, threat model).
 *
 *   bridge_forge DOMAIN pub BUS [FIELD=VALUE]...
 *       wait (up to 60 s) until a reader (an importer) matches the topic of BUS, write the
 *       sample(s), wait until they are acknowledged, exit 0. Fields: origin=HEX bus_id=N
 *       version=N slots=N capacity=N type=STR payload=STR count=N (versions version,
 *       version+1, ...); the schema: schema_name=STR schema_encoding=STR
 *       message_encoding=STR schema=STR (its text) schema_file=PATH schema_hash=HEX (default:
 *       the right one, shmbus_schema_hash()), and name_fill=C: schema_name filled to its last
 *       byte with C, no NUL (an unterminated, oversized name on the wire).
 *       Exit 3 when no reader matched within 60 s.
 *   bridge_forge DOMAIN siege BUS STOPFILE
 *       until STOPFILE exists: read the topic and write a forged sample every 10 ms. Prints
 *       "discovered N" once it has seen N >= 2 other participants (the readiness signal:
 *       discovery reaches it), then at the end "matched-readers R matched-writers W
 *       received K written N".
 *   bridge_forge DOMAIN flood PREFIX N STOPFILE
 *       offer N topics (buses PREFIX0 .. PREFIX<N-1>) until STOPFILE exists.
 * CYCLONEDDS_URI picks the interface. Exit status 2 on a usage or DDS error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dds/dds.h"
#include "bridge/bridge_util.h"
#include "bridge/bus_record.h"

static dds_entity_t pp;

static int die(const char *what, dds_return_t rc) {
  fprintf(stderr, "bridge_forge: %s: %s\n", what, dds_strretcode(rc));
  return 2;
}

static int hash_given;
static char *schema_text;

static int set_field(shmbus_dds_BusRecord *r, uint32_t *n, const char *kv) {
  const char *v = strchr(kv, '=');
  if (v == NULL) return -1;
  v++;
  if (strncmp(kv, "origin=", 7) == 0) r->origin = strtoull(v, NULL, 16);
  else if (strncmp(kv, "bus_id=", 7) == 0) r->bus_id = strtoull(v, NULL, 10);
  else if (strncmp(kv, "version=", 8) == 0) r->version = strtoull(v, NULL, 10);
  else if (strncmp(kv, "slots=", 6) == 0) r->slots = (uint32_t)strtoul(v, NULL, 10);
  else if (strncmp(kv, "capacity=", 9) == 0) r->capacity = strtoull(v, NULL, 10);
  else if (strncmp(kv, "type=", 5) == 0) snprintf(r->type_tag, sizeof r->type_tag, "%s", v);
  else if (strncmp(kv, "schema_name=", 12) == 0)
    snprintf(r->schema_name, sizeof r->schema_name, "%s", v);
  else if (strncmp(kv, "schema_encoding=", 16) == 0)
    snprintf(r->schema_encoding, sizeof r->schema_encoding, "%s", v);
  else if (strncmp(kv, "message_encoding=", 17) == 0)
    snprintf(r->message_encoding, sizeof r->message_encoding, "%s", v);
  else if (strncmp(kv, "schema_hash=", 12) == 0) {
    r->schema_hash = strtoull(v, NULL, 16);
    hash_given = 1;
  } else if (strncmp(kv, "name_fill=", 10) == 0)
    memset(r->schema_name, v[0], sizeof r->schema_name);
  else if (strncmp(kv, "schema=", 7) == 0 || strncmp(kv, "schema_file=", 12) == 0) {
    size_t len = strlen(v);
    if (kv[6] != '=') { /* schema_file= */
      FILE *f = fopen(v, "rb");
      if (f == NULL) return -1;
      free(schema_text);
      schema_text = malloc(SHMBUS_SCHEMA_MAX + 1);
      len = schema_text ? fread(schema_text, 1, SHMBUS_SCHEMA_MAX + 1, f) : 0;
      fclose(f);
      if (schema_text == NULL) return -1;
      v = schema_text;
    }
    r->schema._buffer = (uint8_t *)v;
    r->schema._length = r->schema._maximum = (uint32_t)len;
  } else if (strncmp(kv, "count=", 6) == 0) *n = (uint32_t)strtoul(v, NULL, 10);
  else if (strncmp(kv, "payload=", 8) == 0) {
    r->payload._buffer = (uint8_t *)v;
    r->payload._length = r->payload._maximum = (uint32_t)strlen(v);
  } else return -1;
  return 0;
}

static dds_entity_t make_topic(const char *bus) {
  char name[BRIDGE_TOPIC_MAX];
  if (bridge_topic_name(bus, name, sizeof name) < 0) return DDS_RETCODE_BAD_PARAMETER;
  return dds_create_topic(pp, &shmbus_dds_BusRecord_desc, name, NULL, NULL);
}

static dds_qos_t *qos(int reader) {
  struct bridge_config c;
  memset(&c, 0, sizeof c);
  c.depth = 1;
  return bridge_qos(&c, reader);
}

static int pub(const char *bus, int argc, char **argv) {
  shmbus_dds_BusRecord r = {0};
  uint32_t n = 1;
  dds_publication_matched_status_t st = {0};
  r.origin = 0x5eed;
  r.bus_id = 1;
  r.version = 1;
  r.slots = 2;
  r.capacity = 64;
  snprintf(r.type_tag, sizeof r.type_tag, "evil");
  set_field(&r, &n, "payload=pwned");
  for (int i = 0; i < argc; i++)
    if (set_field(&r, &n, argv[i]) < 0) {
      fprintf(stderr, "bridge_forge: unknown field %s\n", argv[i]);
      return 2;
    }
  if (!hash_given && r.schema_name[0]) { /* the right hash, as a real exporter sends */
    struct shmbus_schema sc = {r.schema_name,    r.schema_encoding, r.message_encoding,
                               r.schema._buffer, r.schema._length,  0};
    if (memchr(r.schema_name, '\0', sizeof r.schema_name)) r.schema_hash = shmbus_schema_hash(&sc);
  }
  dds_entity_t topic = make_topic(bus);
  if (topic < 0) return die("topic", topic);
  dds_qos_t *q = qos(0);
  dds_entity_t w = dds_create_writer(pp, topic, q, NULL);
  dds_delete_qos(q);
  if (w < 0) return die("writer", w);
  for (int i = 0; i < 6000 && st.current_count == 0; i++) { /* readiness: a reader matched */
    dds_get_publication_matched_status(w, &st);
    if (st.current_count == 0) dds_sleepfor(DDS_MSECS(10));
  }
  if (st.current_count == 0) {
    fprintf(stderr, "bridge_forge: no reader of %s matched within 60 s\n", bus);
    return 3;
  }
  for (uint32_t i = 0; i < n; i++, r.version++) {
    dds_return_t rc = dds_write(w, &r);
    if (rc < 0) return die("write", rc);
  }
  dds_wait_for_acks(w, DDS_SECS(30));
  fprintf(stderr, "bridge_forge: wrote %u sample(s) on %s to %d reader(s)\n", n, bus,
          (int)st.current_count);
  return 0;
}

static int others(void) {
  dds_entity_t rd = dds_create_reader(pp, DDS_BUILTIN_TOPIC_DCPSPARTICIPANT, NULL, NULL);
  void *s[32] = {NULL};
  dds_sample_info_t si[32];
  int n = dds_read(rd, s, si, 32, 32), k = 0;
  for (int i = 0; i < n; i++)
    k += si[i].valid_data && si[i].instance_state == DDS_ALIVE_INSTANCE_STATE;
  if (n > 0) dds_return_loan(rd, s, n);
  dds_delete(rd);
  return k - 1; /* not counting itself */
}

static int siege(const char *bus, const char *stopfile) {
  dds_entity_t topic = make_topic(bus);
  if (topic < 0) return die("topic", topic);
  dds_qos_t *qw = qos(0), *qr = qos(1);
  dds_entity_t w = dds_create_writer(pp, topic, qw, NULL);
  dds_entity_t rd = dds_create_reader(pp, topic, qr, NULL);
  dds_delete_qos(qw);
  dds_delete_qos(qr);
  if (w < 0 || rd < 0) return die("endpoints", w < 0 ? w : rd);
  shmbus_dds_BusRecord r = {0};
  uint32_t one = 1;
  r.origin = 0x5eed;
  r.bus_id = 1;
  r.slots = 2;
  r.capacity = 64;
  snprintf(r.type_tag, sizeof r.type_tag, "evil");
  set_field(&r, &one, "payload=pwned");
  uint64_t received = 0, written = 0;
  int said = 0;
  uint32_t max_readers = 0, max_writers = 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (access(stopfile, F_OK) != 0) {
    void *s[8] = {NULL};
    dds_sample_info_t si[8];
    dds_publication_matched_status_t pm;
    dds_subscription_matched_status_t sm;
    int n = dds_take(rd, s, si, 8, 8);
    for (int i = 0; i < n; i++) received += si[i].valid_data;
    if (n > 0) dds_return_loan(rd, s, n);
    r.version++;
    if (dds_write(w, &r) >= 0) written++;
    dds_get_publication_matched_status(w, &pm);
    dds_get_subscription_matched_status(rd, &sm);
    if (pm.current_count > max_readers) max_readers = pm.current_count;
    if (sm.current_count > max_writers) max_writers = sm.current_count;
    if (!said) {
      int k = others();
      if (k >= 2) {
        printf("discovered %d\n", k);
        said = 1;
      }
    }
    dds_sleepfor(DDS_MSECS(10));
  }
  printf("matched-readers %u matched-writers %u received %" PRIu64 " written %" PRIu64 "\n",
         max_readers, max_writers, received, written);
  return 0;
}

static int flood(const char *prefix, int n, const char *stopfile) {
  dds_qos_t *q = qos(0);
  for (int i = 0; i < n; i++) {
    char bus[64];
    snprintf(bus, sizeof bus, "%s%d", prefix, i);
    dds_entity_t topic = make_topic(bus), w = topic;
    if (topic >= 0) w = dds_create_writer(pp, topic, q, NULL);
    if (w < 0) return die("flood writer", w);
  }
  dds_delete_qos(q);
  while (access(stopfile, F_OK) != 0) dds_sleepfor(DDS_MSECS(20));
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: bridge_forge DOMAIN pub BUS [FIELD=VALUE]...\n"
                    "       bridge_forge DOMAIN siege BUS STOPFILE\n");
    return 2;
  }
  pp = dds_create_participant((dds_domainid_t)atoi(argv[1]), NULL, NULL);
  if (pp < 0) return die("participant", pp);
  int rc = strcmp(argv[2], "pub") == 0                  ? pub(argv[3], argc - 4, argv + 4)
           : strcmp(argv[2], "siege") == 0 && argc == 5 ? siege(argv[3], argv[4])
           : strcmp(argv[2], "flood") == 0 && argc == 6 ? flood(argv[3], atoi(argv[4]), argv[5])
                                                        : 2;
  dds_delete(pp);
  return rc;
}
