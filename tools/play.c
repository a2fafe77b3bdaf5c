/* play.c - `shmbus play` (an MCAP file back onto buses, at the recorded pace) and
 * `shmbus info` (what a file holds). Both stream the file from its start, so they read files
 * with no summary too (a killed recorder's), up to their last complete chunk. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "mcap/mcap.h"
#include "tools/common.h"
#include "tools/recmap.h"
#include "tools/record.h"

static const char play_usage[] =
    "Usage: shmbus play FILE.mcap [options]\n"
    "Publish the messages of an MCAP file on buses (topic = bus name; a leading '/' is\n"
    "dropped, other '/' become '.'), at the recorded pace. Each bus is created with the\n"
    "geometry, type and schema recorded (capacity at least the largest message). An omgidl\n"
    "channel of CDR messages whose type shmbus reads (any recorded C-struct bus) becomes a\n"
    "C-struct bus again; other schemas are carried as they are, schemaless channels as bytes;\n"
    "topics that are no valid bus name are skipped with a note.\n"
    "\n"
    "      --rate X          speed factor (default 1; 0: as fast as possible)\n"
    "      --loop            play again from the start until interrupted\n"
    "      --start SEC       skip the first SEC seconds of the file\n"
    "      --topics A,B      only these topics\n"
    "      --remap A:=B      publish topic A on bus B (repeatable)\n"
    "  -q, --quiet           no progress line, no notes\n"
    "  -h, --help            this help\n"
    "\n"
    "Examples:\n"
    "  shmbus play run1.mcap\n"
    "  shmbus play run1.mcap --rate 2 --topics imu --remap imu:=imu-replay\n"
    "\n" TOOLS_EXIT_CODES;

static const char info_usage[] =
    "Usage: shmbus info FILE.mcap\n"
    "What an MCAP file holds: duration, start and end, chunks and compression, and per\n"
    "channel its message count, rate, schema and encoding (like `mcap info`).\n"
    "\n" TOOLS_EXIT_CODES;

struct pschema {
  char *name, *encoding;
  void *data;
  size_t len;
};

struct pchan {
  char *topic, *encoding;
  const struct pschema *schema; /* NULL: none */
  char type[SHMBUS_TYPE_MAX + 1];
  char type_name[SHMBUS_TYPE_NAME_MAX + 1]; /* shmbus.type_name (a typed bus without schema) */
  struct rec_channel map;                   /* the bus's schema, the CDR conversion */
  uint64_t bad;                             /* messages that did not convert */
  uint32_t slots;
  uint64_t capacity, count, bytes, max_len, first, last;
  char bus[SHMBUS_NAME_MAX + 1];
  int play;
  shmbus_pub *pub;
};

struct scan {
  struct pchan **ch;        /* by channel id */
  struct pschema **schemas; /* by schema id */
  uint8_t *rec;             /* a converted record (play) */
  size_t reccap;
  uint64_t messages, first, last, chunks;
  char compression[16];
  int summary, end; /* end: what the reader returned last (0, -ENODATA, ...) */
};

static char *dup_str(struct mcap_str s) {
  char *p = malloc((size_t)s.n + 1);
  if (p) {
    memcpy(p, s.p, s.n);
    p[s.n] = 0;
  }
  return p;
}

