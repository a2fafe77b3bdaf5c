/* shmsub - print what is published on a bus, or live statistics about it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "tools/common.h"
#include "tools/format.h"
#include "tools/options.h"
#include "tools/typed.h"
#include "tools/stats.h"

/* --help: this, the option list (option_list[] below), then usage_tail. */
static const char usage_head[] =
    "Usage: shmsub NAME [options]    (or: shmsub -t NAME [options])\n"
    "Print the records published on bus NAME: its latest record at once (when there is one),\n"
    "then each new one. When the output is slower than the writer, shmsub prints the newest\n"
    "record and skips the rest (latest-value semantics; -v shows how many it skipped).\n"
    "\n";

static const char usage_tail[] =
    "\n"
    "When the writer stops, shmsub keeps waiting for a new writer; when the bus is replaced or\n"
    "removed, it reopens it by name (waiting for it to come back), and says so on stderr.\n"
    "With --all (and statistics), a bus created after shmsub started (one it waited for with\n"
    "--wait-for-bus, or reopened) is read from its oldest record: a publisher started after\n"
    "shmsub loses nothing while its ring holds the records. On an older bus, --all starts at\n"
    "the latest record (--oldest: at the oldest one still held). Statistics restart when the\n"
    "bus is replaced. SEC is at most 1000000 (about 11.6 days).\n"
    "\n"
    "Examples:\n"
    "  shmsub temp                        follow bus temp\n"
    "  shmsub temp -1                     its latest value, once\n"
    "  shmsub nums --all -C 1000 --wait-for-bus > out.txt\n"
    "  shmsub imu -v -i 0.5               two samples a second, with their latency\n"
    "  shmsub imu -F json -v | jq .latency_ns\n"
    "  shmsub imu -F json                 typed records as their fields\n"
    "  shmsub imu --field acc[2]          one field of each record\n"
    "  shmsub imu --hz --delay            rate, jitter and latency every second\n"
    "\n" TOOLS_EXIT_CODES;

struct opts {
  const char *name;
  const char *topic; /* -t NAME, else NULL (the NAME is the operand) */
  int all, once, wait_for_bus, verbose, mode, stats, start; /* start: 0 latest, new, oldest */
  int modes, starts; /* how many wait modes and start points were given (one at most) */
  uint64_t count;
  double timeout, interval;
  size_t window;
  enum out_format fmt;
  const char *field; /* --field PATH: print that field of typed records */
};

struct reader {
  shmbus_sub *s;
  char *buf;
  size_t cap;
  int dead;   /* the writer is gone: wait through its death for a new one */
  int hinted; /* the 'lost' advice was given */
  int fresh;  /* --all on a bus that appeared while we waited: versions from 1 are ours */
  uint64_t last_version; /* of the last record printed from this bus, 0 = none */
  struct typed typed;    /* what the bus's schema says its records are */
  uint64_t undecoded;    /* records that did not decode as the schema says (shown as bytes) */
  uint64_t done;
  int64_t last_record, next_print; /* CLOCK_MONOTONIC */
  int64_t start_ns;                /* CLOCK_REALTIME when shmsub started */
  struct stats st;
};

/* A deadline from -W, or INT64_MAX. */
static int64_t timeout_deadline(const struct opts *o, const struct reader *r) {
  return o->timeout > 0 ? r->last_record + (int64_t)(o->timeout * 1e9) : INT64_MAX;
}

/* timed_out() - report -W expiring; @appeared: whether the bus ever existed for us. */
static int timed_out(const struct opts *o, int appeared) {
  const char *unit = o->timeout == 1 ? "second" : "seconds";
  if (appeared)
    tool_msg("no record on bus '%s' for %g %s; giving up (-W)", o->name, o->timeout, unit);
  else tool_msg("bus '%s' did not appear within %g %s; giving up (-W)", o->name, o->timeout, unit);
  return EXIT_TIMEOUT;
}

