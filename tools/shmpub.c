/* shmpub - create or reuse a bus and publish records on it from the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "tools/common.h"
#include "tools/options.h"
#include "tools/typed.h"

/* --help: this, the option list (option_list[] below), then usage_tail. */
static const char usage_head[] =
    "Usage: shmpub NAME [options]    (or: shmpub --topic NAME [options])\n"
    "Create bus NAME (or reuse it) and publish records on it. shmpub never waits for readers.\n"
    "\n";

static const char usage_tail[] =
    "\n"
    "SIGINT, SIGTERM and SIGHUP end shmpub cleanly (readers see the writer close). A failure\n"
    "before the first publish removes the bus shmpub created. When the bus is removed under\n"
    "shmpub (shmbus rm --force) or replaced, shmpub says so and stops (exit status 1).\n"
    "\n"
    "Examples:\n"
    "  shmpub temp -m 21.5                      publish one value; it stays as latest\n"
    "  shmpub clock -m tick -r 10               10 Hz until Ctrl-C\n"
    "  seq 1000 | shmpub nums --slots 1024      1000 records, one per line\n"
    "  shmpub cfg -f config.json --mode 0644    a file, readable by every user\n"
    "  cat /dev/urandom | shmpub frames -b 4096 -r 1000 -n 5000\n"
    "  echo '{\"t\":1,\"acc\":[0,0,9.81]}' | shmpub imu --schema imu.idl --type sensors::Imu -F "
    "json\n"
    "\n" TOOLS_EXIT_CODES;

enum source { SRC_NONE, SRC_MESSAGE, SRC_FILE, SRC_STDIN, SRC_LINES, SRC_BINARY };
enum oversize { OVER_SKIP, OVER_TRUNCATE, OVER_FAIL };

struct opts {
  const char *name, *message, *file;
  const char *topic; /* --topic NAME, else NULL (the NAME is the operand) */
  enum source src;
  int nsrc; /* how many of -m, -f, -s, -l, -b were given (one at most) */
  enum oversize oversize;
  uint64_t binary, count;
  double rate;
  int unlink_on_exit, verbose, have_group;
  int json;                     /* -F json: records are given as JSON (a typed bus) */
  const char *type;             /* --type: the type tag, or with a schema its type name */
  const char *schema_file;      /* --schema FILE */
  const char *schema_encoding;  /* --schema-encoding ENC (else from FILE's name) */
  const char *message_encoding; /* --message-encoding ENC (else from the schema encoding) */
  char *schema_text;            /* FILE's contents */
  struct shmbus_schema schema;  /* what o->pub.schema points at when typed */
  struct typed typed;           /* the bus's records, once it is open (-F json) */
  struct shmbus_pub_opts pub;
};

/* The writer: the bus, and what shmpub knows about it. */
struct writer {
  shmbus_pub *p;
  uint64_t skipped;  /* -l lines over the capacity, skipped */
  uint64_t capacity; /* of the bus held (fixed while it is held) */
};

/* Busses this big get a warning: they take that much RAM in /dev/shm. */
#define BIG_BUS_BYTES (256ull << 20)

static void pace(struct tool_pacer *p) {
  int64_t now = now_monotonic_ns(), due = tool_pacer_due(p, now);
  if (due > now) tool_sleep_until(due);
}

/* read_all() - all of @f, at most @limit bytes: Return: 0; -EFBIG (more than @limit bytes,
 * reading stopped there); -EINTR (a signal); -ENOMEM; another negative errno. */
static int read_all(FILE *f, uint64_t limit, char **buf, size_t *len) {
  size_t cap = 65536, n = 0, got;
  char *b = malloc(cap), *nb;
  int err = 0;
  if (b == NULL) return -ENOMEM;
  while (err == 0 && !ferror(f) && !tool_stop && (got = fread(b + n, 1, cap - n, f)) > 0) {
    n += got; /* a read error after a part stops the loop too (fread would retry) */
    if (n > limit) {
      err = -EFBIG;
    } else if (n == cap) {
      cap *= 2;
      if ((nb = realloc(b, cap)) == NULL) err = -ENOMEM;
      else b = nb;
    }
  }
  if (err == 0 && tool_stop) err = -EINTR;
  if (err == 0 && ferror(f)) err = -(errno ? errno : EIO);
  if (err < 0) {
    free(b);
    return err;
  }
  *buf = b;
  *len = n;
  return 0;
}