static int str_is(struct mcap_str s, const char *lit) {
  return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static void channel_metadata(struct pchan *c, const struct mcap_map *m) {
  struct mcap_str k, v;
  uint32_t pos = 0;
  char num[24];
  uint64_t x;
  while (mcap_map_next(m, &pos, &k, &v) == 1) {
    snprintf(num, sizeof num, "%.*s", (int)(v.n < 23 ? v.n : 23), v.p);
    if (str_is(k, "shmbus.type") && v.n <= SHMBUS_TYPE_MAX) {
      memcpy(c->type, v.p, v.n);
      c->type[v.n] = 0;
    } else if (str_is(k, "shmbus.type_name") && v.n <= SHMBUS_TYPE_NAME_MAX) {
      memcpy(c->type_name, v.p, v.n);
      c->type_name[v.n] = 0;
    } else if (str_is(k, "shmbus.slots") && parse_u64(num, &x) == 0 && x >= 2 &&
               x <= SHMBUS_MAX_SLOTS)
      c->slots = (uint32_t)x;
    else if (str_is(k, "shmbus.capacity") && parse_u64(num, &x) == 0 && x <= SHMBUS_MAX_CAPACITY)
      c->capacity = x;
  }
}

static int on_channel(struct scan *s, const struct mcap_channel *ch) {
  struct pchan *c;
  if (s->ch[ch->id]) return 0; /* a duplicate (summary, or a later chunk) */
  if ((c = calloc(1, sizeof *c)) == NULL) return -ENOMEM;
  s->ch[ch->id] = c;
  c->topic = dup_str(ch->topic);
  c->encoding = dup_str(ch->message_encoding);
  c->schema = ch->schema_id ? s->schemas[ch->schema_id] : NULL;
  if (!c->topic || !c->encoding) return -ENOMEM;
  channel_metadata(c, &ch->metadata);
  return 0;
}

static void on_message(struct scan *s, const struct mcap_message *m) {
  struct pchan *c = s->ch[m->channel_id];
  if (c == NULL) return; /* a message before its channel: malformed, not played */
  if (c->count == 0 || m->log_time < c->first) c->first = m->log_time;
  if (c->count == 0 || m->log_time > c->last) c->last = m->log_time;
  if (s->messages == 0 || m->log_time < s->first) s->first = m->log_time;
  if (s->messages == 0 || m->log_time > s->last) s->last = m->log_time;
  if (m->len > c->max_len) c->max_len = m->len;
  c->count++;
  c->bytes += m->len;
  s->messages++;
}

static int on_record(struct scan *s, const struct mcap_record *rec) {
  switch (rec->op) {
    case MCAP_OP_SCHEMA: {
      const struct mcap_schema *sc = &rec->u.schema;
      struct pschema *p;
      if (sc->id == 0 || s->schemas[sc->id]) return 0; /* a duplicate */
      if ((p = s->schemas[sc->id] = calloc(1, sizeof *p)) == NULL) return -ENOMEM;
      p->name = dup_str(sc->name);
      p->encoding = dup_str(sc->encoding);
      p->len = sc->data.n;
      if (!p->name || !p->encoding || (p->data = malloc(p->len ? p->len : 1)) == NULL)
        return -ENOMEM;
      memcpy(p->data, sc->data.p, p->len);
      return 0;
    }
    case MCAP_OP_CHANNEL: return on_channel(s, &rec->u.channel);
    case MCAP_OP_MESSAGE: on_message(s, &rec->u.message); return 0;
    case MCAP_OP_CHUNK:
      s->chunks++;
      snprintf(s->compression, sizeof s->compression, "%.*s",
               (int)(rec->u.chunk.compression.n < 15 ? rec->u.chunk.compression.n : 15),
               rec->u.chunk.compression.p);
      return 0;
    case MCAP_OP_STATISTICS: s->summary = 1; return 0;
    default: return 0;
  }
}

static void scan_free(struct scan *s) {
  size_t i;
  for (i = 0; s->ch && i < 65536; i++)
    if (s->ch[i]) {
      shmbus_pub_close(s->ch[i]->pub);
      rec_channel_free(&s->ch[i]->map);
      free(s->ch[i]->topic);
      free(s->ch[i]->encoding);
      free(s->ch[i]);
    }
  for (i = 0; s->schemas && i < 65536; i++)
    if (s->schemas[i]) {
      free(s->schemas[i]->name);
      free(s->schemas[i]->encoding);
      free(s->schemas[i]->data);
      free(s->schemas[i]);
    }
  free(s->ch);
  free(s->schemas);
  free(s->rec);
}

/* Stream the whole file once. Return: 0 (s->end tells how it ended); an error to report. */
static int scan_file(const char *path, struct scan *s) {
  struct mcap_record rec;
  mcap_reader *r;
  int rc;
  memset(s, 0, sizeof *s);
  s->ch = calloc(65536, sizeof *s->ch);
  s->schemas = calloc(65536, sizeof *s->schemas);
  if (!s->ch || !s->schemas) return -ENOMEM;
  if ((rc = mcap_reader_open_file(path, NULL, &r)) == -ENODATA) { /* killed before a byte */
    s->end = rc;
    return 0;
  }
  if (rc < 0) return rc;
  while ((rc = mcap_reader_next(r, &rec)) == 1)
    if ((rc = on_record(s, &rec)) < 0) break;
  s->end = rc;
  mcap_reader_close(r);
  return rc == -ENOMEM ? rc : 0;
}

static void note_end(const char *path, int end) {
  if (end == -ENODATA)
    tool_msg("%s ends early (a recorder killed, or still writing): read up to its last "
             "complete chunk",
             path);
  else if (end < 0) tool_msg("%s: %s Read up to there.", path, mcap_strerror(end));
}

/* ---------------------------------------------------------------- info */

static void print_info(const char *path, const struct scan *s, uint64_t size) {
  char b[32], t0[64], t1[64];
  double dur = s->messages ? (double)(s->last - s->first) / 1e9 : 0;
  size_t i;
  fmt_bytes(size, b, sizeof b);
  printf("file:        %s (%s)\n", path, b);
  printf("summary:     %s\n", s->summary ? "yes" : s->end == -ENODATA ? "no (truncated)" : "no");
  printf("messages:    %llu\n", (unsigned long long)s->messages);
  if (s->messages) {
    fmt_time_iso((int64_t)s->first, t0, sizeof t0);
    fmt_time_iso((int64_t)s->last, t1, sizeof t1);
    printf("duration:    %.3f s\nstart:       %s\nend:         %s\n", dur, t0, t1);
  }
  printf("chunks:      %llu (compression: %s)\n", (unsigned long long)s->chunks,
         s->chunks ? (s->compression[0] ? s->compression : "none") : "-");
  printf("channels:\n");
  for (i = 0; i < 65536; i++) {
    const struct pchan *c = s->ch[i];
    if (c == NULL) continue;
    printf("  (%zu) %-24s %8llu msgs %10.2f Hz  encoding %s  schema ", i, c->topic,
           (unsigned long long)c->count, dur > 0 ? (double)c->count / dur : 0.0, c->encoding);
    if (c->schema) printf("%s (%s)\n", c->schema->name, c->schema->encoding);
    else printf("(none)\n");
  }
}

int cmd_info(int argc, char **argv) {
  struct scan s;
  mcap_reader *r;
  uint64_t size = 0;
  int rc;
  if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    fputs(info_usage, stdout);
    return EXIT_OK;
  }
  if (argc != 2) return tool_usage_error("info: give one FILE.mcap");
  if (mcap_reader_open_file(argv[1], NULL, &r) == 0) size = mcap_reader_size(r);
  mcap_reader_close(r);
  if ((rc = scan_file(argv[1], &s)) < 0) {
    tool_msg("cannot read %s: %s", argv[1], mcap_strerror(rc));
    scan_free(&s);
    return EXIT_ERROR;
  }
  print_info(argv[1], &s, size);
  note_end(argv[1], s.end);
  scan_free(&s);
  return s.end < 0 && s.end != -ENODATA ? EXIT_ERROR : EXIT_OK;
}

