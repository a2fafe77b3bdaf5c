/* record.c - `shmbus record`: every record of the matching buses, in order, into an MCAP file.
 *
 * One MCAP channel per bus (topic = bus name; a replaced bus of another type, schema or
 * geometry gets a new channel), log_time = publish_time = the record's publish time, sequence =
 * the low 32 bits of its version. A typed bus's schema goes with its channel; a C-struct bus's
 * records are written as CDR (tools/recmap.h: bus_encoding(), convert_record()). Records the
 * ring overwrote before the recorder read them are counted per bus and written as JSON
 * messages on the channel REC_LOST_TOPIC as they happen (so a killed recorder's file still has
 * them), and as a Metadata record "shmbus.lost" at the end.
 * The recorder only reads: it never slows a writer. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "mcap/mcap.h"
#include "tools/common.h"
#include "tools/recmap.h"
#include "tools/record.h"

static const char usage[] =
    "Usage: shmbus record [options] [BUS|GLOB ...]\n"
    "Record every record of the matching buses (default: every bus this user may read) into\n"
    "an MCAP file, until SIGINT/SIGTERM, -C or --max-duration. Buses that appear later and\n"
    "match are recorded from their oldest record; replaced buses are followed.\n"
    "\n"
    "  -o, --output FILE       the file (default shmbus-YYYYmmddTHHMMSSZ.mcap; '-': stdout)\n"
    "      --compression ALG   chunk compression: zstd (default), lz4, none\n"
    "      --chunk-size SIZE   uncompressed bytes per chunk (default 1M); a chunk is also\n"
    "                          closed every second, so a killed recorder loses at most that\n"
    "      --max-duration SEC  stop after SEC seconds\n"
    "      --split-size SIZE   a new file once one reaches SIZE bytes (FILE_0.mcap,\n"
    "                          FILE_1.mcap, ...; no record is lost at the boundary)\n"
    "      --split-duration SEC  a new file every SEC seconds\n"
    "      --drain-interval MS  read every bus every MS ms (1-1000) instead of waking\n"
    "                          for each record: far fewer wakeups, up to MS of delay;\n"
    "                          each ring must hold more than MS worth of records\n"
    "  -C, --count N           stop after N records\n"
    "  -q, --quiet             no status line\n"
    "  -h, --help              this help\n"
    "\n"
    "Untyped buses are recorded as raw bytes: no schema, message encoding 'x-shmbus-raw'.\n"
    "C-struct buses as their omgidl schema and CDR messages (Foxglove decodes them); other\n"
    "typed buses with their schema and encoding, as they are.\n"
    "Lost records (overwritten before the recorder read them) go to the channel\n"
    "'/shmbus/lost' (JSON) as they happen, and to the metadata 'shmbus.lost' at the end.\n"
    "\n"
    "Examples:\n"
    "  shmbus record -o run1.mcap                 every bus\n"
    "  shmbus record -o cam.mcap 'camera.*' imu   a glob and a name\n"
    "\n" TOOLS_EXIT_CODES;

struct rbus {
  char name[SHMBUS_NAME_MAX + 1];
  shmbus_sub *sub; /* NULL: gone (removed), reopened when it comes back */
  struct shmbus_bus_info bi;
  struct rec_encoding enc;     /* from the open subscription's schema */
  int channel;                 /* -1: none yet */
  uint64_t records, lost, bad; /* bad: records not converted (not a whole C struct) */
  /* --drain-interval: the rate window (the bus's latest version and the time at its start),
   * and whether the ring-too-shallow warning was given */
  uint64_t win_version;
  int64_t win_start;
  int warned;
};

struct recorder {
  char **patterns;
  int npatterns;
  const char *output;
  struct mcap_writer_opts wo;
  uint64_t count, split_size;
  double max_duration, split_duration;
  int64_t drain_ns; /* --drain-interval: 0, or drain every bus on this timer */
  unsigned part;    /* with splitting: the number of the current file */
  char path[4096];  /* the current file */
  int64_t file_started;
  int quiet;
  mcap_writer *w;
  struct rbus *b;
  size_t n, cap;
  uint8_t *buf, *msg; /* a record; its converted message */
  size_t bufcap, msgcap;
  int lost_channel;
  uint64_t records, lost, unflushed;
  int64_t started, last_flush, last_status;
  int err;
};