/* publish() - one record; reports an error. Return: 0 or an exit code. */
static int publish(struct writer *w, const struct opts *o, const void *data, size_t len) {
  int rc = shmbus_pub_publish(w->p, data, len);
  if (rc == -EMSGSIZE) {
    struct shmbus_bus_info bi;
    shmbus_pub_info(w->p, &bi);
    tool_msg("record of %zu bytes is larger than the capacity of bus '%s' (%llu bytes); nothing "
             "was published. Publish with --capacity %zu (or more) to recreate the bus larger.",
             len, o->name, (unsigned long long)bi.capacity, len);
    return EXIT_ERROR;
  }
  if (rc == -ESTALE) { /* the library tells a forced-out writer at its next publish */
    tool_msg("bus '%s' was removed (shmbus rm --force) or replaced by another writer while "
             "shmpub published on it; readers no longer see its records. Stopping.",
             o->name);
    return EXIT_ERROR;
  }
  if (rc < 0) return tool_fail("publish on", o->name, rc, HINT_WRITER);
  if (o->verbose)
    tool_msg("published version %llu (%zu bytes)", (unsigned long long)shmbus_pub_version(w->p),
             len);
  return 0;
}

static int run_record(struct writer *w, const struct opts *o, const char *data, size_t len) {
  struct tool_pacer pc;
  uint64_t n = o->count ? o->count : (o->rate > 0 ? UINT64_MAX : 1), i;
  int rc = 0;
  tool_pacer_init(&pc, o->rate);
  for (i = 0; i < n && !tool_stop && rc == 0; i++) {
    pace(&pc);
    if (!tool_stop) rc = publish(w, o, data, len);
  }
  return rc;
}

/* A line longer than the capacity, per --oversize skip or truncate (fail: publish() reports
 * it). Return: its length to publish, or -1 to skip it. */
static ssize_t oversize_line(struct writer *w, const struct opts *o, size_t len, uint64_t lineno) {
  if (len <= w->capacity) return (ssize_t)len;
  if (o->oversize == OVER_TRUNCATE) return (ssize_t)w->capacity;
  if (w->skipped++ == 0 || o->verbose)
    tool_msg("line %llu (%zu bytes) is longer than the capacity of bus '%s' (%llu bytes): "
             "skipped (--oversize skip; truncate or fail are the others, --capacity makes "
             "room)",
             (unsigned long long)lineno, len, o->name, (unsigned long long)w->capacity);
  return -1;
}

/* open_typed() - -F json: what the bus's records are (the schema asked for, or the adopted
 * bus's). Return: 0 or an exit code. */
static int open_typed(struct writer *w, struct opts *o) {
  struct shmbus_schema sc;
  char err[512];
  typed_close(&o->typed);
  if (shmbus_pub_schema(w->p, &sc) < 0) {
    tool_msg("bus '%s' carries no schema, so JSON cannot be made into its records: give "
             "--schema FILE --type NAME (or --message-encoding json --type NAME)",
             o->name);
    return EXIT_USAGE;
  }
  if (typed_open(&sc, &o->typed, err, sizeof err) < 0) {
    tool_msg("bus '%s': its schema (type %s) does not parse: %s", o->name, sc.type_name, err);
    return EXIT_ERROR;
  }
  if (o->typed.kind == TYPED_OPAQUE) {
    tool_msg("bus '%s' carries %s records (type %s): shmpub makes records from JSON only for "
             "omgidl C-struct and json buses; publish them as bytes (-f, -s, --binary)",
             o->name, o->typed.encoding, o->typed.name);
    return EXIT_USAGE;
  }
  return 0;
}

/* encode() - one JSON text into a record of the bus in @buf (w->capacity bytes); @where names
 * the input in a message ("line 3", "stdin"). Return: its length; -1 (reported). */
static ssize_t encode(const struct writer *w, const struct opts *o, const char *json, size_t len,
                      void *buf, const char *where) {
  char err[512];
  ssize_t n = typed_encode(&o->typed, json, len, buf, w->capacity, err, sizeof err);
  if (n == -EMSGSIZE)
    tool_msg("%s: the record is larger than the capacity of bus '%s' (%llu bytes); nothing was "
             "published for it",
             where, o->name, (unsigned long long)w->capacity);
  else if (n < 0)
    tool_msg("%s: %s; nothing was published for it", where, n == -ENOMEM ? "out of memory" : err);
  return n < 0 ? -1 : n;
}

/* run_json_lines() - -F json -l: one JSON object per line. A bad line is reported and skipped
 * (the others are published); any bad line makes the exit status 1. */
