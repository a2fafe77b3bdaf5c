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
#include "tools/stats.h"

static const char usage[] =
    "Usage: shmsub NAME [options]    (or: shmsub -t NAME [options])\n"
    "Print the records published on bus NAME: its latest record at once (when there is one),\n"
    "then each new one. When the output is slower than the writer, shmsub prints the newest\n"
    "record and skips the rest (latest-value semantics; -v shows how many it skipped).\n"
    "\n"
    "Which records:\n"
    "  -a, --all              every record in order; records the writer overwrote before\n"
    "                         shmsub read them are reported on stderr as 'lost N'\n"
    "      --oldest           every record in order from the oldest one still in the ring\n"
    "                         (implies --all)\n"
    "      --new              start with the first record published after shmsub starts\n"
    "  -1, --once             print the latest record (or wait for the first) and exit\n"
    "  -C, --count N          exit after N records\n"
    "  -W, --timeout SEC      give up after SEC seconds without a record (exit status 4)\n"
    "  -t, --topic NAME       the bus NAME, as an option (mosquitto_sub/ros2 habit)\n"
    "      --wait-for-bus     wait until the bus exists instead of failing\n"
    "  -i, --interval SEC     print at most one record per SEC seconds (each is the next one\n"
    "                         published after the pause); with --hz/--bw/--delay: print the\n"
    "                         statistics every SEC seconds (default 1)\n"
    "Output (data on stdout, diagnostics on stderr):\n"
    "  -F, --format FORMAT    text (default: the bytes and a newline), hex, raw (the bytes\n"
    "                         only), json (one object per line: bus, version, timestamp_ns,\n"
    "                         latency_ns, length, skipped, encoding, payload; the payload is\n"
    "                         text when it is valid UTF-8, else base64)\n"
    "  -v, --verbose          prefix version, publish time, one-way latency and length (the\n"
    "                         latency of a record older than shmsub is its age); report the\n"
    "                         writer stopping and returning, and the bus's type tag and\n"
    "                         geometry, on stderr\n"
    "Statistics instead of records (like ros2 topic hz/bw/delay), over records published after\n"
    "shmsub started (the latest record of an older bus is no sample: its age is no delay):\n"
    "      --hz               publish rate, min/max interval and jitter (this reader's\n"
    "                         monotonic receive clock: a wall-clock step cannot skew them)\n"
    "      --bw               bytes per second and record sizes\n"
    "      --delay            publish-to-receive latency: mean, min, p50, p90, p99, max\n"
    "                         (nearest-rank percentiles; CLOCK_REALTIME on both sides)\n"
    "      --window N         records in the statistics window (default 1000)\n"
    "Waiting:\n"
    "      --hybrid           spin ~20 us, then sleep on the futex (default)\n"
    "      --spin             spin: lowest latency, uses a whole core\n"
    "      --sleep            sleep on the futex at once: least CPU\n"
    "  -h, --help             this help;  -V, --version  the version\n"
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
    "  shmsub imu -F json | jq .latency_ns\n"
    "  shmsub imu --hz --delay            rate, jitter and latency every second\n"
    "\n" TOOLS_EXIT_CODES;

struct opts {
  const char *name;
  int all, once, wait_for_bus, verbose, mode, stats, start; /* start: 0 latest, new, oldest */
  uint64_t count;
  double timeout, interval;
  size_t window;
  enum out_format fmt;
};

struct reader {
  shmbus_sub *s;
  char *buf;
  size_t cap;
  int dead; /* the writer is gone: wait through its death for a new one */
  int hinted; /* the 'lost' advice was given */
  int fresh; /* --all on a bus that appeared while we waited: versions from 1 are ours */
  uint64_t last_version; /* of the last record printed from this bus, 0 = none */
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
  else
    tool_msg("bus '%s' did not appear within %g %s; giving up (-W)", o->name, o->timeout, unit);
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
  fprintf(stderr, "', %u slots of %s, latest version %llu\n", bi.slots, cap,
          (unsigned long long)bi.latest);
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
    r->buf = nb, r->cap = cap;
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
  return 0;
}

static int reopen(const struct opts *o, struct reader *r) {
  tool_msg("bus '%s' was replaced or removed; reopening it by name", o->name);
  shmbus_sub_close(r->s);
  r->s = NULL;
  if (o->stats) stats_reset(&r->st); /* the new bus's versions start again at 1 */
  return open_bus(o, r, 1, 1);
}