/* -v: what the bus is, once it is open (the type tag, its geometry, its latest version). */
static void describe_bus(const struct opts *o, shmbus_sub *s) {
  struct shmbus_bus_info bi;
  char cap[32];
  if (!o->verbose || shmbus_sub_info(s, &bi) < 0) return;
  fmt_bytes(bi.capacity, cap, sizeof cap);
  fprintf(stderr, "%s: bus '%s': type '", tool_name, o->name);
  text_safe(stderr, bi.type[0] ? bi.type : "-", bi.type[0] ? strlen(bi.type) : 1);
  fprintf(stderr, "', %u slots of %s, latest version %llu", bi.slots, cap,
          (unsigned long long)bi.latest);
  if (bi.type_name[0]) {
    fputs(", schema ", stderr);
    text_safe(stderr, bi.type_name, strlen(bi.type_name));
    fprintf(stderr, " (%s, messages %s)", bi.schema_encoding, bi.message_encoding);
  }
  fputc('\n', stderr);
}

/* open_typed() - what the bus's schema says its records are. A schema that does not parse is
 * reported and the records are shown as bytes; --field needs a bus it can pick fields in.
 * Return: 0, or an exit code (reported). */
static int open_typed(const struct opts *o, struct reader *r) {
  struct shmbus_schema sc;
  char err[512];
  int have = shmbus_sub_schema(r->s, &sc) == 0;
  typed_close(&r->typed);
  r->undecoded = 0;
  if (have && typed_open(&sc, &r->typed, err, sizeof err) < 0) {
    tool_msg("bus '%s': its schema (type %s) does not parse, so its records are shown as bytes: "
             "%s",
             o->name, sc.type_name, err);
    memset(&r->typed, 0, sizeof r->typed);
  }
  if (o->field && r->typed.kind != TYPED_CSTRUCT && r->typed.kind != TYPED_JSON) {
    tool_msg("bus '%s' %s, so --field has no fields to pick: it needs a typed bus (shmpub "
             "--schema FILE --type NAME)",
             o->name, have ? "carries records shmsub cannot decode" : "carries no schema");
    return EXIT_USAGE;
  }
  if (o->field && typed_field_check(&r->typed, o->field, err, sizeof err) < 0) {
    tool_msg("bus '%s' (type %s): --field: %s", o->name, r->typed.name, err);
    return EXIT_USAGE;
  }
  return 0;
}

/* open_bus() - open (or reopen) the bus into @r, waiting for it when @wait. Return: 0, or an
 * exit code (reported). */
static int open_bus(const struct opts *o, struct reader *r, int wait, int reopened) {
  struct shmbus_bus_info bi;
  int rc, waited = 0, watch = -1;
  uint64_t cap;
  char *nb;
  for (;;) {
    rc = shmbus_sub_open(o->name, 0, &r->s);
    if (rc != -ENOENT || !wait) break;
    if (!waited && (o->verbose || reopened))
      tool_msg("waiting for bus '%s' to exist%s", o->name, reopened ? " again" : "");
    if (!waited) {
      waited = 1;
      watch = shm_watch_open();
      continue; /* it may have appeared before the watch existed */
    }
    if (now_monotonic_ns() >= timeout_deadline(o, r)) {
      if (watch >= 0) close(watch);
      return timed_out(o, reopened);
    }
    shm_watch_wait(watch, 100000000LL);
    if (tool_stop) {
      if (watch >= 0) close(watch);
      return EXIT_OK;
    }
  }
  if (watch >= 0) close(watch);
  if (rc < 0) return tool_fail("subscribe to", o->name, rc, HINT_WAIT_FOR_BUS);
  cap = shmbus_sub_capacity(r->s);
  if (cap > r->cap || r->buf == NULL) {
    if ((nb = realloc(r->buf, cap ? cap : 1)) == NULL)
      return tool_fail("subscribe to", o->name, -ENOMEM, 0);
    r->buf = nb;
    r->cap = cap;
  }
  /* A bus created after shmsub started (it appeared while we waited, came back, or was made
   * between our start and our first look) holds only records published after we started:
   * --new skips none of them, and --all and statistics read them from the oldest. */
  if (!waited && !reopened && shmbus_sub_info(r->s, &bi) == 0 &&
      (int64_t)bi.created_ns >= r->start_ns)
    waited = 1;
  /* Statistics measure records published from now on (like ros2 topic delay/hz): the
   * latest record of an older bus is not a sample, its age is no delay. */
  if ((o->start == SHMBUS_SEEK_NEW || o->stats) && !waited && !reopened)
    shmbus_sub_seek(r->s, SHMBUS_SEEK_NEW);
  if (o->start == SHMBUS_SEEK_OLDEST || ((waited || reopened) && (o->all || o->stats))) {
    shmbus_sub_seek(r->s, SHMBUS_SEEK_OLDEST);
    r->fresh = waited || reopened; /* a new bus starts at version 1 */
  }
  r->dead = 0;
  r->last_version = 0;
  describe_bus(o, r->s);
  return open_typed(o, r);
}