static int run_json_lines(struct writer *w, const struct opts *o) {
  struct tool_pacer pc;
  uint64_t n = o->count ? o->count : UINT64_MAX, i = 0, lineno = 0, bad = 0;
  size_t cap = 0;
  char *line = NULL, where[48];
  void *rec = malloc(w->capacity ? w->capacity : 1);
  ssize_t len, rlen;
  int rc = 0;
  if (rec == NULL) return tool_fail("publish on", o->name, -ENOMEM, 0);
  tool_pacer_init(&pc, o->rate);
  while (i < n && !tool_stop && rc == 0 && (len = getline(&line, &cap, stdin)) >= 0) {
    lineno++;
    if (strspn(line, " \t\r\n") == (size_t)len) continue; /* blank lines separate nothing */
    snprintf(where, sizeof where, "line %llu", (unsigned long long)lineno);
    if ((rlen = encode(w, o, line, (size_t)len, rec, where)) < 0) {
      bad++;
      continue;
    }
    pace(&pc);
    if (!tool_stop) {
      rc = publish(w, o, rec, (size_t)rlen);
      i++;
    }
  }
  if (rc == 0 && ferror(stdin) && !tool_stop) {
    tool_msg("error reading stdin: %s", strerror(errno));
    rc = EXIT_ERROR;
  }
  if (bad && rc == 0) {
    tool_msg("%llu of %llu lines were not published (errors above)", (unsigned long long)bad,
             (unsigned long long)(bad + i));
    rc = EXIT_ERROR;
  }
  free(rec);
  free(line);
  return rc;
}

/* run_json_record() - -F json with -m, -f or -s: the one JSON text becomes the record. */
static int run_json_record(struct writer *w, const struct opts *o, const char *json, size_t len) {
  const char *where = o->src == SRC_MESSAGE ? "--message" : o->src == SRC_FILE ? o->file : "stdin";
  void *rec = malloc(w->capacity ? w->capacity : 1);
  ssize_t n;
  int rc;
  if (rec == NULL) return tool_fail("publish on", o->name, -ENOMEM, 0);
  n = encode(w, o, json, len, rec, where);
  rc = n < 0 ? EXIT_ERROR : run_record(w, o, rec, (size_t)n);
  free(rec);
  return rc;
}

static int run_lines(struct writer *w, const struct opts *o) {
  struct tool_pacer pc;
  uint64_t n = o->count ? o->count : UINT64_MAX, i = 0, lineno = 0;
  size_t cap = 0;
  char *line = NULL;
  ssize_t len;
  int rc = 0;
  tool_pacer_init(&pc, o->rate);
  while (i < n && !tool_stop && rc == 0) {
    len = getline(&line, &cap, stdin);
    if (len < 0) break;
    lineno++;
    if (len > 0 && line[len - 1] == '\n') len--;
    if (o->oversize != OVER_FAIL && (len = oversize_line(w, o, (size_t)len, lineno)) < 0) {
      continue;
    }
    pace(&pc);
    if (tool_stop) break;
    rc = publish(w, o, line, (size_t)len);
    i++;
  }
  if (rc == 0 && ferror(stdin) && !tool_stop) {
    tool_msg("error reading stdin: %s", strerror(errno));
    rc = EXIT_ERROR;
  }
  if (w->skipped > 1)
    tool_msg("%llu lines longer than the capacity were skipped", (unsigned long long)w->skipped);
  free(line);
  return rc;
}

static int run_binary(struct writer *w, const struct opts *o) {
  struct tool_pacer pc;
  uint64_t n = o->count ? o->count : UINT64_MAX, i;
  char *buf = malloc(o->binary ? o->binary : 1);
  size_t got = 0;
  int rc = 0;
  if (buf == NULL) return tool_fail("publish on", o->name, -ENOMEM, 0);
  tool_pacer_init(&pc, o->rate);
  for (i = 0; i < n && !tool_stop && rc == 0; i++) {
    got = fread(buf, 1, o->binary, stdin);
    if (got < o->binary) break;
    pace(&pc);
    if (!tool_stop) rc = publish(w, o, buf, got);
  }
  if (rc == 0 && ferror(stdin) && !tool_stop) {
    tool_msg("error reading stdin: %s", strerror(errno));
    rc = EXIT_ERROR;
  } else if (rc == 0 && got > 0 && got < o->binary && !tool_stop) {
    tool_msg("stdin ended with %zu bytes, less than one record of %llu; they were not published",
             got, (unsigned long long)o->binary);
    rc = EXIT_ERROR;
  }
  free(buf);
  return rc;
}

/* Bytes of shared memory a bus of this geometry takes: records object + wake page. */
static uint64_t bus_bytes(uint32_t slots, uint64_t capacity) {
  return 4096 + (uint64_t)slots * (64 + ((capacity + 63) & ~(uint64_t)63)) + 4096;
}

/* What opening will do: create, adopt, or replace (with its consequence). Filled before the
 * open, told after it succeeded (a refused open replaced nothing). A bus above BIG_BUS_BYTES
 * is announced before it is made (created or replaced), -v or not; adopting says nothing. */
struct plan {
  char msg[512];
  int created; /* no bus existed: a failed first publish removes it again */
};

