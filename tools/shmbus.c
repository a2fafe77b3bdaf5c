/* shmbus - administration: list, inspect and remove buses. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "tools/common.h"
#include "tools/format.h"
#include "tools/record.h"
#include "serve/serve.h"

static const char usage[] =
    "Usage: shmbus COMMAND [options]\n"
    "Administer the shmbus buses of this host.\n"
    "\n"
    "Commands:\n"
    "  ls [--json]              every bus: name, type, writer (its pid while it runs, else\n"
    "                           closed, died or none), latest version, capacity, slots,\n"
    "                           publish rate, owner and mode. --json: JSON Lines, one\n"
    "                           object per bus and line (jq -s makes an array)\n"
    "  stat [--json] NAME...    buses in detail: header, writer, sleeping readers, last\n"
    "                           publish time, memory used (--json: one object per line)\n"
    "  schema NAME              the schema text a typed bus carries (stat shows its type\n"
    "                           name, encodings and hash)\n"
    "  rm [--force] NAME...     remove buses; refuses while a live writer holds one, unless\n"
    "                           --force (its writer and readers then see it vanish)\n"
    "  record [BUS|GLOB...]     record buses into an MCAP file, -o FILE ('record --help')\n"
    "  play FILE.mcap           publish a recording on buses at its pace ('play --help')\n"
    "  info FILE.mcap           what a recording holds: channels, counts, duration\n"
    "  serve [BUS|GLOB...]      live view: a Foxglove WebSocket server and a page of its\n"
    "                           own on 127.0.0.1:8765 ('serve --help')\n"
    "  version                  the version of the tools and the library\n"
    "  help                     this help\n"
    "Options: -h, --help   this help;  -V, --version   the version\n"
    "\n"
    "Examples:\n"
    "  shmbus ls\n"
    "  shmbus stat imu --json | jq .latest\n"
    "  shmbus ls --json | jq -s 'map(.name)'\n"
    "  shmbus rm old-bus another\n"
    "  shmbus record -o run1.mcap 'imu*' temp\n"
    "  shmbus serve 'imu*'                    then open http://127.0.0.1:8765/\n"
    "\n" TOOLS_EXIT_CODES;

struct row {
  char name[SHMBUS_NAME_MAX + 1];
  struct shmbus_bus_info bi;
  int err;     /* shmbus_stat's error (e.g. -EACCES): only owner and mode are known */
  double rate; /* publishes per second recently, < 0 unknown */
};

struct rows {
  struct row *v;
  size_t n, cap;
};

/* Rate without waiting: versions over publish times between the oldest record still in the
 * ring and the latest one. A zero-size buffer makes next() report the oldest one's version and
 * timestamp (-ENOBUFS) without copying it. Shown only while the writer is alive and recent. */
static double recent_rate(const char *name, const struct shmbus_bus_info *bi) {
  struct shmbus_record_info info;
  shmbus_sub *s;
  double span, rate = -1;
  int64_t now = now_realtime_ns();
  ssize_t n;
  if (!bi->writer_alive || bi->latest < 2 || shmbus_sub_open(name, 0, &s) < 0) return -1;
  shmbus_sub_seek(s, SHMBUS_SEEK_OLDEST);
  memset(&info, 0, sizeof info);
  n = shmbus_sub_next(s, NULL, 0, &info);
  if ((n >= 0 || n == -ENOBUFS) && info.version < bi->latest &&
      bi->last_publish_ns > info.timestamp_ns) {
    span = (double)(bi->last_publish_ns - info.timestamp_ns) / 1e9;
    rate = (double)(bi->latest - info.version) / span;
    /* Idle since: no publish within three mean intervals (or 1 s) means no current rate. */
    if ((double)(now - (int64_t)bi->last_publish_ns) / 1e9 > 3 / rate &&
        now - (int64_t)bi->last_publish_ns > 1000000000LL)
      rate = 0;
  }
  shmbus_sub_close(s);
  return rate;
}