static int matches(const struct recorder *r, const char *name) {
  int i;
  if (r->npatterns == 0) return 1;
  for (i = 0; i < r->npatterns; i++)
    if (fnmatch(r->patterns[i], name, 0) == 0) return 1;
  return 0;
}

static struct rbus *find(struct recorder *r, const char *name) {
  size_t i;
  for (i = 0; i < r->n; i++)
    if (!strcmp(r->b[i].name, name)) return &r->b[i];
  return NULL;
}

static int same_incarnation_shape(const struct shmbus_bus_info *a,
                                  const struct shmbus_bus_info *b) {
  return !strcmp(a->type, b->type) && a->slots == b->slots && a->capacity == b->capacity &&
         a->schema_hash == b->schema_hash;
}

/* @b's MCAP encodings, from the schema of its (new) subscription (tools/recmap.h). */
static int bus_encoding(struct recorder *r, struct rbus *b) {
  struct shmbus_schema sc;
  char err[256];
  int rc;
  rec_encoding_free(&b->enc);
  rc = rec_bus_encoding(shmbus_sub_schema(b->sub, &sc) == 0 ? &sc : NULL, &b->enc, err, sizeof err);
  if (rc == -EINVAL)
    tool_msg("bus %s: its schema does not parse (%s); recording its records as they are", b->name,
             err);
  else if (rc < 0) return rc;
  if (rec_message_cap(&b->enc, b->bi.capacity) > r->msgcap && b->enc.type) {
    size_t need = rec_message_cap(&b->enc, b->bi.capacity);
    uint8_t *nm = realloc(r->msg, need);
    if (nm == NULL) return -ENOMEM;
    r->msg = nm;
    r->msgcap = need;
  }
  return 0;
}

/* The bus's channel (and schema), from bus_encoding(). Its metadata lets `shmbus play` (and
 * anyone) rebuild the bus: docs/TOOLS.md lists the keys. */
static int add_channel(struct recorder *r, struct rbus *b) {
  const struct rec_encoding *e = &b->enc;
  char slots[16], cap[24], created[24], latest[24], hash[24];
  struct mcap_kv md[8] = {{"shmbus.type", b->bi.type},
                          {"shmbus.slots", slots},
                          {"shmbus.capacity", cap},
                          {"shmbus.created_ns", created},
                          {"shmbus.latest_version", latest}};
  size_t nmd = 5;
  int schema = 0, rc;
  snprintf(slots, sizeof slots, "%u", b->bi.slots);
  snprintf(cap, sizeof cap, "%llu", (unsigned long long)b->bi.capacity);
  snprintf(created, sizeof created, "%llu", (unsigned long long)b->bi.created_ns);
  snprintf(latest, sizeof latest, "%llu", (unsigned long long)b->bi.latest);
  if (e->bus_encoding) { /* a typed bus: what it carried, when the channel says otherwise */
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)b->bi.schema_hash);
    md[nmd++] = (struct mcap_kv){"shmbus.type_name", b->bi.type_name};
    md[nmd++] = (struct mcap_kv){"shmbus.message_encoding", e->bus_encoding};
    md[nmd++] = (struct mcap_kv){"shmbus.schema_hash", hash};
  }
  if (e->schema_encoding &&
      (schema = mcap_writer_add_schema(r->w, e->schema_name, e->schema_encoding, e->schema,
                                       e->schema_len)) < 0)
    return schema;
  if ((rc = mcap_writer_add_channel(r->w, (uint16_t)schema, b->name, e->message_encoding, md,
                                    nmd)) < 0)
    return rc;
  b->channel = rc;
  return 0;
}