static void plan_open(const struct opts *o, struct plan *pl) {
  const struct shmbus_pub_opts *w = &o->pub;
  struct shmbus_bus_info bi;
  uint32_t slots = w->slots ? w->slots : SHMBUS_DEFAULT_SLOTS;
  uint64_t capacity = w->capacity ? w->capacity : SHMBUS_DEFAULT_CAPACITY, total;
  char cap[32], tot[32], ocap[32], otype[4 * SHMBUS_TYPE_MAX + 1];
  int err = shmbus_stat(o->name, &bi);
  pl->msg[0] = '\0';
  pl->created = err == -ENOENT;
  if (err == 0 && !w->slots) slots = bi.slots;
  if (err == 0 && !w->capacity) capacity = bi.capacity;
  total = bus_bytes(slots, capacity);
  fmt_bytes(capacity, cap, sizeof cap);
  fmt_bytes(total, tot, sizeof tot);
  if (err == 0 && !bi.replaced && (!w->slots || w->slots == bi.slots) &&
      (!w->capacity || w->capacity == bi.capacity) && (!w->type || !strcmp(w->type, bi.type))) {
    if (o->verbose)
      snprintf(pl->msg, sizeof pl->msg, "adopting bus '%s' at version %llu (%s of shared memory)",
               o->name, (unsigned long long)bi.latest, tot);
    return;
  }
  if (err == 0) {
    fmt_bytes(bi.capacity, ocap, sizeof ocap);
    tool_safe_str(bi.type[0] ? bi.type : "-", otype, sizeof otype);
    snprintf(pl->msg, sizeof pl->msg,
             "replaced bus '%s' (%u slots of %s, type '%s') with a new "
             "geometry or type (%u slots of %s, %s of shared memory); its readers reopen the new "
             "bus",
             o->name, bi.slots, ocap, otype, slots, cap, tot);
  } else if (o->verbose) {
    snprintf(pl->msg, sizeof pl->msg,
             "created bus '%s': %u slots of %s (%s of shared memory), "
             "type '%s', mode %04o",
             o->name, slots, cap, tot, w->type && w->type[0] ? w->type : "-",
             (unsigned)(w->mode ? w->mode : 0600));
  }
  if (total > BIG_BUS_BYTES)
    tool_msg("warning: bus '%s' needs %s of shared memory (%u slots of %s), kept in RAM until "
             "'shmbus rm %s'. Fewer --slots or a smaller --capacity make it smaller.",
             o->name, tot, slots, cap, o->name);
}

/* The option handlers: option_list[] below names each one with its option. Return: 0, or an
 * exit code (reported). */

static void set_source(struct opts *o, enum source src) {
  o->src = src;
  o->nsrc++;
}

static int opt_message(void *ctx, const char *arg) {
  struct opts *o = ctx;
  set_source(o, SRC_MESSAGE);
  o->message = arg;
  return 0;
}

static int opt_file(void *ctx, const char *arg) {
  struct opts *o = ctx;
  set_source(o, SRC_FILE);
  o->file = arg;
  return 0;
}

static int opt_stdin(void *ctx, const char *arg) {
  (void)arg;
  set_source(ctx, SRC_STDIN);
  return 0;
}

static int opt_lines(void *ctx, const char *arg) {
  (void)arg;
  set_source(ctx, SRC_LINES);
  return 0;
}

static int opt_oversize(void *ctx, const char *arg) {
  static const char *names[] = {"skip", "truncate", "fail"}; /* enum oversize order */
  struct opts *o = ctx;
  int i;
  for (i = 0; i < 3; i++) {
    if (strcmp(arg, names[i]) == 0) {
      o->oversize = (enum oversize)i;
      return 0;
    }
  }
  return tool_usage_error("--oversize wants skip, truncate or fail, not '%s'", arg);
}

static int opt_binary(void *ctx, const char *arg) {
  struct opts *o = ctx;
  if (parse_size(arg, &o->binary) < 0 || o->binary == 0 || o->binary > SHMBUS_MAX_CAPACITY)
    return tool_usage_error("--binary wants a record size of 1 byte .. 1GiB (the largest "
                            "record a bus holds), not '%s'",
                            arg);
  set_source(o, SRC_BINARY);
  return 0;
}

static int opt_rate(void *ctx, const char *arg) {
  struct opts *o = ctx;
  char *end;
  double v;
  errno = 0;
  v = strtod(arg, &end);
  if (*arg == '\0' || errno || *end || !(v >= 1 / TOOL_MAX_SECONDS && v <= 1e9))
    return tool_usage_error("--rate wants a rate in Hz from %g (one record per %g seconds) to "
                            "1e9, not '%s'",
                            1 / TOOL_MAX_SECONDS, TOOL_MAX_SECONDS, arg);
  o->rate = v;
  return 0;
}