static int reopen(const struct opts *o, struct reader *r) {
  tool_msg("bus '%s' was replaced or removed; reopening it by name", o->name);
  shmbus_sub_close(r->s);
  r->s = NULL;
  if (o->stats) stats_reset(&r->st); /* the new bus's versions start again at 1 */
  return open_bus(o, r, 1, 1);
}

/* One record read: print it or add it to the statistics. Return: 0 or an exit code. */
static int consume_record(const struct opts *o, struct reader *r, size_t len,
                          struct shmbus_record_info *info) {
  int64_t now = now_realtime_ns();
  r->last_record = now_monotonic_ns();
  if (r->last_version && info->version > r->last_version + 1 + info->lost)
    info->lost = info->version - r->last_version - 1; /* -i: skipped during the pause too */
  r->last_version = info->version;
  r->done++;
  if (r->dead) {
    struct shmbus_bus_info bi;
    if (shmbus_sub_info(r->s, &bi) == 0 && bi.writer_alive) {
      r->dead = 0;
      if (o->verbose) tool_msg("a writer (pid %d) publishes on '%s' again", bi.writer_pid, o->name);
    }
  }
  if (o->stats) {
    struct stats_sample x = {info->version, r->last_record, now - (int64_t)info->timestamp_ns, len};
    stats_add(&r->st, &x);
    return 0;
  }
  if (r->fresh && info->version > 1 + info->lost) /* overwritten before we opened it */
    info->lost = info->version - 1;
  r->fresh = 0;
  if (o->all && info->lost) {
    tool_msg("lost %llu (versions %llu-%llu)%s", (unsigned long long)info->lost,
             (unsigned long long)(info->version - info->lost),
             (unsigned long long)(info->version - 1),
             r->hinted++ ? ""
                         : ": the writer overwrote them before shmsub read them; a deeper "
                           "ring (shmpub --slots) or a slower writer (shmpub -r) helps");
  }
  struct out_record rec = {o->name,
                           info->version,
                           (int64_t)info->timestamp_ns,
                           now - (int64_t)info->timestamp_ns,
                           info->lost,
                           r->buf,
                           len};
  uint64_t undecoded = r->undecoded;
  int prc = typed_print(stdout, &r->typed, o->fmt, o->verbose, o->field, &rec, &r->undecoded);
  if (r->undecoded == 1 && undecoded == 0) /* said once per bus */
    tool_msg("record %llu of bus '%s' (%zu bytes) does not decode as %s %s; such records are "
             "shown as bytes",
             (unsigned long long)info->version, o->name, len, r->typed.name,
             o->field ? "or has no such field" : "records");
  if (prc < 0) return tool_stdout_failed();
  return 0;
}

/* writer_gone() - the wait said the writer died or closed: say which (-v), and wait through
 * it. A bus that never had a writer (pid 0: one being made) is no death; a replaced bus is
 * reopened. Return: 0, or -ESTALE. */
