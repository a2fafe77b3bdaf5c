/* names.c - topic names, host identity, QoS and logging shared by both directions. */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "bridge/bridge_util.h"

/* DDS topic names allow only [A-Za-z0-9_/]; bus names also have '.' and '-'. The mapping is
 * one-to-one: '.' -> '/', '-' -> "_d", '_' -> "__". So bus "robot.imu-0" is the topic
 * "shmbus/robot/imu_d0", which reads naturally next to ROS 2 topic names. */
int bridge_topic_name(const char *bus, char *topic, size_t n) {
  size_t o = strlen(BRIDGE_TOPIC_PREFIX);
  if (n <= o) return -ENAMETOOLONG;
  memcpy(topic, BRIDGE_TOPIC_PREFIX, o);
  for (const char *c = bus; *c; c++) {
    const char *rep = *c == '.' ? "/" : *c == '-' ? "_d" : *c == '_' ? "__" : NULL;
    char one[2] = {*c, '\0'};
    size_t k;
    if (rep == NULL) rep = one;
    k = strlen(rep);
    if (o + k >= n) return -ENAMETOOLONG;
    memcpy(topic + o, rep, k);
    o += k;
  }
  topic[o] = '\0';
  return 0;
}

/* The inverse of bridge_topic_name(); -EINVAL for a topic that is not one of ours. */
int bridge_bus_name(const char *topic, char *bus, size_t n) {
  size_t plen = strlen(BRIDGE_TOPIC_PREFIX), o = 0;
  if (strncmp(topic, BRIDGE_TOPIC_PREFIX, plen) != 0) return -EINVAL;
  for (const char *c = topic + plen; *c; c++) {
    char out = *c;
    if (*c == '/') {
      out = '.';
    } else if (*c == '_') {
      c++;
      if (*c == '_') out = '_';
      else if (*c == 'd') out = '-';
      else return -EINVAL;
    }
    if (o + 1 >= n) return -ENAMETOOLONG;
    bus[o++] = out;
  }
  bus[o] = '\0';
  return o > 0 ? 0 : -EINVAL;
}

int bridge_match(const char *const *patterns, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (fnmatch(patterns[i], name, 0) == 0) return 1;
  return 0;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
  const unsigned char *c = p;
  while (n--) h = (h ^ *c++) * 1099511628211ull;
  return h;
}

/* "This host" is what shares this /dev/shm: the boot id plus the identity of the /dev/shm
 * mount. Two network namespaces with private /dev/shm mounts (the tests) are two hosts; two
 * processes sharing /dev/shm are one host whatever their network. Never 0. */
uint64_t bridge_host_id(void) {
  uint64_t h = 14695981039346656037ull;
  char boot[64] = "";
  struct stat st;
  FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
  if (f != NULL) {
    if (fgets(boot, sizeof boot, f) == NULL) boot[0] = '\0';
    fclose(f);
  }
  h = fnv1a(h, boot, strlen(boot));
  if (stat("/dev/shm", &st) == 0) {
    h = fnv1a(h, &st.st_dev, sizeof st.st_dev);
    h = fnv1a(h, &st.st_ino, sizeof st.st_ino);
  }
  return h != 0 ? h : 1;
}

/* Timers (scans, retries, status, plausibility) run on CLOCK_MONOTONIC: a step of the wall
 * clock neither stalls nor hurries them. */
uint64_t bridge_now_ns(void) { return (uint64_t)shmbus__now(CLOCK_MONOTONIC); }

/* Writers and readers get the same QoS so they always match: KEEP_LAST depth (1 = the latest
 * value, as a bus), TRANSIENT_LOCAL (a late joiner gets that latest value from the writer at
 * once) or VOLATILE, RELIABLE or BEST_EFFORT. A reader never sees its own participant's
 * samples (one bridge exporting and importing the same topic). */
dds_qos_t *bridge_qos(const struct bridge_config *cfg, int reader) {
  dds_qos_t *q = dds_create_qos();
  dds_qset_history(q, DDS_HISTORY_KEEP_LAST, cfg->depth);
  dds_qset_durability(q, cfg->volatile_durability ? DDS_DURABILITY_VOLATILE
                                                  : DDS_DURABILITY_TRANSIENT_LOCAL);
  dds_qset_reliability(q, cfg->best_effort ? DDS_RELIABILITY_BEST_EFFORT : DDS_RELIABILITY_RELIABLE,
                       DDS_MSECS(100));
  dds_qset_destination_order(q, DDS_DESTINATIONORDER_BY_RECEPTION_TIMESTAMP);
  if (reader) dds_qset_ignorelocal(q, DDS_IGNORELOCAL_PARTICIPANT);
  return q;
}

void bridge_log(const char *fmt, ...) {
  va_list ap;
  char buf[1024];
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  /* One write per line, so the threads' lines never interleave. */
  fprintf(stderr, "shmbridge[%d]: %s\n", (int)getpid(), buf);
}