static int opt_count(void *ctx, const char *arg) {
  struct opts *o = ctx;
  if (parse_u64(arg, &o->count) < 0 || o->count == 0)
    return tool_usage_error("--count wants a number > 0, not '%s'", arg);
  return 0;
}

static int opt_capacity(void *ctx, const char *arg) {
  struct opts *o = ctx;
  uint64_t u;
  if (parse_size(arg, &u) < 0 || u == 0 || u > SHMBUS_MAX_CAPACITY)
    return tool_usage_error("--capacity wants 1 byte .. 1GiB (e.g. 4096, 64K, 1M), not '%s'", arg);
  o->pub.capacity = u;
  return 0;
}

static int opt_slots(void *ctx, const char *arg) {
  struct opts *o = ctx;
  uint64_t u;
  if (parse_u64(arg, &u) < 0 || u < 2 || u > SHMBUS_MAX_SLOTS)
    return tool_usage_error("--slots wants 2..%u, not '%s'", SHMBUS_MAX_SLOTS, arg);
  o->pub.slots = (uint32_t)u;
  return 0;
}

static int opt_type(void *ctx, const char *arg) {
  struct opts *o = ctx;
  o->type = arg; /* checked with the other schema options (check_type()) */
  return 0;
}

static int opt_schema(void *ctx, const char *arg) {
  ((struct opts *)ctx)->schema_file = arg;
  return 0;
}

static int opt_schema_encoding(void *ctx, const char *arg) {
  ((struct opts *)ctx)->schema_encoding = arg;
  return 0;
}

static int opt_message_encoding(void *ctx, const char *arg) {
  ((struct opts *)ctx)->message_encoding = arg;
  return 0;
}

static int opt_format(void *ctx, const char *arg) {
  struct opts *o = ctx;
  if (strcmp(arg, "json") == 0) o->json = 1;
  else if (strcmp(arg, "text") == 0 || strcmp(arg, "raw") == 0) o->json = 0;
  else return tool_usage_error("--format wants text (records as given) or json, not '%s'", arg);
  return 0;
}

static int opt_group(void *ctx, const char *arg) {
  struct opts *o = ctx;
  if (parse_group(arg, &o->pub.gid) < 0)
    return tool_usage_error("--group: no such group '%s'", arg);
  o->have_group = 1;
  return 0;
}

static int opt_mode(void *ctx, const char *arg) {
  struct opts *o = ctx;
  mode_t mode;
  if (parse_mode(arg, &mode) < 0 || shmbus_mode_check(mode) < 0)
    return tool_usage_error("--mode must be 0600 (owner only), 0640 (the group may read) or "
                            "0644 (everyone may read), not '%s'; readers never get write "
                            "access",
                            arg);
  o->pub.mode = mode;
  return 0;
}

static int opt_unlink(void *ctx, const char *arg) {
  struct opts *o = ctx;
  (void)arg;
  o->unlink_on_exit = 1;
  return 0;
}

static int opt_verbose(void *ctx, const char *arg) {
  struct opts *o = ctx;
  (void)arg;
  o->verbose = 1;
  return 0;
}

static int opt_topic(void *ctx, const char *arg) {
  struct opts *o = ctx;
  o->topic = arg;
  return 0;
}

static int opt_help(void *ctx, const char *arg);

static int opt_version(void *ctx, const char *arg) {
  (void)ctx;
  (void)arg;
  exit(tool_version());
}