static int collect(const char *name, void *arg) {
  struct rows *rs = arg;
  struct row *r;
  if (rs->n == rs->cap) {
    struct row *nv = realloc(rs->v, (rs->cap = rs->cap ? 2 * rs->cap : 16) * sizeof *nv);
    if (nv == NULL) return -ENOMEM;
    rs->v = nv;
  }
  r = &rs->v[rs->n++];
  memset(r, 0, sizeof *r);
  snprintf(r->name, sizeof r->name, "%s", name);
  r->err = shmbus_stat(name, &r->bi);
  r->rate = -1;
  if (r->err == 0) {
    r->rate = recent_rate(name, &r->bi);
  } else { /* no read access: stat(2) still tells owner and mode */
    char path[256];
    struct stat st;
    if (shmbus_path(name, path, sizeof path) == 0 && stat(path, &st) == 0) {
      r->bi.uid = st.st_uid;
      r->bi.gid = st.st_gid;
      r->bi.mode = st.st_mode & 07777;
    }
  }
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const struct row *)a)->name, ((const struct row *)b)->name);
}

/* The writer's state, in the words of shmbus stat ("closed cleanly" is "closed" in a column). */
static const char *writer_state(const struct shmbus_bus_info *bi) {
  if (bi->writer_pid == 0) return "never had a writer";
  if (bi->writer_alive) return "running";
  return bi->writer_closed ? "closed cleanly" : "died";
}

static void writer_text(const struct row *r, char *buf, size_t n) {
  if (r->err) snprintf(buf, n, "?");
  else if (r->bi.writer_alive) snprintf(buf, n, "%d", (int)r->bi.writer_pid);
  else if (r->bi.writer_pid == 0) snprintf(buf, n, "none");
  else snprintf(buf, n, "%s", r->bi.writer_closed ? "closed" : "died");
}

/* The width of @s once text_safe() escaped it. */
static int safe_width(const char *s) {
  int w = 0;
  for (; *s; s++)
    w += ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f && *s != '\\') ? 1 : 4;
  return w;
}

/* A column cell: text_safe(@s) (or @empty when @s is ""), padded to @width. */
static void cell(const char *s, const char *empty, int width) {
  const char *t = s[0] ? s : empty;
  text_safe(stdout, t, strlen(t));
  printf("%*s", width > safe_width(t) ? width - safe_width(t) : 0, "");
}

#define NAME_COL_MAX 32 /* a longer name widens only its own row */
#define TYPE_COL_MAX 16

static void ls_json(const struct row *r, const char *user) {
  fputs("{\"name\":", stdout);
  json_quote(stdout, r->name, strlen(r->name));
  fputs(",\"type\":", stdout);
  json_quote(stdout, r->bi.type, strlen(r->bi.type));
  printf(",\"readable\":%s,\"writer_pid\":%d,\"writer_alive\":%s,\"writer_state\":",
         r->err ? "false" : "true", (int)r->bi.writer_pid, r->bi.writer_alive ? "true" : "false");
  if (r->err) fputs("null", stdout);
  else printf("\"%s\"", writer_state(&r->bi));
  printf(",\"latest\":%llu,\"capacity\":%llu,\"slots\":%u,\"readers\":",
         (unsigned long long)r->bi.latest, (unsigned long long)r->bi.capacity, r->bi.slots);
  if (!r->err && r->bi.readers >= 0) printf("%d", r->bi.readers);
  else fputs("null", stdout);
  fputs(",\"rate_hz\":", stdout);
  if (r->rate >= 0) printf("%.3f", r->rate);
  else fputs("null", stdout);
  fputs(",\"owner\":", stdout);
  json_quote(stdout, user, strlen(user));
  printf(",\"mode\":\"%04o\"}\n", (unsigned)r->bi.mode);
}