static int writer_gone(const struct opts *o, struct reader *r) {
  struct shmbus_bus_info bi;
  r->dead = 1;
  if (shmbus_sub_info(r->s, &bi) < 0) return 0;
  if (bi.replaced) return -ESTALE;
  if (!o->verbose) return 0;
  if (bi.writer_pid == 0) tool_msg("bus '%s' has no writer yet; waiting for one", o->name);
  else
    tool_msg("the writer of '%s' (pid %d) %s; waiting for a new writer", o->name, bi.writer_pid,
             bi.writer_closed ? "closed" : "died");
  return 0;
}

/* read_some() - read what is new after a successful wait. Return: 0, -ESTALE, or an exit code. */
static int read_some(const struct opts *o, struct reader *r) {
  struct shmbus_record_info info;
  ssize_t n;
  int rc;
  for (;;) {
    if (o->count && r->done >= o->count) return 0;
    n = (o->all || o->stats) ? shmbus_sub_next(r->s, r->buf, r->cap, &info)
                             : shmbus_sub_read_latest(r->s, r->buf, r->cap, &info);
    if (n == -EAGAIN || n == -ENODATA) return 0;
    if (n == -ESTALE) return -ESTALE;
    if (n == -ENOBUFS) { /* cannot happen with a buffer of the capacity; stay safe */
      char *nb = realloc(r->buf, info.length);
      if (nb == NULL) return tool_fail("read from", o->name, -ENOMEM, 0);
      r->buf = nb;
      r->cap = info.length;
      continue;
    }
    if (n < 0) return tool_fail("read from", o->name, (int)n, 0);
    if ((rc = consume_record(o, r, (size_t)n, &info)) != 0) return rc;
    if (!(o->all || o->stats)) return 0;
  }
}

static int follow_bus(const struct opts *o, struct reader *r) {
  const int64_t slice = 100000000LL; /* wait in slices, to notice signals and print stats */
  int rc;
  for (;;) {
    int64_t now = now_monotonic_ns(), until = now + slice, dl = timeout_deadline(o, r);
    if (tool_stop || (o->count && r->done >= o->count)) return 0;
    if (now >= dl) return timed_out(o, 1);
    if (o->stats && now >= r->next_print) {
      if (stats_print(&r->st, o->stats, stdout) < 0) return tool_stdout_failed();
      r->next_print = now + (int64_t)(o->interval * 1e9);
    }
    if (dl < until) until = dl;
    if (o->stats && r->next_print < until) until = r->next_print;
    if ((rc = tool_flush_stdout()) != 0) return rc; /* all we printed, before we wait */
    rc = shmbus_sub_wait(r->s, until - now, o->mode | (r->dead ? SHMBUS_WAIT_THROUGH_DEATH : 0));
    if (rc == -ETIMEDOUT) continue;
    if (rc == -EOWNERDEAD && (rc = writer_gone(o, r)) == 0) continue;
    if (rc == 0) rc = read_some(o, r);
    if (rc == -ESTALE) {
      if ((rc = reopen(o, r)) != 0 || tool_stop) return rc;
      continue;
    }
    if (rc < 0) return tool_fail("wait on", o->name, rc, 0);
    if (rc > 0) return rc;
    if (o->interval > 0 && !o->stats && r->done && !(o->count && r->done >= o->count)) {
      if ((rc = tool_flush_stdout()) != 0) return rc;
      tool_sleep_until(now_monotonic_ns() + (int64_t)(o->interval * 1e9));
      shmbus_sub_seek(r->s, SHMBUS_SEEK_NEW);
      r->last_record = now_monotonic_ns(); /* -W counts from the end of the pause */
    }
  }
}

/* The option handlers: option_list[] below names each one with its option. Return: 0, or an
 * exit code (reported). */

static int opt_all(void *ctx, const char *arg) {
  struct opts *o = ctx;
  (void)arg;
  o->all = 1;
  return 0;
}