static const struct tool_option option_list[] = {
    {NULL, 0, NULL, "What to publish (one of):", NULL},
    {"message", 'm', "TEXT", "one record: TEXT", opt_message},
    {"file", 'f', "FILE", "one record: the contents of FILE ('-' = stdin)", opt_file},
    {"stdin", 's', NULL, "one record: all of stdin", opt_stdin},
    {"lines", 'l', NULL,
     "one record per line of stdin, without its newline (the default\n"
     "when stdin is not a terminal and no record is given)",
     opt_lines},
    {"oversize", 0, "WHAT",
     "-l: a line longer than the capacity is skipped with a warning\n"
     "(skip, the default: one bad line does not end a stream),\n"
     "cut to the capacity (truncate), or ends shmpub (fail)",
     opt_oversize},
    {"binary", 'b', "SIZE", "fixed-size binary records of SIZE bytes read from stdin", opt_binary},
    {NULL, 0, NULL, "How often:", NULL},
    {"rate", 'r', "HZ",
     "publish at most HZ records per second (1e-6..1e9); with -m/-f/-s\n"
     "republish the record at HZ until -n or a signal. After a stall\n"
     "(stdin idle) shmpub never bursts to catch up",
     opt_rate},
    {"count", 'n', "COUNT", "stop after COUNT publishes", opt_count},
    {NULL, 0, NULL,
     "Creating the bus (an existing bus is adopted when these match it or are not given; a\n"
     "different geometry or type replaces it, and its readers reopen the new one):",
     NULL},
    {"capacity", 'c', "BYTES", "largest record (default 64KiB, at most 1G; suffixes K, M, G)",
     opt_capacity},
    {"slots", 0, "N",
     "ring depth, 2..65536 (default 8). A reader that needs every\n"
     "record (shmsub --all) keeps up only while it lags by < N-1",
     opt_slots},
    {"type", 't', "NAME",
     "type tag shown by shmsub -v, shmbus ls and stat (<= 31\n"
     "printable chars; none shows as '-'); with --schema, the type\n"
     "in it the records are (e.g. sensors::Imu, <= 255 chars)",
     opt_type},
    {NULL, 0, NULL,
     "Typed buses (docs/TYPES.md): the bus carries a schema, and tools show fields:", NULL},
    {"schema", 0, "FILE",
     "the schema of the records: OMG IDL (.idl: records are that C\n"
     "struct, see docs/TYPES.md), or any other kind, carried as is\n"
     "(.msg, .json, .proto, .fbs/.bfbs; or say --schema-encoding)",
     opt_schema},
    {"schema-encoding", 0, "ENC",
     "omgidl, ros2msg, ros2idl, jsonschema, protobuf, flatbuffer, ...\n"
     "(the MCAP registry's names; default: from FILE's name)",
     opt_schema_encoding},
    {"message-encoding", 0, "ENC",
     "the records' encoding (default: x-shmbus-cstruct for omgidl,\n"
     "cdr for ros2, json for jsonschema, ...); json without --schema\n"
     "makes a bus of JSON records",
     opt_message_encoding},
    {"format", 'F', "FORMAT",
     "text: records as given (default); json: each record (-m, -f,\n"
     "-s) or line (-l) is a JSON object made into a record of the\n"
     "bus's type: missing fields are zero; a bad line is reported\n"
     "(field and line) and skipped",
     opt_format},
    {"group", 0, "NAME", "group of the bus (you must belong to it; implies --mode 0640)",
     opt_group},
    {"mode", 0, "OCTAL", "0600 owner only (default), 0640 group may read, 0644 anyone", opt_mode},
    {NULL, 0, NULL, "Ending:", NULL},
    {"unlink", 0, NULL,
     "remove the bus on exit (default: it stays, and its latest\n"
     "value serves late joiners)",
     opt_unlink},
    {"verbose", 'v', NULL,
     "report creation (with the shared memory it takes) and each\n"
     "publish on stderr. A bus over 256 MiB is reported even without\n"
     "-v",
     opt_verbose},
    {"topic", 0, "NAME", "the bus NAME, as an option (-t is --type here)", opt_topic},
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

/* check_args() - after the options: the bus NAME and whether the options go together.
 * Return: 0, or an exit code (reported). */
static int check_args(int argc, char **argv, struct opts *o) {
  const char *topic = o->topic;
  if (!topic && optind >= argc)
    return tool_usage_error("missing the bus NAME%s",
                            o->type ? " (in shmpub, -t is --type; "
                                      "give the bus as the first argument or --topic NAME)"
                                    : "");
  if (optind + (topic ? 0 : 1) < argc)
    return tool_usage_error("unexpected argument '%s' (one bus NAME; quote a message: -m 'a b')",
                            argv[optind + (topic ? 0 : 1)]);
  o->name = topic ? topic : argv[optind];
  if (shmbus_name_check(o->name) < 0) return tool_name_error(o->name);
  if (o->nsrc > 1) return tool_usage_error("give only one of -m, -f, -s, -l, --binary");
  if (o->have_group && o->pub.mode == 0) o->pub.mode = 0640;
  if (o->src == SRC_NONE) {
    if (isatty(STDIN_FILENO))
      return tool_usage_error("nothing to publish: give -m TEXT, -f FILE, -s, -l or --binary "
                              "SIZE, or pipe lines into shmpub");
    o->src = SRC_LINES;
  }
  return 0;
}

/* parse_args() - the command line into @o (zeroed by the caller). Return: 0, or an exit code
 * (reported). */
static int printable(const char *s, size_t max) {
  size_t i, n = strlen(s);
  for (i = 0; i < n; i++)
    if (s[i] < ' ' || s[i] > '~') return 0;
  return n <= max;
}

/* read_schema() - --schema FILE into o->schema_text. Return: 0 or an exit code. */
static int read_schema(struct opts *o, size_t *len) {
  FILE *f = fopen(o->schema_file, "rb");
  int rc;
  if (f == NULL) {
    tool_msg("cannot read schema '%s': %s", o->schema_file, strerror(errno));
    return EXIT_ERROR;
  }
  rc = read_all(f, SHMBUS_SCHEMA_MAX, &o->schema_text, len);
  fclose(f);
  if (rc == -EFBIG) {
    tool_msg("schema '%s' is larger than a bus carries (%u bytes at most)", o->schema_file,
             SHMBUS_SCHEMA_MAX);
    return EXIT_USAGE;
  }
  if (rc < 0) {
    tool_msg("cannot read schema '%s': %s", o->schema_file, strerror(-rc));
    return EXIT_ERROR;
  }
  return 0;
}

/* check_schema() - the type tag, or the schema of a typed bus, from --type, --schema,
 * --schema-encoding and --message-encoding; an IDL schema is parsed here, so a bad one is
 * reported before any bus is touched. Return: 0 or an exit code. */
static int check_schema(struct opts *o) {
  const char *senc = o->schema_encoding ? o->schema_encoding : "", *menc = o->message_encoding;
  char err[512];
  size_t len = 0;
  int rc;
  if (!o->schema_file && !o->message_encoding) {
    if (o->schema_encoding) return tool_usage_error("--schema-encoding goes with --schema FILE");
    if (o->type && !printable(o->type, SHMBUS_TYPE_MAX))
      return tool_usage_error("--type wants at most %d printable ASCII characters, not '%s' "
                              "(a longer type name goes with --schema)",
                              SHMBUS_TYPE_MAX, o->type);
    o->pub.type = o->type;
    return 0;
  }
  if (!o->type)
    return tool_usage_error("a typed bus needs --type NAME: the type its records are (e.g. "
                            "--type sensors::Imu)");
  if (!*o->type || !printable(o->type, SHMBUS_TYPE_NAME_MAX))
    return tool_usage_error("--type wants 1 to %d printable ASCII characters, not '%s'",
                            SHMBUS_TYPE_NAME_MAX, o->type);
  if (o->schema_file) {
    const char *gs, *gm;
    if (typed_guess_encodings(o->schema_file, o->schema_encoding, &gs, &gm) == 0) {
      senc = gs;
      if (!menc) menc = gm;
    } else if (!o->schema_encoding) {
      return tool_usage_error("cannot tell what kind of schema '%s' is from its name: say "
                              "--schema-encoding (omgidl, ros2msg, jsonschema, protobuf, ...)",
                              o->schema_file);
    } else if (!menc) {
      return tool_usage_error("--schema-encoding %s: say --message-encoding too (the records' "
                              "encoding)",
                              o->schema_encoding);
    }
    if ((rc = read_schema(o, &len)) != 0) return rc;
  }
  if (!printable(senc, SHMBUS_ENCODING_MAX) || !*menc || !printable(menc, SHMBUS_ENCODING_MAX))
    return tool_usage_error("an encoding is 1 to %d printable ASCII characters",
                            SHMBUS_ENCODING_MAX);
  o->schema = (struct shmbus_schema){o->type, senc, menc, o->schema_text, len, 0};
  o->pub.schema = &o->schema;
  o->pub.type = strlen(o->type) <= SHMBUS_TYPE_MAX ? o->type : "";
  if (typed_open(&o->schema, &o->typed, err, sizeof err) < 0) {
    tool_msg("schema '%s', type %s: %s", o->schema_file ? o->schema_file : "-", o->type, err);
    return EXIT_USAGE;
  }
  return 0;
}

static int parse_args(int argc, char **argv, struct opts *o) {
  int rc;
  shmbus_pub_opts_init(&o->pub);
  if ((rc = tool_options_parse(&options, argc, argv, o)) != 0) return rc;
  if ((rc = check_args(argc, argv, o)) != 0) return rc;
  if (o->json && o->src == SRC_BINARY) return tool_usage_error("--binary records are not JSON");
  return check_schema(o);
}

/* The largest record shmpub may read for -f/-s: --capacity, else an existing bus's capacity,
 * else the largest a bus can hold. */
static uint64_t record_limit(const struct opts *o) {
  struct shmbus_bus_info bi;
  if (o->pub.capacity) return o->pub.capacity;
  if (shmbus_stat(o->name, &bi) == 0 && !bi.replaced) return bi.capacity;
  return SHMBUS_MAX_CAPACITY;
}

static int too_big(const struct opts *o, const char *what, uint64_t limit) {
  if (limit == SHMBUS_MAX_CAPACITY)
    tool_msg("%s holds more than 1 GiB, the largest record a bus can hold; nothing was "
             "published",
             what);
  else
    tool_msg("%s holds more than %llu bytes, the capacity of bus '%s'; nothing was published. "
             "Publish with a larger --capacity (up to 1G) to recreate the bus larger.",
             what, (unsigned long long)limit, o->name);
  return EXIT_ERROR;
}

/* read_record() - the record of -m, -f or -s, read before the bus is opened so its size can
 * pick the capacity; at most the capacity it can go to is read. Return: 0, or an exit code
 * (reported); a signal while reading: EXIT_OK with *record NULL (nothing is published). */
static int read_record(const struct opts *o, char **record, size_t *len) {
  const char *what = o->src == SRC_FILE && strcmp(o->file, "-") != 0 ? o->file : "stdin";
  uint64_t limit = record_limit(o);
  struct stat st;
  FILE *f;
  int rc;
  if (o->src == SRC_MESSAGE) {
    *len = strlen(o->message);
    if ((*record = strdup(o->message)) == NULL) return tool_fail("publish on", o->name, -ENOMEM, 0);
    return 0;
  }
  f = strcmp(what, "stdin") == 0 ? stdin : fopen(o->file, "rb");
  if (f == NULL) {
    tool_msg("cannot read '%s': %s", o->file, strerror(errno));
    return EXIT_ERROR;
  }
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > limit)
    rc = -EFBIG; /* known without reading it */
  else rc = read_all(f, limit, record, len);
  if (f != stdin) fclose(f);
  if (rc == -EINTR) {
    *record = NULL;
    return EXIT_OK;
  }
  if (rc == -EFBIG) return too_big(o, what, limit);
  if (rc < 0) {
    tool_msg("cannot read %s: %s", what, strerror(-rc));
    return EXIT_ERROR;
  }
  return 0;
}