/* flush_stdout() - Return: 0, or an exit code (a closed stdout ends shmsub quietly). */
static int flush_stdout(void) {
  if (fflush(stdout) == 0) return 0;
  if (errno == EPIPE) exit(EXIT_OK); /* shmsub B | head -1 */
  tool_msg("cannot write to stdout: %s", strerror(errno));
  return EXIT_ERROR;
}

/* One record read: print it or add it to the statistics. Return: 0 or an exit code. */
static int handle(const struct opts *o, struct reader *r, size_t len,
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
    struct stats_sample x = {info->version, r->last_record, now - (int64_t)info->timestamp_ns,
                             len};
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
             r->hinted++ ? "" : ": the writer overwrote them before shmsub read them; a deeper "
                                "ring (shmpub --slots) or a slower writer (shmpub -r) helps");
  }
  struct out_record rec = {o->name, info->version, (int64_t)info->timestamp_ns,
                           now - (int64_t)info->timestamp_ns, info->lost,
                           r->buf, len};
  if (print_record(stdout, o->fmt, o->verbose, &rec) < 0) {
    if (errno == EPIPE) exit(EXIT_OK);
    tool_msg("cannot write to stdout: %s", strerror(errno));
    return EXIT_ERROR;
  }
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
  if (bi.writer_pid == 0)
    tool_msg("bus '%s' has no writer yet; waiting for one", o->name);
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
      r->buf = nb, r->cap = info.length;
      continue;
    }
    if (n < 0) return tool_fail("read from", o->name, (int)n, 0);
    if ((rc = handle(o, r, (size_t)n, &info)) != 0) return rc;
    if (!(o->all || o->stats)) return 0;
  }
}

static int run(const struct opts *o, struct reader *r) {
  const int64_t slice = 100000000LL; /* wait in slices, to notice signals and print stats */
  int rc;
  for (;;) {
    int64_t now = now_monotonic_ns(), until = now + slice, dl = timeout_deadline(o, r);
    if (tool_stop || (o->count && r->done >= o->count)) return 0;
    if (now >= dl) return timed_out(o, 1);
    if (o->stats && now >= r->next_print) {
      if (stats_print(&r->st, o->stats, stdout) < 0) return EXIT_OK; /* stdout closed */
      r->next_print = now + (int64_t)(o->interval * 1e9);
    }
    if (dl < until) until = dl;
    if (o->stats && r->next_print < until) until = r->next_print;
    if ((rc = flush_stdout()) != 0) return rc; /* all we printed, before we wait */
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
      if ((rc = flush_stdout()) != 0) return rc;
      tool_sleep_until(now_monotonic_ns() + (int64_t)(o->interval * 1e9));
      shmbus_sub_seek(r->s, SHMBUS_SEEK_NEW);
      r->last_record = now_monotonic_ns(); /* -W counts from the end of the pause */
    }
  }
}