static int cmd_ls(int json) {
  struct rows rs = {0};
  size_t i;
  int rc = shmbus_list(collect, &rs), nw = 4, tw = 4;
  if (rc < 0) {
    tool_msg("cannot list /dev/shm: %s", strerror(-rc));
    free(rs.v);
    return EXIT_ERROR;
  }
  if (rs.n > 1) qsort(rs.v, rs.n, sizeof *rs.v, by_name); /* rs.v is NULL with no bus */
  for (i = 0; i < rs.n; i++) { /* columns as wide as their widest entry, up to a limit */
    int n = safe_width(rs.v[i].name), t = safe_width(rs.v[i].bi.type);
    nw = n > nw ? (n < NAME_COL_MAX ? n : NAME_COL_MAX) : nw;
    tw = t > tw ? (t < TYPE_COL_MAX ? t : TYPE_COL_MAX) : tw;
  }
  if (!json)
    printf("%-*s %-*s %8s %10s %10s %6s %7s %10s %-10s %s\n", nw, "NAME", tw, "TYPE", "WRITER",
           "VERSION", "CAPACITY", "SLOTS", "READERS", "RATE", "OWNER", "MODE");
  for (i = 0; i < rs.n && !tool_stop; i++) { /* a signal: stop after the row being written */
    const struct row *r = &rs.v[i];
    char w[32], cap[32], rate[32], user[64], readers[16];
    writer_text(r, w, sizeof w);
    fmt_user(r->bi.uid, user, sizeof user);
    if (json) {
      ls_json(r, user);
      continue;
    }
    cell(r->name, "", nw);
    putchar(' ');
    if (r->err) {
      cell("?", "", tw);
      printf(" %8s %10s %10s %6s %7s %10s %-10s %04o  (%s)\n", w, "?", "?", "?", "?", "?", user,
             (unsigned)r->bi.mode, shmbus_strerror(r->err));
      continue;
    }
    fmt_bytes(r->bi.capacity, cap, sizeof cap);
    if (r->rate < 0) snprintf(rate, sizeof rate, "-");
    else snprintf(rate, sizeof rate, "%.1f Hz", r->rate);
    if (r->bi.readers < 0) snprintf(readers, sizeof readers, "-");
    else snprintf(readers, sizeof readers, "%d", r->bi.readers);
    cell(r->bi.type, "-", tw);
    printf(" %8s %10llu %10s %6u %7s %10s %-10s %04o\n", w, (unsigned long long)r->bi.latest, cap,
           r->bi.slots, readers, rate, user, (unsigned)r->bi.mode);
  }
  free(rs.v);
  return tool_flush_stdout(); /* or its reader left: shmbus ls | head -1 */
}

static const char *mode_name(int mode) {
  return mode == SHMBUS_WAIT_SPIN ? "spin" : mode == SHMBUS_WAIT_SLEEP ? "sleep" : "hybrid";
}

static const char *reader_state(const struct shmbus_reader_info *r) {
  if (r->asleep) return r->pollfd ? "asleep (pollable descriptor)" : "asleep";
  if (r->spinning) return "spinning";
  return r->pollfd ? "reading (pollable descriptor)" : "reading";
}

/* The reader registry (advisory): a table, or a JSON array. @n < 0: no registry. */
static void print_readers(const struct shmbus_reader_info *v, int n, int json) {
  int i;
  if (json) {
    if (n < 0) {
      fputs("null", stdout);
      return;
    }
    fputc('[', stdout);
    for (i = 0; i < n; i++)
      printf("%s{\"pid\":%d,\"mode\":\"%s\",\"asleep\":%s,\"spinning\":%s,\"pollfd\":%s,"
             "\"cursor\":%llu,\"lost\":%llu,\"active_ns\":%llu,\"opened_ns\":%llu}",
             i ? "," : "", (int)v[i].pid, mode_name(v[i].mode), v[i].asleep ? "true" : "false",
             v[i].spinning ? "true" : "false", v[i].pollfd ? "true" : "false",
             (unsigned long long)v[i].cursor, (unsigned long long)v[i].lost,
             (unsigned long long)v[i].active_ns, (unsigned long long)v[i].opened_ns);
    fputc(']', stdout);
    return;
  }
  if (n < 0) {
    printf("readers:        unknown (a layout-1 bus, or its wake page cannot be attached)\n");
    return;
  }
  printf("readers:        %d\n", n);
  if (n > 0)
    printf("  %8s %-7s %-29s %10s %8s %s\n", "PID", "MODE", "STATE", "CURSOR", "LOST", "LAST WAIT");
  for (i = 0; i < n; i++) {
    char age[32] = "-";
    if (v[i].active_ns)
      fmt_duration((double)(now_realtime_ns() - (int64_t)v[i].active_ns) / 1e9, age, sizeof age);
    printf("  %8d %-7s %-29s %10llu %8llu %s%s\n", (int)v[i].pid, mode_name(v[i].mode),
           reader_state(&v[i]), (unsigned long long)v[i].cursor, (unsigned long long)v[i].lost, age,
           v[i].active_ns ? " ago" : "");
  }
}