/* Open (or reopen) @b: from its oldest record when it appeared after the start. */
static int open_bus(struct recorder *r, struct rbus *b, int from_oldest) {
  struct shmbus_bus_info old = b->bi;
  int rc = shmbus_sub_open(b->name, 0, &b->sub);
  if (rc < 0) {
    b->sub = NULL;
    return rc;
  }
  shmbus_sub_info(b->sub, &b->bi);
  shmbus_sub_seek(b->sub, from_oldest ? SHMBUS_SEEK_OLDEST : SHMBUS_SEEK_NEW);
  if ((rc = bus_encoding(r, b)) < 0) return rc;
  if (b->channel < 0 || !same_incarnation_shape(&old, &b->bi)) return add_channel(r, b);
  return 0;
}

static int add_bus(const char *name, void *arg) {
  struct recorder *r = arg;
  struct rbus *b = find(r, name);
  int rc;
  if (!matches(r, name)) return 0;
  if (b && b->sub) return 0;
  if (b == NULL) {
    if (r->n == r->cap) {
      struct rbus *nv = realloc(r->b, (r->cap = r->cap ? 2 * r->cap : 16) * sizeof *nv);
      if (nv == NULL) return -ENOMEM;
      r->b = nv;
    }
    b = &r->b[r->n++];
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->channel = -1;
  }
  rc = open_bus(r, b, r->last_flush != 0); /* after the start: from its oldest record */
  if (rc == -ENOMEM || (rc < 0 && rc != -ENOENT && rc != -EACCES && rc != -EPROTO &&
                        rc != -EPROTONOSUPPORT && rc != -EINVAL))
    return rc;
  return 0;
}

static int write_lost(struct recorder *r, struct rbus *b, uint64_t lost, uint64_t version,
                      uint64_t t) {
  char msg[SHMBUS_NAME_MAX + 96];
  int rc, len;
  if (r->lost_channel < 0) {
    if ((rc = mcap_writer_add_channel(r->w, 0, REC_LOST_TOPIC, "json", NULL, 0)) < 0) return rc;
    r->lost_channel = rc;
  }
  len = snprintf(msg, sizeof msg, "{\"bus\":\"%s\",\"lost\":%llu,\"before_version\":%llu}", b->name,
                 (unsigned long long)lost, (unsigned long long)version);
  return mcap_writer_message(r->w, (uint16_t)r->lost_channel, 0, t, t, msg, (size_t)len);
}

static int split(struct recorder *r);
static int split_due(const struct recorder *r);

static int grow(struct recorder *r, uint64_t need) {
  uint8_t *nb;
  if (need <= r->bufcap) return 0;
  if ((nb = realloc(r->buf, need)) == NULL) return -ENOMEM;
  r->buf = nb;
  r->bufcap = need;
  return 0;
}

/* One record of @b as its channel's message (a C struct as CDR): 1 and *@msg, *@mlen; 0: the
 * record does not convert (counted in b->bad, said once). */
static int convert_record(struct recorder *r, struct rbus *b, size_t len, const void **msg,
                          size_t *mlen) {
  ssize_t n = rec_convert(&b->enc, r->buf, len, r->msg, r->msgcap, msg);
  if (n >= 0) {
    *mlen = (size_t)n;
    return 1;
  }
  if (b->bad++ == 0)
    tool_msg("bus %s: a record of %zu bytes is no %s of %zu; such records are not recorded",
             b->name, len, b->bi.type_name, shmbus_type_size(b->enc.type));
  return 0;
}

/* One record of @b into the file. */
static int put_record(struct recorder *r, struct rbus *b, size_t len,
                      const struct shmbus_record_info *info) {
  const void *msg;
  size_t mlen;
  int rc;
  if (info->lost) {
    b->lost += info->lost;
    r->lost += info->lost;
    if ((rc = write_lost(r, b, info->lost, info->version, info->timestamp_ns)) < 0) return rc;
  }
  if (!convert_record(r, b, len, &msg, &mlen)) return 0;
  rc = mcap_writer_message(r->w, (uint16_t)b->channel, (uint32_t)info->version, info->timestamp_ns,
                           info->timestamp_ns, msg, mlen);
  if (rc < 0) return rc;
  b->records++;
  r->records++;
  r->unflushed++;
  return split_due(r) ? split(r) : 0; /* the next record goes into the next file */
}

