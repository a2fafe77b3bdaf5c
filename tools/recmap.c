/* recmap.c - how a bus maps to MCAP and back (see recmap.h). */
#include "tools/recmap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int rec_bus_encoding(const char *name, const struct shmbus_bus_info *bi, struct rec_encoding *e) {
  (void)name;
  (void)bi; /* issue 13: a typed bus's schema comes from its info and its schema storage */
  memset(e, 0, sizeof *e);
  e->message_encoding = REC_RAW_ENCODING;
  return 0;
}

int rec_topic_to_bus(const char *topic, char *buf, size_t n) {
  size_t i;
  if (topic[0] == '/') topic++;
  if (snprintf(buf, n, "%s", topic) >= (int)n) return -ENAMETOOLONG;
  for (i = 0; buf[i]; i++)
    if (buf[i] == '/') buf[i] = '.';
  return shmbus_name_check(buf);
}
