/* shmpub - create or reuse a bus and publish records on it from the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "tools/common.h"

static const char usage[] =
    "Usage: shmpub NAME [options]\n"
    "Create bus NAME (or reuse it) and publish records on it. shmpub never waits for readers.\n"
    "\n"
    "What to publish (one of):\n"
    "  -m, --message TEXT     one record: TEXT\n"
    "  -f, --file FILE        one record: the contents of FILE ('-' = stdin)\n"
    "  -s, --stdin            one record: all of stdin\n"
    "  -l, --lines            one record per line of stdin, without its newline (the default\n"
    "                         when stdin is not a terminal and no record is given)\n"
    "  -b, --binary SIZE      fixed-size binary records of SIZE bytes read from stdin\n"
    "How often:\n"
    "  -r, --rate HZ          publish at most HZ records per second; with -m/-f/-s republish\n"
    "                         the record at HZ until -n or a signal\n"
    "  -n, --count COUNT      stop after COUNT publishes\n"
    "Creating the bus (an existing bus is adopted when these match it or are not given; a\n"
    "different geometry or type replaces it, and its readers reopen the new one):\n"
    "  -c, --capacity BYTES   largest record (default 64KiB; suffixes K, M, G)\n"
    "      --slots N          ring depth, 2..65536 (default 8). A reader that needs every\n"
    "                         record (shmsub --all) keeps up only while it lags by < N-1\n"
    "  -t, --type NAME        type tag shown by shmsub, shmbus ls (<= 31 printable chars)\n"
    "      --mode OCTAL       0600 owner only (default), 0640 group may read, 0644 anyone\n"
    "      --group NAME       group of the bus (implies --mode 0640 unless given)\n"
    "Ending:\n"
    "      --unlink           remove the bus on exit (default: it stays, and its latest\n"
    "                         value serves late joiners)\n"
    "  -v, --verbose          report creation and each publish on stderr\n"
    "  -h, --help             this help;  -V, --version  the version\n"
    "\n"
    "SIGINT, SIGTERM and SIGHUP end shmpub cleanly (readers see the writer close).\n"
    "\n"
    "Examples:\n"
    "  shmpub temp -m 21.5                      publish one value; it stays as latest\n"
    "  shmpub clock -m tick -r 10               10 Hz until Ctrl-C\n"
    "  seq 1000 | shmpub nums --slots 1024      1000 records, one per line\n"
    "  shmpub cfg -f config.json --mode 0644    a file, readable by every user\n"
    "  cat /dev/urandom | shmpub frames -b 4096 -r 1000 -n 5000\n"
    "\n" TOOLS_EXIT_CODES;

enum source { SRC_NONE, SRC_MESSAGE, SRC_FILE, SRC_STDIN, SRC_LINES, SRC_BINARY };

struct opts {
  const char *name, *message, *file;
  enum source src;
  uint64_t binary, count;
  double rate;
  int unlink_on_exit, verbose, have_group;
  struct shmbus_pub_opts pub;
};

/* Pacing: the k-th publish happens no earlier than start + k / rate. */
struct pacer {
  int64_t start, period;
  uint64_t k;
};

static void pace(struct pacer *p) {
  if (p->period > 0) {
    if (p->k == 0) p->start = now_monotonic_ns();
    else tool_sleep_until(p->start + (int64_t)p->k * p->period);
  }
  p->k++;
}