/* Read what @b has, up to a batch (fair to the other buses). 1: more may be waiting. */
static int drain(struct recorder *r, struct rbus *b) {
  struct shmbus_record_info info;
  int i, rc;
  for (i = 0; i < 4096; i++) {
    ssize_t n;
    if (r->count && r->records >= r->count) return 0;
    memset(&info, 0, sizeof info);
    n = shmbus_sub_next(b->sub, r->buf, r->bufcap, &info);
    if (n == -ENOBUFS) {
      if ((rc = grow(r, info.length)) < 0) return rc;
      n = shmbus_sub_next(b->sub, r->buf, r->bufcap, &info);
    }
    if (n == -EAGAIN) {
      /* On the timer nothing waits on the bus: a zero-timeout wait publishes our cursor and
       * lost count in the reader registry (`shmbus stat`) and reports a replacement. */
      if (!r->drain_ns || shmbus_sub_wait(b->sub, 0, 0) != -ESTALE) return 0;
      n = -ESTALE;
    }
    if (n == -ESTALE) { /* replaced or removed: reopen at once, from its oldest record */
      shmbus_sub_close(b->sub);
      b->sub = NULL;
      open_bus(r, b, 1);
      return b->sub != NULL;
    }
    if (n < 0) {
      tool_msg("bus %s: %s; skipping what is there now", b->name, shmbus_strerror((int)n));
      shmbus_sub_seek(b->sub, SHMBUS_SEEK_NEW);
      return 0;
    }
    if ((rc = put_record(r, b, (size_t)n, &info)) < 0) return rc;
  }
  return 1;
}

static void status(struct recorder *r, int final) {
  char mb[32], dur[32];
  int64_t now = now_monotonic_ns();
  if (r->quiet || !isatty(STDERR_FILENO) || (!final && now - r->last_status < 250000000)) return;
  r->last_status = now;
  fmt_bytes(mcap_writer_bytes(r->w), mb, sizeof mb);
  fmt_duration((double)(now - r->started) / 1e9, dur, sizeof dur);
  fprintf(stderr, "\rrecording %s: %zu buses, %llu records, %s, %llu lost   %s", dur, r->n,
          (unsigned long long)r->records, mb, (unsigned long long)r->lost, final ? "\n" : "");
}

/* Poll the open buses' descriptors and /dev/shm for up to 200 ms (0 when work is pending).
 * Return: 1 when /dev/shm changed (or cannot be watched): time to look for new buses. */
static int wait_for_work(struct recorder *r, int watch, int busy) {
  struct pollfd p[257];
  size_t i, k = 0;
  int changed = watch < 0;
  if (watch >= 0) p[k++] = (struct pollfd){watch, POLLIN, 0};
  for (i = 0; i < r->n && k < 257; i++)
    if (r->b[i].sub) {
      int fd = shmbus_sub_fd(r->b[i].sub);
      if (fd >= 0) p[k++] = (struct pollfd){fd, POLLIN, 0};
    }
  if (poll(p, k, busy ? 0 : 200) > 0 && watch >= 0 && (p[0].revents & POLLIN)) {
    shm_watch_wait(watch, 0); /* drains the events */
    changed = 1;
  }
  for (i = 0; i < r->n; i++)
    if (r->b[i].sub) shmbus_sub_wait(r->b[i].sub, 0, 0); /* quiets each pollable descriptor */
  return changed;
}

/* --drain-interval: say once per bus when its ring cannot hold an interval's worth of records
 * at the rate seen over the last second (slots <= rate x interval), or when it lost records
 * between two drains. One load of `latest` per bus per drain; the check once a second. */