/* The schema's names and hash (the text is `shmbus schema NAME`); "schema": null if untyped. */
static void print_schema_json(const struct shmbus_bus_info *bi) {
  fputs(",\"schema\":", stdout);
  if (!bi->type_name[0]) {
    fputs("null", stdout);
    return;
  }
  fputs("{\"type_name\":", stdout);
  json_quote(stdout, bi->type_name, strlen(bi->type_name));
  fputs(",\"schema_encoding\":", stdout);
  json_quote(stdout, bi->schema_encoding, strlen(bi->schema_encoding));
  fputs(",\"message_encoding\":", stdout);
  json_quote(stdout, bi->message_encoding, strlen(bi->message_encoding));
  printf(",\"length\":%llu,\"hash\":\"%016llx\"}", (unsigned long long)bi->schema_len,
         (unsigned long long)bi->schema_hash);
}

static void print_schema_text(const struct shmbus_bus_info *bi) {
  if (!bi->type_name[0]) {
    printf("schema:         none (records are bytes)\n");
    return;
  }
  fputs("schema:         ", stdout);
  text_safe(stdout, bi->type_name, strlen(bi->type_name));
  printf(" (%s, %llu bytes; messages %s; hash %016llx)\n",
         bi->schema_encoding[0] ? bi->schema_encoding : "no schema encoding",
         (unsigned long long)bi->schema_len, bi->message_encoding,
         (unsigned long long)bi->schema_hash);
}

/* `shmbus schema NAME`: the schema text as stored, byte for byte. */
static int cmd_schema(const char *name) {
  struct shmbus_schema sc;
  shmbus_sub *s;
  int rc = shmbus_sub_open(name, 0, &s);
  if (rc < 0) return tool_fail("read the schema of", name, rc, 0);
  rc = shmbus_sub_schema(s, &sc);
  if (rc == -ENOENT) {
    shmbus_sub_close(s);
    tool_msg("bus '%s' carries no schema: its records are bytes (shmpub --schema FILE --type "
             "NAME makes a typed bus).",
             name);
    return EXIT_ERROR;
  }
  if (sc.text_len) fwrite(sc.text, 1, sc.text_len, stdout);
  if (sc.text_len && ((const char *)sc.text)[sc.text_len - 1] != '\n' && isatty(1)) putchar('\n');
  shmbus_sub_close(s);
  return tool_flush_stdout();
}