static int opt_oldest(void *ctx, const char *arg) {
  struct opts *o = ctx;
  (void)arg;
  o->start = SHMBUS_SEEK_OLDEST;
  o->all = 1;
  o->starts++;
  return 0;
}

static int opt_new(void *ctx, const char *arg) {
  struct opts *o = ctx;
  (void)arg;
  o->start = SHMBUS_SEEK_NEW;
  o->starts++;
  return 0;
}

static int opt_once(void *ctx, const char *arg) {
  struct opts *o = ctx;
  (void)arg;
  o->once = 1;
  return 0;
}

static int opt_count(void *ctx, const char *arg) {
  struct opts *o = ctx;
  if (parse_u64(arg, &o->count) < 0 || o->count == 0)
    return tool_usage_error("--count wants a number > 0, not '%s'", arg);
  return 0;
}

static int opt_timeout(void *ctx, const char *arg) {
  struct opts *o = ctx;
  if (parse_seconds(arg, &o->timeout) < 0)
    return tool_usage_error("--timeout wants seconds > 0 and <= %g (e.g. 2.5), not '%s'",
                            TOOL_MAX_SECONDS, arg);
  return 0;
}

static int opt_topic(void *ctx, const char *arg) {
  struct opts *o = ctx;
  o->topic = arg;
  return 0;
}

static int opt_wait_for_bus(void *ctx, const char *arg) {
  struct opts *o = ctx;
  (void)arg;
  o->wait_for_bus = 1;
  return 0;
}

static int opt_interval(void *ctx, const char *arg) {
  struct opts *o = ctx;
  if (parse_seconds(arg, &o->interval) < 0)
    return tool_usage_error("--interval wants seconds > 0 and <= %g (e.g. 0.5), not '%s'",
                            TOOL_MAX_SECONDS, arg);
  return 0;
}

static int opt_field(void *ctx, const char *arg) {
  ((struct opts *)ctx)->field = arg;
  return 0;
}

static int opt_format(void *ctx, const char *arg) {
  struct opts *o = ctx;
  if (parse_format(arg, &o->fmt) < 0)
    return tool_usage_error("--format wants text, hex, json or raw, not '%s'", arg);
  return 0;
}

static int opt_verbose(void *ctx, const char *arg) {
  struct opts *o = ctx;
  (void)arg;
  o->verbose = 1;
  return 0;
}

static int opt_hz(void *ctx, const char *arg) {
  struct opts *o = ctx;
  (void)arg;
  o->stats |= STATS_HZ;
  return 0;
}

static int opt_bw(void *ctx, const char *arg) {
  struct opts *o = ctx;
  (void)arg;
  o->stats |= STATS_BW;
  return 0;
}

static int opt_delay(void *ctx, const char *arg) {
  struct opts *o = ctx;
  (void)arg;
  o->stats |= STATS_DELAY;
  return 0;
}

/* The largest --window: 10^7 samples, 320 MB of them (32 bytes each). */
#define WINDOW_MAX 10000000

static int opt_window(void *ctx, const char *arg) {
  struct opts *o = ctx;
  uint64_t u;
  if (parse_u64(arg, &u) < 0 || u < 2 || u > WINDOW_MAX)
    return tool_usage_error("--window wants 2..%d records, not '%s'", WINDOW_MAX, arg);
  o->window = (size_t)u;
  return 0;
}

static void set_wait_mode(struct opts *o, int mode) {
  o->mode = mode;
  o->modes++;
}

static int opt_hybrid(void *ctx, const char *arg) {
  (void)arg;
  set_wait_mode(ctx, SHMBUS_WAIT_HYBRID);
  return 0;
}

static int opt_spin(void *ctx, const char *arg) {
  (void)arg;
  set_wait_mode(ctx, SHMBUS_WAIT_SPIN);
  return 0;
}

static int opt_sleep(void *ctx, const char *arg) {
  (void)arg;
  set_wait_mode(ctx, SHMBUS_WAIT_SLEEP);
  return 0;
}

static int opt_help(void *ctx, const char *arg);