static void check_depth(struct recorder *r, struct rbus *b, int64_t now) {
  uint64_t v = shmbus_sub_latest(b->sub);
  int64_t dt;
  double rate;
  if (b->warned) return;
  if (b->win_start == 0 || v < b->win_version) { /* the first drain, or a new incarnation */
    b->win_start = now;
    b->win_version = v;
  }
  dt = now - b->win_start;
  if (b->lost == 0 && dt < 1000000000LL) return;
  rate = (double)(v - b->win_version) * 1e9 / (double)(dt > 0 ? dt : 1);
  if (b->lost || rate * (double)r->drain_ns / 1e9 >= (double)b->bi.slots) {
    tool_msg("bus %s: its %u slots hold less than --drain-interval %lld ms of records%s; use "
             "a deeper ring or a shorter interval",
             b->name, b->bi.slots, (long long)(r->drain_ns / 1000000),
             b->lost ? " (records were lost)" : " at its rate");
    b->warned = 1;
  }
  b->win_start = now;
  b->win_version = v;
}

/* --drain-interval: sleep until @until (0 when work is pending), or until /dev/shm changed or a
 * signal came (poll() is not restarted: tool_install_signals(0)). Return: 1 when /dev/shm
 * changed: time to look for new buses. */
static int wait_for_tick(int watch, int64_t until, int busy) {
  struct pollfd p = {watch, POLLIN, 0};
  int64_t left = busy ? 0 : until - now_monotonic_ns();
  int ms = left <= 0 ? 0 : (int)((left + 999999) / 1000000);
  if (watch < 0) {
    if (ms > 0) poll(NULL, 0, ms);
    return 0; /* no watch: the once-a-second scan finds new buses */
  }
  if (poll(&p, 1, ms) > 0 && (p.revents & POLLIN)) {
    shm_watch_wait(watch, 0); /* drains the events */
    return 1;
  }
  return 0;
}

static int recording_done(const struct recorder *r) {
  if (tool_stop || (r->count && r->records >= r->count)) return 1;
  return r->max_duration > 0 && (double)(now_monotonic_ns() - r->started) / 1e9 >= r->max_duration;
}

static int record_buses(struct recorder *r) {
  int watch = shm_watch_open(), rc = 0, busy = 0;
  int64_t scanned, tick;
  size_t i;
  if ((rc = shmbus_list(add_bus, r)) < 0) goto out;
  r->last_flush = scanned = tick = now_monotonic_ns(); /* from now on, new buses: oldest first */
  if (!r->quiet) tool_msg("recording %zu bus%s into %s", r->n, r->n == 1 ? "" : "es", r->path);
  while (!recording_done(r)) {
    /* Discovery (a scan of /dev/shm, a match of every name) when /dev/shm changed, and once
     * a second anyway (a bus that came back after a failed open): not at every wakeup, which
     * at 10 kHz of records cost the recorder more than the records (bench/record_bench). */
    int changed;
    if (r->drain_ns) { /* the timer: the next tick, skipping those already missed */
      changed = wait_for_tick(watch, tick + r->drain_ns, busy);
      if (now_monotonic_ns() >= tick + r->drain_ns) tick = now_monotonic_ns();
      if (tool_stop) { /* what came before the signal, then stop */
        for (i = 0; i < r->n; i++)
          if (r->b[i].sub && (rc = drain(r, &r->b[i])) < 0) goto out;
        break;
      }
    } else {
      changed = wait_for_work(r, watch, busy);
    }
    if (changed || now_monotonic_ns() - scanned > 1000000000LL) {
      if ((rc = shmbus_list(add_bus, r)) < 0) goto out;
      scanned = now_monotonic_ns();
    }
    for (i = 0, busy = 0; i < r->n; i++)
      if (r->b[i].sub && (rc = drain(r, &r->b[i])) != 0) {
        if (rc < 0) goto out;
        busy = 1;
      }
    if (r->drain_ns) {
      int64_t now = now_monotonic_ns();
      for (i = 0; i < r->n; i++)
        if (r->b[i].sub) check_depth(r, &r->b[i], now);
    }
    if (r->split_duration > 0 && split_due(r) && (rc = split(r)) < 0) goto out;
    if (r->unflushed && now_monotonic_ns() - r->last_flush > 1000000000LL) {
      if ((rc = mcap_writer_flush(r->w)) < 0) goto out;
      r->last_flush = now_monotonic_ns();
      r->unflushed = 0;
    }
    status(r, 0);
  }
  rc = 0;
out:
  if (watch >= 0) close(watch);
  return rc;
}