/* ---------------------------------------------------------------- play */

struct play_opts {
  double rate, start;
  int loop, quiet;
  char *topics; /* comma-separated, or NULL: all */
  char *remap[64];
  int nremap;
  uint64_t slots;
};

static int topic_selected(const struct play_opts *o, const char *topic) {
  const char *p = o->topics;
  size_t n = strlen(topic);
  if (p == NULL) return 1;
  while (*p) {
    size_t k = strcspn(p, ",");
    if (k == n && strncmp(p, topic, n) == 0) return 1;
    p += k + (p[k] == ',');
  }
  return 0;
}

/* The bus for @c: a remap, else the topic made a bus name. Return: 0; -EINVAL. */
static int bus_for(const struct play_opts *o, struct pchan *c) {
  int i;
  for (i = 0; i < o->nremap; i++) {
    const char *sep = strstr(o->remap[i], ":=");
    if ((size_t)(sep - o->remap[i]) == strlen(c->topic) &&
        !strncmp(o->remap[i], c->topic, (size_t)(sep - o->remap[i]))) {
      snprintf(c->bus, sizeof c->bus, "%s", sep + 2);
      return shmbus_name_check(c->bus);
    }
  }
  return rec_topic_to_bus(c->topic, c->bus, sizeof c->bus);
}

/* @c's bus schema and conversion (tools/recmap.h), with a note when its schema cannot be
 * used as such; the scratch record for conversions made large enough. Return: 0; -ENOMEM. */
static int channel_bus(const struct play_opts *o, struct scan *s, struct pchan *c) {
  const struct pschema *p = c->schema;
  char note[512];
  int rc = rec_channel_bus(c->encoding, p ? p->name : c->type_name, p ? p->encoding : NULL,
                           p ? p->data : NULL, p ? p->len : 0, &c->map, note, sizeof note);
  if (rc < 0) return rc;
  if (note[0] && !o->quiet) tool_msg("topic '%s': %s", c->topic, note);
  if (c->map.type && shmbus_type_size(c->map.type) > s->reccap) {
    uint8_t *nb = realloc(s->rec, shmbus_type_size(c->map.type));
    if (nb == NULL) return -ENOMEM;
    s->rec = nb;
    s->reccap = shmbus_type_size(c->map.type);
  }
  return 0;
}