static int opt_version(void *ctx, const char *arg) {
  (void)ctx;
  (void)arg;
  exit(tool_version());
}

static const struct tool_option option_list[] = {
    {NULL, 0, NULL, "Which records:", NULL},
    {"all", 'a', NULL,
     "every record in order; records the writer overwrote before\n"
     "shmsub read them are reported on stderr as 'lost N'",
     opt_all},
    {"oldest", 0, NULL,
     "every record in order from the oldest one still in the ring\n"
     "(implies --all)",
     opt_oldest},
    {"new", 0, NULL, "start with the first record published after shmsub starts", opt_new},
    {"once", '1', NULL, "print the latest record (or wait for the first) and exit", opt_once},
    {"count", 'C', "N", "exit after N records", opt_count},
    {"timeout", 'W', "SEC", "give up after SEC seconds without a record (exit status 4)",
     opt_timeout},
    {"topic", 't', "NAME", "the bus NAME, as an option (mosquitto_sub/ros2 habit)", opt_topic},
    {"wait-for-bus", 0, NULL, "wait until the bus exists instead of failing", opt_wait_for_bus},
    {"interval", 'i', "SEC",
     "print at most one record per SEC seconds (each is the next one\n"
     "published after the pause); with --hz/--bw/--delay: print the\n"
     "statistics every SEC seconds (default 1)",
     opt_interval},
    {NULL, 0, NULL, "Output (data on stdout, diagnostics on stderr):", NULL},
    {"format", 'F', "FORMAT",
     "text (default: the bytes and a newline), hex, raw (the bytes\n"
     "only), json (one object per line: bus, version, timestamp_ns,\n"
     "latency_ns, length, skipped, encoding, payload; the payload is\n"
     "text when it is valid UTF-8, else base64). On a typed bus\n"
     "(docs/TYPES.md): json prints each record as its fields (with\n"
     "-v inside that envelope, as \"data\"), text as field=value pairs",
     opt_format},
    {"field", 0, "PATH",
     "print one field of each record of a typed bus, as JSON (e.g.\n"
     "temp, acc[2], pose.position.x)",
     opt_field},
    {"verbose", 'v', NULL,
     "prefix version, publish time, one-way latency and length (the\n"
     "latency of a record older than shmsub is its age); report the\n"
     "writer stopping and returning, and the bus's type tag and\n"
     "geometry, on stderr",
     opt_verbose},
    {NULL, 0, NULL,
     "Statistics instead of records (like ros2 topic hz/bw/delay), over records published after\n"
     "shmsub started (the latest record of an older bus is no sample: its age is no delay):",
     NULL},
    {"hz", 0, NULL,
     "publish rate, min/max interval and jitter (this reader's\n"
     "monotonic receive clock: a wall-clock step cannot skew them)",
     opt_hz},
    {"bw", 0, NULL, "bytes per second and record sizes", opt_bw},
    {"delay", 0, NULL,
     "publish-to-receive latency: mean, min, p50, p90, p99, max\n"
     "(nearest-rank percentiles; CLOCK_REALTIME on both sides)",
     opt_delay},
    {"window", 0, "N", "records in the statistics window (default 1000)", opt_window},
    {NULL, 0, NULL, "Waiting:", NULL},
    {"hybrid", 0, NULL, "spin ~20 us, then sleep on the futex (default)", opt_hybrid},
    {"spin", 0, NULL, "spin: lowest latency, uses a whole core", opt_spin},
    {"sleep", 0, NULL, "sleep on the futex at once: least CPU", opt_sleep},
    {"help", 'h', NULL, "this help;  -V, --version  the version", opt_help},
    {"version", 'V', NULL, NULL, opt_version},
};

static const struct tool_options options = {
    .list = option_list,
    .n = sizeof option_list / sizeof option_list[0],
    .getopt_messages = 0,
    .rejected = tool_bad_option,
};

static int opt_help(void *ctx, const char *arg) {
  (void)ctx;
  (void)arg;
  fputs(usage_head, stdout);
  tool_options_help(stdout, &options);
  fputs(usage_tail, stdout);
  exit(EXIT_OK);
}