/* The end of a file: the lost counts so far as metadata, the summary. */
static int end_file(struct recorder *r) {
  struct mcap_kv *md = calloc(r->n + 1, sizeof *md);
  char(*vals)[24] = calloc(r->n + 1, sizeof *vals);
  size_t i, k = 0;
  int rc;
  if (md && vals)
    for (i = 0; i < r->n; i++) {
      snprintf(vals[k], sizeof vals[k], "%llu", (unsigned long long)r->b[i].lost);
      md[k].key = r->b[i].name;
      md[k].value = vals[k];
      k++;
    }
  rc = mcap_writer_metadata(r->w, "shmbus.lost", md, k);
  free(md);
  free(vals);
  if (rc == 0) rc = mcap_writer_close(r->w);
  else mcap_writer_abandon(r->w);
  r->w = NULL;
  return rc;
}

/* The status line's last state and the per-bus counts, on stderr. */
static void report(struct recorder *r) {
  size_t i;
  if (r->quiet) return;
  for (i = 0; i < r->n; i++)
    if (r->b[i].bad)
      tool_msg("%s: %llu records, %llu lost; %llu not a whole C struct (not recorded)",
               r->b[i].name, (unsigned long long)r->b[i].records, (unsigned long long)r->b[i].lost,
               (unsigned long long)r->b[i].bad);
    else
      tool_msg("%s: %llu records, %llu lost", r->b[i].name, (unsigned long long)r->b[i].records,
               (unsigned long long)r->b[i].lost);
}

static int parse_args(struct recorder *r, int argc, char **argv) {
  static const struct option longs[] = {{"output", 1, 0, 'o'},
                                        {"compression", 1, 0, 'z'},
                                        {"chunk-size", 1, 0, 'k'},
                                        {"max-duration", 1, 0, 'd'},
                                        {"count", 1, 0, 'C'},
                                        {"quiet", 0, 0, 'q'},
                                        {"help", 0, 0, 'h'},
                                        {"split-size", 1, 0, 'S'},
                                        {"split-duration", 1, 0, 'D'},
                                        {"drain-interval", 1, 0, 'I'},
                                        {0, 0, 0, 0}};
  uint64_t v;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":o:C:qh", longs, NULL)) != -1) {
    if (c == 'o') r->output = optarg;
    else if (c == 'z' && mcap_compression_parse(optarg, &r->wo.compression) < 0)
      return tool_usage_error("--compression: zstd, lz4 or none, not '%s'", optarg);
    else if (c == 'k' && (parse_size(optarg, &v) < 0 || v == 0))
      return tool_usage_error("--chunk-size wants a size like 1M, not '%s'", optarg);
    else if (c == 'k') r->wo.chunk_size = v;
    else if (c == 'd' && parse_seconds(optarg, &r->max_duration) < 0)
      return tool_usage_error("--max-duration wants seconds > 0, not '%s'", optarg);
    else if (c == 'S' && (parse_size(optarg, &r->split_size) < 0 || r->split_size == 0))
      return tool_usage_error("--split-size wants a size like 100M, not '%s'", optarg);
    else if (c == 'D' && parse_seconds(optarg, &r->split_duration) < 0)
      return tool_usage_error("--split-duration wants seconds > 0, not '%s'", optarg);
    else if (c == 'I' && (parse_u64(optarg, &v) < 0 || v < 1 || v > 1000))
      return tool_usage_error("--drain-interval wants milliseconds from 1 to 1000, not '%s'",
                              optarg);
    else if (c == 'I') r->drain_ns = (int64_t)v * 1000000;
    else if (c == 'C' && (parse_u64(optarg, &r->count) < 0 || r->count == 0))
      return tool_usage_error("--count wants a number > 0, not '%s'", optarg);
    else if (c == 'q') r->quiet = 1;
    else if (c == 'h') {
      fputs(usage, stdout);
      return -1;
    } else if (c == ':' || c == '?') {
      return tool_bad_option(c, argv);
    }
  }
  r->patterns = argv + optind;
  r->npatterns = argc - optind;
  if (r->output && !strcmp(r->output, "-") && (r->split_size || r->split_duration > 0))
    return tool_usage_error("--split-size/--split-duration need a file, not '-' (stdout)");
  return 0;
}