static int cmd_stat(const char *name, int json) {
  struct shmbus_bus_info bi;
  char path[256], user[64], group[64], t[64], c[64], age[32], cap[32], tot[32];
  struct shmbus_reader_info rv[64];
  pid_t holder;
  int rc = shmbus_stat(name, &bi), nr;
  if (rc < 0) return tool_fail("inspect", name, rc, 0);
  nr = shmbus_readers(name, rv, sizeof rv / sizeof rv[0]);
  if (nr > (int)(sizeof rv / sizeof rv[0])) nr = (int)(sizeof rv / sizeof rv[0]);
  shmbus_path(name, path, sizeof path);
  holder = shmbus_lock_holder(name); /* owner only: others get -EACCES */
  fmt_user(bi.uid, user, sizeof user);
  fmt_group(bi.gid, group, sizeof group);
  if (json) {
    fputs("{\"name\":", stdout);
    json_quote(stdout, name, strlen(name));
    fputs(",\"path\":", stdout);
    json_quote(stdout, path, strlen(path));
    fputs(",\"type\":", stdout);
    json_quote(stdout, bi.type, strlen(bi.type));
    printf(",\"slots\":%u,\"capacity\":%llu,\"total_size\":%llu,\"latest\":%llu,"
           "\"last_publish_ns\":%llu,\"created_ns\":%llu,\"writer_pid\":%d,"
           "\"writer_state\":\"%s\",\"lock_holder\":%d,\"readers_asleep\":%s,"
           "\"replaced\":%s,\"layout_version\":%u,\"readers\":",
           bi.slots, (unsigned long long)bi.capacity, (unsigned long long)bi.total_size,
           (unsigned long long)bi.latest, (unsigned long long)bi.last_publish_ns,
           (unsigned long long)bi.created_ns, (int)bi.writer_pid, writer_state(&bi),
           holder > 0 ? (int)holder : 0, bi.sleepers ? "true" : "false",
           bi.replaced ? "true" : "false", bi.layout_version);
    print_readers(rv, nr < 0 ? -1 : nr, 1);
    fputs(",\"owner\":", stdout);
    json_quote(stdout, user, strlen(user));
    fputs(",\"group\":", stdout);
    json_quote(stdout, group, strlen(group));
    printf(",\"mode\":\"%04o\"", (unsigned)bi.mode);
    print_schema_json(&bi);
    fputs("}\n", stdout);
    return tool_flush_stdout();
  }
  fmt_bytes(bi.capacity, cap, sizeof cap);
  fmt_bytes(bi.total_size + (bi.layout_version >= 2 ? 65536 : 4096), tot, sizeof tot);
  fmt_time_iso((int64_t)bi.created_ns, c, sizeof c);
  printf("bus:            %s\n", name);
  printf("path:           %s\n", path);
  fputs("type:           ", stdout);
  text_safe(stdout, bi.type[0] ? bi.type : "-", bi.type[0] ? strlen(bi.type) : 1);
  putchar('\n');
  print_schema_text(&bi);
  printf("geometry:       %u slots x %s (%llu bytes)\n", bi.slots, cap,
         (unsigned long long)bi.capacity);
  printf("memory:         %s (records %llu bytes + wake page %u)\n", tot,
         (unsigned long long)bi.total_size, bi.layout_version >= 2 ? 65536u : 4096u);
  printf("created:        %s\n", c);
  printf("latest version: %llu\n", (unsigned long long)bi.latest);
  if (bi.last_publish_ns) {
    fmt_time_iso((int64_t)bi.last_publish_ns, t, sizeof t);
    fmt_duration((double)(now_realtime_ns() - (int64_t)bi.last_publish_ns) / 1e9, age, sizeof age);
    printf("last publish:   %s (%s ago)\n", t, age);
  } else {
    printf("last publish:   never\n");
  }
  if (bi.writer_pid) printf("writer:         pid %d, %s\n", (int)bi.writer_pid, writer_state(&bi));
  else printf("writer:         %s\n", writer_state(&bi));
  if (holder > 0) printf("writer lock:    held by pid %d\n", (int)holder);
  else if (holder == 0) printf("writer lock:    free\n");
  printf("readers asleep: %s\n", bi.sleepers ? "yes" : "no");
  print_readers(rv, nr < 0 ? -1 : nr, 0);
  if (bi.replaced) printf("replaced:       yes (a newer bus took the name; readers reopen)\n");
  printf("owner:          %s, group %s, mode %04o\n", user, group, (unsigned)bi.mode);
  return tool_flush_stdout();
}