/* take_bus_name() - the bus NAME: the operand, or --topic's. Return: 0, or an exit code
 * (reported). */
static int take_bus_name(int argc, char **argv, struct opts *o) {
  if (o->topic && optind < argc)
    return tool_usage_error("two bus names: '%s' (-t/--topic) and '%s'", o->topic, argv[optind]);
  if (o->topic) o->name = o->topic;
  else if (optind >= argc) return tool_usage_error("missing the bus NAME");
  else if (optind + 1 < argc) return tool_usage_error("unexpected argument '%s'", argv[optind + 1]);
  else o->name = argv[optind];
  if (shmbus_name_check(o->name) < 0) return tool_name_error(o->name);
  return 0;
}

/* check_combination() - whether the options go together; fills in what they imply.
 * Return: 0, or an exit code (reported). */
static int check_combination(struct opts *o) {
  if (o->modes > 1) return tool_usage_error("give only one of --spin, --sleep, --hybrid");
  if (o->once && o->count) return tool_usage_error("--once is -C 1; give only one of them");
  if (o->starts > 1) return tool_usage_error("give only one of --new and --oldest");
  if (o->start == SHMBUS_SEEK_OLDEST && (o->stats || o->interval > 0))
    return tool_usage_error("--oldest prints every record from the oldest one held (it implies "
                            "--all); it does not combine with %s",
                            o->stats ? "--hz/--bw/--delay (they measure new records)"
                                     : "--interval");
  if (o->once) o->count = 1;
  if (o->all && o->interval > 0 && !o->stats)
    return tool_usage_error("--interval skips records, --all prints every one; choose one");
  if (o->stats && o->fmt != FMT_TEXT)
    return tool_usage_error("--format applies to records, not to --hz/--bw/--delay");
  if (o->field && (o->fmt == FMT_HEX || o->fmt == FMT_RAW))
    return tool_usage_error("--field prints a field as JSON; it does not combine with -F %s",
                            o->fmt == FMT_HEX ? "hex" : "raw");
  if (o->stats && o->interval == 0) o->interval = 1;
  return 0;
}

/* parse_args() - the command line into @o (zeroed by the caller). Return: 0, or an exit code
 * (reported). */
static int parse_args(int argc, char **argv, struct opts *o) {
  int rc;
  o->window = 1000;
  if ((rc = tool_options_parse(&options, argc, argv, o)) != 0) return rc;
  if ((rc = take_bus_name(argc, argv, o)) != 0) return rc;
  return check_combination(o);
}

int main(int argc, char **argv) {
  struct opts o;
  struct reader r;
  int rc;

  tool_name = "shmsub";
  memset(&o, 0, sizeof o);
  memset(&r, 0, sizeof r);
  if ((rc = parse_args(argc, argv, &o)) != 0) return rc;
  tool_install_signals(1); /* a blocked write completes: no output is lost on SIGTERM */
  if (o.stats && stats_init(&r.st, o.window) < 0)
    return tool_fail("subscribe to", o.name, -ENOMEM, 0);
  r.start_ns = now_realtime_ns();
  r.last_record = now_monotonic_ns();
  r.next_print = r.last_record + (int64_t)(o.interval * 1e9);
  rc = open_bus(&o, &r, o.wait_for_bus, 0);
  if (rc == 0 && r.s && o.verbose && shmbus_sub_latest(r.s) == 0)
    tool_msg("nothing has been published on bus '%s' yet; waiting for the first record", o.name);
  if (rc == 0 && r.s) rc = follow_bus(&o, &r);
  if (o.stats && rc == 0) stats_print(&r.st, o.stats, stdout); /* the final window */
  if (rc == 0) rc = tool_flush_stdout();
  shmbus_sub_close(r.s);
  typed_close(&r.typed);
  free(r.buf);
  if (o.stats) stats_free(&r.st);
  return rc;
}