/* The channel other than @c that holds a writer of @c's bus, or NULL. */
static struct pchan *bus_writer(const struct scan *s, const struct pchan *c) {
  size_t i;
  for (i = 0; i < 65536; i++)
    if (s->ch[i] && s->ch[i] != c && s->ch[i]->pub && !strcmp(s->ch[i]->bus, c->bus))
      return s->ch[i];
  return NULL;
}

/* Open @c's bus for writing with its recorded geometry, type and schema. Several channels may
 * play onto one bus (a recording of a replaced bus has a channel per incarnation): the one
 * whose message comes takes the bus over from the other (closed), replacing the bus when its
 * schema or geometry differs, as the recorded writer did. Return: 0; a negative errno. */
static int open_pub(const struct play_opts *o, struct scan *s, struct pchan *c) {
  struct shmbus_pub_opts po;
  struct pchan *other = bus_writer(s, c);
  if (other) {
    shmbus_pub_close(other->pub);
    other->pub = NULL;
  }
  shmbus_pub_opts_init(&po);
  po.slots = c->slots ? c->slots : SHMBUS_DEFAULT_SLOTS;
  if (po.slots < o->slots) po.slots = (uint32_t)o->slots;
  po.capacity = c->capacity > c->max_len ? c->capacity : (c->max_len ? c->max_len : 1);
  if (c->map.type) /* C structs from CDR: the struct's size */
    po.capacity =
        c->capacity > shmbus_type_size(c->map.type) ? c->capacity : shmbus_type_size(c->map.type);
  po.type = c->type;
  po.schema = c->map.has_schema ? &c->map.schema : NULL;
  return shmbus_pub_open(c->bus, &po, &c->pub);
}

/* Decide which channels play and create their buses. Return: the number; < 0: exit code. */
static int open_buses(const struct play_opts *o, struct scan *s) {
  int i, n = 0, rc;
  for (i = 0; i < 65536; i++) {
    struct pchan *c = s->ch[i];
    if (c == NULL || c->count == 0 || !topic_selected(o, c->topic)) continue;
    if (!strcmp(c->topic, REC_LOST_TOPIC)) continue; /* the recorder's own notes */
    if (bus_for(o, c) < 0) {
      if (!o->quiet) tool_msg("skipping topic '%s': not a valid bus name (use --remap)", c->topic);
      continue;
    }
    if ((rc = channel_bus(o, s, c)) < 0) return -tool_fail("read the schema of", c->bus, rc, 0);
    if (bus_writer(s, c) == NULL && (rc = open_pub(o, s, c)) < 0) /* fail before playing */
      return -tool_fail("create", c->bus, rc, HINT_WRITER);
    c->play = 1;
    n++;
  }
  return n;
}

static void progress(const struct play_opts *o, uint64_t done, uint64_t total, int64_t *last) {
  int64_t now = now_monotonic_ns();
  if (o->quiet || !isatty(STDERR_FILENO) || now - *last < 200000000) return;
  *last = now;
  fprintf(stderr, "\rplaying: %3d%% (%llu/%llu)", (int)(100.0 * (double)done / (double)total),
          (unsigned long long)done, (unsigned long long)total);
}