/* The current file's descriptor: FILE, or with splitting FILE_N.mcap (FILE less ".mcap"). */
static int open_output(struct recorder *r, char *name, size_t n) {
  time_t t = time(NULL);
  struct tm tm;
  size_t len;
  int fd;
  if (r->output == NULL) {
    gmtime_r(&t, &tm);
    strftime(name, n, "shmbus-%Y%m%dT%H%M%SZ.mcap", &tm);
    r->output = name;
  }
  snprintf(r->path, sizeof r->path, "%s", r->output);
  if (!strcmp(r->output, "-")) return dup(STDOUT_FILENO);
  len = strlen(r->output);
  if (len > 5 && !strcmp(r->output + len - 5, ".mcap")) len -= 5;
  if (r->split_size || r->split_duration > 0)
    snprintf(r->path, sizeof r->path, "%.*s_%u.mcap", (int)len, r->output, r->part);
  fd = open(r->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) tool_msg("cannot create %s: %s", r->path, strerror(errno));
  return fd;
}

static int start_file(struct recorder *r, char *name, size_t n) {
  int fd = open_output(r, name, n), rc;
  if (fd < 0) return -EIO;
  if ((rc = mcap_writer_open(fd, &r->wo, &r->w)) < 0) {
    tool_msg("cannot write %s: %s", r->path, mcap_strerror(rc));
    close(fd);
    return rc;
  }
  r->file_started = now_monotonic_ns();
  return 0;
}

/* --split-*: finish this file and go on in the next; every open bus gets its channel again. */
static int split(struct recorder *r) {
  size_t i;
  int rc;
  if ((rc = end_file(r)) < 0) return rc;
  r->part++;
  r->lost_channel = -1;
  if ((rc = start_file(r, NULL, 0)) < 0) return rc;
  for (i = 0; i < r->n; i++) {
    r->b[i].channel = -1;
    if (r->b[i].sub && (rc = add_channel(r, &r->b[i])) < 0) return rc;
  }
  return 0;
}

static int split_due(const struct recorder *r) {
  if (r->split_size && mcap_writer_bytes(r->w) + mcap_writer_buffered(r->w) >= r->split_size)
    return 1;
  return r->split_duration > 0 &&
         (double)(now_monotonic_ns() - r->file_started) / 1e9 >= r->split_duration;
}

int cmd_record(int argc, char **argv) {
  struct recorder r;
  char name[64];
  int rc;
  memset(&r, 0, sizeof r);
  mcap_writer_opts_init(&r.wo);
  r.wo.library = "shmbus " SHMBUS_VERSION_STRING;
  r.lost_channel = -1;
  if ((rc = parse_args(&r, argc, argv)) != 0) return rc < 0 ? EXIT_OK : rc;
  if (start_file(&r, name, sizeof name) < 0) return EXIT_ERROR;
  tool_install_signals(0); /* interruptible: a blocked wait or sleep ends on SIGINT/SIGTERM */
  r.started = now_monotonic_ns();
  if ((rc = grow(&r, 65536)) == 0) rc = record_buses(&r);
  if (rc < 0)
    tool_msg("recording stopped: %s", rc == -ENOMEM ? "out of memory" : mcap_strerror(rc));
  status(&r, 1);
  if (r.w && end_file(&r) < 0 && rc == 0) {
    rc = -EIO;
    tool_msg("cannot finish %s", r.path);
  }
  report(&r);
  for (size_t i = 0; i < r.n; i++) {
    shmbus_sub_close(r.b[i].sub);
    rec_encoding_free(&r.b[i].enc);
  }
  free(r.b);
  free(r.buf);
  free(r.msg);
  return rc < 0 ? EXIT_ERROR : EXIT_OK;
}