static int parse_args(int argc, char **argv, struct opts *o) {
  enum { O_OLDEST = 256, O_NEW, O_WAIT, O_HZ, O_BW, O_DELAY, O_WINDOW, O_HYBRID, O_SPIN,
         O_SLEEP };
  const char *topic = NULL;
  static const struct option longs[] = {
      {"all", 0, 0, 'a'},        {"oldest", 0, 0, O_OLDEST}, {"new", 0, 0, O_NEW},
      {"once", 0, 0, '1'},       {"count", 1, 0, 'C'},       {"timeout", 1, 0, 'W'},
      {"wait-for-bus", 0, 0, O_WAIT}, {"interval", 1, 0, 'i'}, {"format", 1, 0, 'F'},
      {"verbose", 0, 0, 'v'},    {"hz", 0, 0, O_HZ},         {"bw", 0, 0, O_BW},
      {"delay", 0, 0, O_DELAY},  {"window", 1, 0, O_WINDOW}, {"hybrid", 0, 0, O_HYBRID},
      {"spin", 0, 0, O_SPIN},    {"sleep", 0, 0, O_SLEEP},   {"help", 0, 0, 'h'},
      {"version", 0, 0, 'V'},    {"topic", 1, 0, 't'},       {0, 0, 0, 0}};  uint64_t u;
  int c, modes = 0, starts = 0;
  opterr = 0;
  o->window = 1000;
  while ((c = getopt_long(argc, argv, ":a1C:W:i:F:t:vhV", longs, NULL)) != -1) {
    switch (c) {
      case 'a': o->all = 1; break;
      case O_OLDEST: o->start = SHMBUS_SEEK_OLDEST, o->all = 1, starts++; break;
      case O_NEW: o->start = SHMBUS_SEEK_NEW, starts++; break;
      case 't': topic = optarg; break;
      case '1': o->once = 1; break;
      case 'C':
        if (parse_u64(optarg, &o->count) < 0 || o->count == 0)
          return tool_usage_error("--count wants a number > 0, not '%s'", optarg);
        break;
      case 'W':
        if (parse_seconds(optarg, &o->timeout) < 0)
          return tool_usage_error("--timeout wants seconds > 0 and <= %g (e.g. 2.5), not '%s'",
                                  TOOL_MAX_SECONDS, optarg);
        break;
      case O_WAIT: o->wait_for_bus = 1; break;
      case 'i':
        if (parse_seconds(optarg, &o->interval) < 0)
          return tool_usage_error("--interval wants seconds > 0 and <= %g (e.g. 0.5), not '%s'",
                                  TOOL_MAX_SECONDS, optarg);
        break;
      case 'F':
        if (parse_format(optarg, &o->fmt) < 0)
          return tool_usage_error("--format wants text, hex, json or raw, not '%s'", optarg);
        break;
      case 'v': o->verbose = 1; break;
      case O_HZ: o->stats |= STATS_HZ; break;
      case O_BW: o->stats |= STATS_BW; break;
      case O_DELAY: o->stats |= STATS_DELAY; break;
      case O_WINDOW:
        if (parse_u64(optarg, &u) < 0 || u < 2 || u > 10000000)
          return tool_usage_error("--window wants 2..10000000 records, not '%s'", optarg);
        o->window = (size_t)u;
        break;
      case O_HYBRID: o->mode = SHMBUS_WAIT_HYBRID, modes++; break;
      case O_SPIN: o->mode = SHMBUS_WAIT_SPIN, modes++; break;
      case O_SLEEP: o->mode = SHMBUS_WAIT_SLEEP, modes++; break;
      case 'h': fputs(usage, stdout); exit(EXIT_OK);
      case 'V': exit(tool_version());
      default: return tool_bad_option(c, argv);
    }
  }
  if (topic && optind < argc)
    return tool_usage_error("two bus names: '%s' (-t/--topic) and '%s'", topic, argv[optind]);
  if (topic) o->name = topic;
  else if (optind >= argc) return tool_usage_error("missing the bus NAME");
  else if (optind + 1 < argc) return tool_usage_error("unexpected argument '%s'", argv[optind + 1]);
  else o->name = argv[optind];
  if (shmbus_name_check(o->name) < 0) return tool_name_error(o->name);
  if (modes > 1) return tool_usage_error("give only one of --spin, --sleep, --hybrid");
  if (o->once && o->count) return tool_usage_error("--once is -C 1; give only one of them");
  if (starts > 1) return tool_usage_error("give only one of --new and --oldest");
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
  if (o->stats && o->interval == 0) o->interval = 1;
  return 0;
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
  if (o.stats && stats_init(&r.st, o.window) < 0) return tool_fail("subscribe to", o.name,
                                                                   -ENOMEM, 0);
  r.start_ns = now_realtime_ns();
  r.last_record = now_monotonic_ns();
  r.next_print = r.last_record + (int64_t)(o.interval * 1e9);
  rc = open_bus(&o, &r, o.wait_for_bus, 0);
  if (rc == 0 && r.s && o.verbose && shmbus_sub_latest(r.s) == 0)
    tool_msg("nothing has been published on bus '%s' yet; waiting for the first record", o.name);
  if (rc == 0 && r.s) rc = run(&o, &r);
  if (o.stats && rc == 0) stats_print(&r.st, o.stats, stdout); /* the final window */
  if (rc == 0) rc = flush_stdout();
  shmbus_sub_close(r.s);
  free(r.buf);
  if (o.stats) stats_free(&r.st);
  return rc;
}