/* One pass over the file. Return: 0; an exit code. */
static int play_pass(const char *path, const struct play_opts *o, struct scan *s) {
  uint64_t skip_before = s->first + (uint64_t)(o->start * 1e9), first = 0, done = 0;
  int64_t base = 0, last = 0;
  struct mcap_record rec;
  mcap_reader *r;
  const void *data;
  char err[256];
  ssize_t n;
  int rc;
  if ((rc = mcap_reader_open_file(path, NULL, &r)) < 0) {
    tool_msg("cannot read %s: %s", path, mcap_strerror(rc));
    return EXIT_ERROR;
  }
  while (!tool_stop && mcap_reader_next(r, &rec) == 1) {
    const struct mcap_message *m = &rec.u.message;
    struct pchan *c;
    if (rec.op != MCAP_OP_MESSAGE || (c = s->ch[m->channel_id]) == NULL || !c->play ||
        m->log_time < skip_before)
      continue;
    if (base == 0) {
      base = now_monotonic_ns();
      first = m->log_time;
    }
    if (o->rate > 0 && m->log_time > first)
      tool_sleep_until(base + (int64_t)((double)(m->log_time - first) / o->rate));
    if (tool_stop) break;
    if (c->pub == NULL && (rc = open_pub(o, s, c)) < 0) { /* its turn on a shared bus */
      mcap_reader_close(r);
      return tool_fail("create", c->bus, rc, HINT_WRITER);
    }
    if ((n = rec_unconvert(&c->map, m->data, m->len, s->rec, s->reccap, &data, err, sizeof err)) <
        0) { /* not a message of the type: skipped */
      if (c->bad++ == 0 && !o->quiet)
        tool_msg("topic '%s': a message is not a %s (%s); such messages are skipped", c->topic,
                 shmbus_type_name(c->map.type), err);
      continue;
    }
    if ((rc = shmbus_pub_publish(c->pub, data, (size_t)n)) < 0) {
      mcap_reader_close(r);
      return tool_fail("publish on", c->bus, rc, 0);
    }
    progress(o, ++done, s->messages, &last);
  }
  mcap_reader_close(r);
  if (!o->quiet && isatty(STDERR_FILENO)) fputc('\n', stderr);
  return EXIT_OK;
}

static int parse_play(struct play_opts *o, int argc, char **argv) {
  static const struct option longs[] = {{"rate", 1, 0, 'r'},  {"loop", 0, 0, 'l'},
                                        {"start", 1, 0, 's'}, {"topics", 1, 0, 't'},
                                        {"remap", 1, 0, 'm'}, {"quiet", 0, 0, 'q'},
                                        {"help", 0, 0, 'h'},  {"slots", 1, 0, 'n'},
                                        {0, 0, 0, 0}};
  char *end;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":qh", longs, NULL)) != -1) {
    if (c == 'r') {
      o->rate = strtod(optarg, &end);
      if (*end || !(o->rate >= 0) || o->rate > 1e6)
        return tool_usage_error("--rate wants a factor >= 0, not '%s'", optarg);
    } else if (c == 's') {
      o->start = strtod(optarg, &end);
      if (*end || !(o->start >= 0) || o->start > 1e9)
        return tool_usage_error("--start wants seconds >= 0, not '%s'", optarg);
    } else if (c == 'n') {
      if (parse_u64(optarg, &o->slots) < 0 || o->slots < 2 || o->slots > SHMBUS_MAX_SLOTS)
        return tool_usage_error("--slots wants 2..65536, not '%s'", optarg);
    } else if (c == 'l') o->loop = 1;
    else if (c == 't') o->topics = optarg;
    else if (c == 'm') {
      if (!strstr(optarg, ":=") || o->nremap == 64)
        return tool_usage_error("--remap wants TOPIC:=BUS (at most 64), not '%s'", optarg);
      o->remap[o->nremap++] = optarg;
    } else if (c == 'q') o->quiet = 1;
    else if (c == 'h') {
      fputs(play_usage, stdout);
      return -1;
    } else return tool_bad_option(c, argv);
  }
  if (optind != argc - 1) return tool_usage_error("play: give one FILE.mcap");
  return 0;
}

int cmd_play(int argc, char **argv) {
  struct play_opts o = {1, 0, 0, 0, NULL, {0}, 0, 0};
  struct scan s;
  const char *path;
  int rc, n;
  if ((rc = parse_play(&o, argc, argv)) != 0) return rc < 0 ? EXIT_OK : rc;
  path = argv[optind];
  if ((rc = scan_file(path, &s)) < 0) {
    tool_msg("cannot read %s: %s", path, rc == -ENOMEM ? "out of memory" : mcap_strerror(rc));
    scan_free(&s);
    return EXIT_ERROR;
  }
  if (!o.quiet) note_end(path, s.end);
  tool_install_signals(0); /* interruptible: a blocked wait or sleep ends on SIGINT/SIGTERM */
  if ((n = open_buses(&o, &s)) < 0) {
    scan_free(&s);
    return -n;
  }
  if (n == 0 && !o.quiet) tool_msg("%s: no channel to play", path);
  rc = EXIT_OK;
  do rc = n ? play_pass(path, &o, &s) : EXIT_OK;
  while (rc == EXIT_OK && o.loop && n && !tool_stop);
  scan_free(&s);
  return rc;
}