static int read_all(FILE *f, char **buf, size_t *len) {
  size_t cap = 65536, n = 0, got;
  char *b = malloc(cap), *nb;
  if (b == NULL) return -ENOMEM;
  while ((got = fread(b + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      if ((nb = realloc(b, cap *= 2)) == NULL) return free(b), -ENOMEM;
      b = nb;
    }
  }
  if (ferror(f)) return free(b), tool_stop ? -EINTR : -EIO;
  *buf = b, *len = n;
  return 0;
}

/* publish() - one record; reports an error. Return: 0 or an exit code. */
static int publish(shmbus_pub *p, const struct opts *o, const void *data, size_t len) {
  int rc = shmbus_pub_publish(p, data, len);
  if (rc == -EMSGSIZE) {
    struct shmbus_bus_info bi;
    shmbus_pub_info(p, &bi);
    tool_msg("record of %zu bytes is larger than the capacity of bus '%s' (%llu bytes); nothing "
             "was published. Publish with --capacity %zu (or more) to recreate the bus larger.",
             len, o->name, (unsigned long long)bi.capacity, len);
    return EXIT_ERROR;
  }
  if (rc < 0) return tool_fail("publish on", o->name, rc, HINT_WRITER);
  if (o->verbose)
    tool_msg("published version %llu (%zu bytes)", (unsigned long long)shmbus_pub_version(p),
             len);
  return 0;
}

static int run_record(shmbus_pub *p, const struct opts *o, const char *data, size_t len) {
  struct pacer pc = {0, o->rate > 0 ? (int64_t)(1e9 / o->rate) : 0, 0};
  uint64_t n = o->count ? o->count : (o->rate > 0 ? UINT64_MAX : 1), i;
  int rc = 0;
  for (i = 0; i < n && !tool_stop && rc == 0; i++) {
    pace(&pc);
    if (!tool_stop) rc = publish(p, o, data, len);
  }
  return rc;
}

static int run_lines(shmbus_pub *p, const struct opts *o) {
  struct pacer pc = {0, o->rate > 0 ? (int64_t)(1e9 / o->rate) : 0, 0};
  uint64_t n = o->count ? o->count : UINT64_MAX, i;
  size_t cap = 0;
  char *line = NULL;
  ssize_t len;
  int rc = 0;
  for (i = 0; i < n && !tool_stop && rc == 0; i++) {
    len = getline(&line, &cap, stdin);
    if (len < 0) break;
    if (len > 0 && line[len - 1] == '\n') len--;
    pace(&pc);
    if (!tool_stop) rc = publish(p, o, line, (size_t)len);
  }
  if (rc == 0 && ferror(stdin) && !tool_stop) {
    tool_msg("error reading stdin: %s", strerror(errno));
    rc = EXIT_ERROR;
  }
  free(line);
  return rc;
}

static int run_binary(shmbus_pub *p, const struct opts *o) {
  struct pacer pc = {0, o->rate > 0 ? (int64_t)(1e9 / o->rate) : 0, 0};
  uint64_t n = o->count ? o->count : UINT64_MAX, i;
  char *buf = malloc(o->binary ? o->binary : 1);
  size_t got = 0;
  int rc = 0;
  if (buf == NULL) return tool_fail("publish on", o->name, -ENOMEM, 0);
  for (i = 0; i < n && !tool_stop && rc == 0; i++) {
    got = fread(buf, 1, o->binary, stdin);
    if (got < o->binary) break;
    pace(&pc);
    if (!tool_stop) rc = publish(p, o, buf, got);
  }
  if (rc == 0 && got > 0 && got < o->binary && !tool_stop) {
    tool_msg("stdin ended with %zu bytes, less than one record of %llu; they were not published",
             got, (unsigned long long)o->binary);
    rc = EXIT_ERROR;
  }
  free(buf);
  return rc;
}

/* Tell the user what opening will do: create, adopt, or replace (with its consequence). */
static void announce(const struct opts *o) {
  const struct shmbus_pub_opts *w = &o->pub;
  struct shmbus_bus_info bi;
  char cap[32];
  if (shmbus_stat(o->name, &bi) < 0) {
    fmt_bytes(w->capacity ? w->capacity : SHMBUS_DEFAULT_CAPACITY, cap, sizeof cap);
    if (o->verbose)
      tool_msg("creating bus '%s': %u slots of %s, type '%s', mode %04o", o->name,
               w->slots ? w->slots : SHMBUS_DEFAULT_SLOTS, cap, w->type ? w->type : "",
               (unsigned)(w->mode ? w->mode : 0600));
    return;
  }
  if ((w->slots && w->slots != bi.slots) || (w->capacity && w->capacity != bi.capacity) ||
      (w->type && strcmp(w->type, bi.type) != 0) || bi.replaced) {
    fmt_bytes(bi.capacity, cap, sizeof cap);
    tool_msg("replacing bus '%s' (%u slots of %s, type '%s') with a new geometry or type; its "
             "readers reopen the new bus",
             o->name, bi.slots, cap, bi.type);
  } else if (o->verbose) {
    tool_msg("adopting bus '%s' at version %llu", o->name, (unsigned long long)bi.latest);
  }
}

static int parse_args(int argc, char **argv, struct opts *o) {
  static const struct option longs[] = {
      {"message", 1, 0, 'm'}, {"file", 1, 0, 'f'},   {"stdin", 0, 0, 's'},
      {"lines", 0, 0, 'l'},   {"binary", 1, 0, 'b'}, {"rate", 1, 0, 'r'},
      {"count", 1, 0, 'n'},   {"capacity", 1, 0, 'c'}, {"slots", 1, 0, 'S'},
      {"type", 1, 0, 't'},    {"mode", 1, 0, 'M'},   {"group", 1, 0, 'G'},
      {"unlink", 0, 0, 'U'},  {"verbose", 0, 0, 'v'}, {"help", 0, 0, 'h'},
      {"version", 0, 0, 'V'}, {0, 0, 0, 0}};
  uint64_t u;
  mode_t mode;
  int c, nsrc = 0;
  opterr = 0;
  shmbus_pub_opts_init(&o->pub);
  while ((c = getopt_long(argc, argv, ":m:f:slb:r:n:c:t:vhV", longs, NULL)) != -1) {
    switch (c) {
      case 'm': o->src = SRC_MESSAGE, o->message = optarg, nsrc++; break;
      case 'f': o->src = SRC_FILE, o->file = optarg, nsrc++; break;
      case 's': o->src = SRC_STDIN, nsrc++; break;
      case 'l': o->src = SRC_LINES, nsrc++; break;
      case 'b':
        if (parse_size(optarg, &o->binary) < 0 || o->binary == 0)
          return tool_usage_error("--binary wants a record size in bytes > 0, not '%s'", optarg);
        o->src = SRC_BINARY, nsrc++;
        break;
      case 'r':
        if (parse_seconds(optarg, &o->rate) < 0)
          return tool_usage_error("--rate wants a rate in Hz > 0, not '%s'", optarg);
        break;
      case 'n':
        if (parse_u64(optarg, &o->count) < 0 || o->count == 0)
          return tool_usage_error("--count wants a number > 0, not '%s'", optarg);
        break;
      case 'c':
        if (parse_size(optarg, &u) < 0 || u == 0 || u > SHMBUS_MAX_CAPACITY)
          return tool_usage_error("--capacity wants 1 byte .. 1GiB (e.g. 4096, 64K, 1M), not "
                                  "'%s'", optarg);
        o->pub.capacity = u;
        break;
      case 'S':
        if (parse_u64(optarg, &u) < 0 || u < 2 || u > SHMBUS_MAX_SLOTS)
          return tool_usage_error("--slots wants 2..65536, not '%s'", optarg);
        o->pub.slots = (uint32_t)u;
        break;
      case 't':
        if (strlen(optarg) > SHMBUS_TYPE_MAX ||
            strspn(optarg, " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
                           "abcdefghijklmnopqrstuvwxyz{|}~") != strlen(optarg))
          return tool_usage_error("--type wants at most 31 printable ASCII characters, not "
                                  "'%s'", optarg);
        o->pub.type = optarg;
        break;
      case 'M':
        if (parse_mode(optarg, &mode) < 0 || (mode & ~(mode_t)0644) || (mode & 0600) != 0600)
          return tool_usage_error("--mode must be 0600 (owner only), 0640 (the group may read) "
                                  "or 0644 (everyone may read), not '%s'; readers never get "
                                  "write access", optarg);
        o->pub.mode = mode;
        break;
      case 'G':
        if (parse_group(optarg, &o->pub.gid) < 0)
          return tool_usage_error("--group: no such group '%s'", optarg);
        o->have_group = 1;
        break;
      case 'U': o->unlink_on_exit = 1; break;
      case 'v': o->verbose = 1; break;
      case 'h': fputs(usage, stdout); exit(EXIT_OK);
      case 'V': exit(tool_version());
      default: return tool_bad_option(c, argv);
    }
  }
  if (optind >= argc) return tool_usage_error("missing the bus NAME");
  if (optind + 1 < argc)
    return tool_usage_error("unexpected argument '%s' (one bus NAME; quote a message: -m 'a b')",
                            argv[optind + 1]);
  o->name = argv[optind];
  if (shmbus_name_check(o->name) < 0) return tool_name_error(o->name);
  if (nsrc > 1) return tool_usage_error("give only one of -m, -f, -s, -l, --binary");
  if (o->have_group && o->pub.mode == 0) o->pub.mode = 0640;
  if (o->src == SRC_NONE) {
    if (isatty(STDIN_FILENO))
      return tool_usage_error("nothing to publish: give -m TEXT, -f FILE, -s, -l or --binary "
                              "SIZE, or pipe lines into shmpub");
    o->src = SRC_LINES;
  }
  return 0;
}

int main(int argc, char **argv) {
  struct opts o;
  shmbus_pub *p = NULL;
  char *record = NULL;
  size_t len = 0;
  int rc;

  tool_name = "shmpub";
  memset(&o, 0, sizeof o);
  if ((rc = parse_args(argc, argv, &o)) != 0) return rc;
  tool_install_signals();

  /* A single record is read before the bus is opened, so its size can pick the capacity. */
  if (o.src == SRC_MESSAGE) {
    record = strdup(o.message), len = strlen(o.message);
    if (record == NULL) return tool_fail("publish on", o.name, -ENOMEM, 0);
  } else if (o.src == SRC_FILE || o.src == SRC_STDIN) {
    FILE *f = (o.src == SRC_STDIN || strcmp(o.file, "-") == 0) ? stdin : fopen(o.file, "rb");
    if (f == NULL) {
      tool_msg("cannot read '%s': %s", o.file, strerror(errno));
      return EXIT_ERROR;
    }
    rc = read_all(f, &record, &len);
    if (f != stdin) fclose(f);
    if (rc < 0) {
      tool_msg("cannot read %s: %s", o.src == SRC_FILE ? o.file : "stdin", strerror(-rc));
      return EXIT_ERROR;
    }
  }
  if (record && o.pub.capacity == 0 && len > SHMBUS_DEFAULT_CAPACITY) {
    struct shmbus_bus_info bi;
    if (shmbus_stat(o.name, &bi) == -ENOENT) o.pub.capacity = len; /* a new bus: make it fit */
  }
  if (o.src == SRC_BINARY && o.pub.capacity == 0 && o.binary > SHMBUS_DEFAULT_CAPACITY) {
    struct shmbus_bus_info bi;
    if (shmbus_stat(o.name, &bi) == -ENOENT) o.pub.capacity = o.binary;
  }

  announce(&o);
  rc = shmbus_pub_open(o.name, &o.pub, &p);
  if (rc < 0) {
    free(record);
    return tool_fail("publish on", o.name, rc, HINT_WRITER);
  }
  switch (o.src) {
    case SRC_LINES: rc = run_lines(p, &o); break;
    case SRC_BINARY: rc = run_binary(p, &o); break;
    default: rc = run_record(p, &o, record, len); break;
  }
  shmbus_pub_close(p);
  free(record);
  if (o.unlink_on_exit) {
    int err = shmbus_unlink(o.name, 0);
    if (err < 0 && err != -ENOENT) {
      tool_fail("remove", o.name, err, 0);
      if (rc == 0) rc = EXIT_ERROR;
    }
  }
  return rc;
}