static int cmd_rm(int argc, char **argv) {
  static const struct option longs[] = {{"force", 0, 0, 'f'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  int c, force = 0, rc = EXIT_OK, err, i;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":fh", longs, NULL)) != -1) {
    if (c == 'f') force = 1;
    else if (c == 'h') {
      fputs(usage, stdout);
      return EXIT_OK;
    } else {
      return tool_bad_option(c, argv);
    }
  }
  if (optind >= argc) return tool_usage_error("rm: which bus? give its NAME (see 'shmbus ls')");
  for (i = optind; i < argc; i++) {
    err = shmbus_unlink(argv[i], force);
    if (err < 0 && rc == EXIT_OK) rc = tool_fail("remove", argv[i], err, HINT_REMOVE);
    else if (err < 0) tool_fail("remove", argv[i], err, HINT_REMOVE);
  }
  return rc;
}

/* "ls"/"stat" arguments: --json and NAMEs, in any order; "--" ends the options. Return: the
 * number of NAMEs (stored in @names, room for argc), or -(an exit code), reported. */
static int cmd_args(int argc, char **argv, int *json, char **names) {
  int i, n = 0, opts = 1;
  *json = 0;
  for (i = 1; i < argc; i++) {
    if (opts && strcmp(argv[i], "--") == 0) {
      opts = 0;
    } else if (opts && strcmp(argv[i], "--json") == 0) {
      *json = 1;
    } else if (opts && (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)) {
      fputs(usage, stdout);
      exit(EXIT_OK);
    } else if (opts && argv[i][0] == '-' && argv[i][1] != '\0') {
      return -tool_usage_error("%s: unknown option '%s'", argv[0], argv[i]);
    } else {
      names[n++] = argv[i];
    }
  }
  return n;
}

/* stat NAME...: every bus in turn (text: a blank line between them); the exit status is the
 * first failure's. */
static int cmd_stat_all(char **names, int n, int json) {
  int i, rc = EXIT_OK, r;
  for (i = 0; i < n && !tool_stop; i++) {
    if (i > 0 && !json) putchar('\n');
    r = shmbus_name_check(names[i]) < 0 ? tool_name_error(names[i]) : cmd_stat(names[i], json);
    if (r != EXIT_OK && rc == EXIT_OK) rc = r;
  }
  return rc;
}

int main(int argc, char **argv) {
  const char *cmd;
  char **names;
  int json, n, rc;
  tool_name = "shmbus";
  tool_install_signals(1); /* SIGTERM: finish the write under way, stop, exit 0 */
  if (argc < 2) return tool_usage_error("missing a COMMAND (ls, stat, rm, version)");
  cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    fputs(usage, stdout);
    return EXIT_OK;
  }
  if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version") || !strcmp(cmd, "version"))
    return tool_version();
  if (!strcmp(cmd, "rm")) return cmd_rm(argc - 1, argv + 1);
  if (!strcmp(cmd, "record")) return cmd_record(argc - 1, argv + 1);
  if (!strcmp(cmd, "play")) return cmd_play(argc - 1, argv + 1);
  if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
  if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
  if (!strcmp(cmd, "schema")) {
    if (argc != 3 || argv[2][0] == '-')
      return tool_usage_error("schema: give one bus NAME (shmbus schema NAME)");
    if (shmbus_name_check(argv[2]) < 0) return tool_usage_error("invalid bus name '%s'", argv[2]);
    return cmd_schema(argv[2]);
  }
  if (strcmp(cmd, "ls") && strcmp(cmd, "list") && strcmp(cmd, "stat"))
    return tool_usage_error("unknown command '%s' (ls, stat, schema, rm, record, play, info, "
                            "serve, version)",
                            cmd);
  if ((names = calloc((size_t)argc, sizeof *names)) == NULL) return EXIT_ERROR;
  if ((n = cmd_args(argc - 1, argv + 1, &json, names)) < 0) rc = -n;
  else if (strcmp(cmd, "stat") != 0 && n > 0)
    rc = tool_usage_error("%s: unexpected argument '%s'", cmd, names[0]);
  else if (strcmp(cmd, "stat") != 0) rc = cmd_ls(json);
  else if (n == 0) rc = tool_usage_error("stat: which bus? give its NAME (see 'shmbus ls')");
  else rc = cmd_stat_all(names, n, json);
  free(names);
  return rc;
}