/* open_writer() - become the writer, after the checks a user should hear about first.
 * Return: 0, or an exit code (reported). */
static int open_writer(struct opts *o, struct writer *w, struct plan *pl, size_t len) {
  struct shmbus_bus_info bi;
  char group[64];
  int rc;
  if (o->have_group && !tool_in_group(o->pub.gid)) {
    fmt_group(o->pub.gid, group, sizeof group);
    tool_msg("cannot give bus '%s' to group %s: you are not a member of it. Pick a group you "
             "belong to ('id -Gn'), or have root add you to %s.",
             o->name, group, group);
    return EXIT_PERM;
  }
  if (o->pub.capacity == 0 && o->typed.kind == TYPED_CSTRUCT) {
    if (shmbus_stat(o->name, &bi) == -ENOENT) /* a new bus: its records are exactly that big */
      o->pub.capacity = shmbus_type_size(o->typed.type);
  } else if (o->pub.capacity == 0 && len > SHMBUS_DEFAULT_CAPACITY) {
    if (shmbus_stat(o->name, &bi) == -ENOENT) o->pub.capacity = len; /* a new bus: make it fit */
  }
  plan_open(o, pl);
  if ((rc = shmbus_pub_open(o->name, &o->pub, &w->p)) < 0)
    return tool_fail("publish on", o->name, rc, HINT_WRITER);
  if (pl->msg[0]) tool_msg("%s", pl->msg);
  if (shmbus_pub_info(w->p, &bi) == 0) w->capacity = bi.capacity;
  return 0;
}

int main(int argc, char **argv) {
  struct opts o;
  struct writer w;
  struct plan pl;
  char *record = NULL;
  size_t len = 0;
  int rc;

  tool_name = "shmpub";
  memset(&o, 0, sizeof o);
  memset(&w, 0, sizeof w);
  if ((rc = parse_args(argc, argv, &o)) != 0) {
    typed_close(&o.typed);
    free(o.schema_text);
    return rc;
  }
  tool_install_signals(0); /* a blocked read of stdin returns EINTR */
  if (o.src == SRC_MESSAGE || o.src == SRC_FILE || o.src == SRC_STDIN) {
    if ((rc = read_record(&o, &record, &len)) != 0 || record == NULL) return rc;
  }
  rc = open_writer(&o, &w, &pl, o.src == SRC_BINARY || o.json ? o.binary : len);
  if (rc != 0) {
    free(record);
    return rc;
  }
  if (o.json) {
    rc = open_typed(&w, &o);
    if (rc == 0 && o.src == SRC_LINES) rc = run_json_lines(&w, &o);
    else if (rc == 0) rc = run_json_record(&w, &o, record, len);
  } else if (o.src == SRC_LINES) rc = run_lines(&w, &o);
  else if (o.src == SRC_BINARY) rc = run_binary(&w, &o);
  else rc = run_record(&w, &o, record, len);
  /* A bus this run created and never published on is no use to anyone: a failure removes it. */
  if (rc != 0 && pl.created && shmbus_pub_version(w.p) == 0) o.unlink_on_exit = 1;
  shmbus_pub_close(w.p);
  free(record);
  typed_close(&o.typed);
  free(o.schema_text);
  if (o.unlink_on_exit) {
    int err = shmbus_unlink(o.name, 0);
    if (err < 0 && err != -ENOENT) {
      tool_fail("remove", o.name, err, 0);
      if (rc == 0) rc = EXIT_ERROR;
    }
  }
  return rc;
}
