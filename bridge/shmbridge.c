/* shmbridge.c - bridge shmbus buses to other hosts over Cyclone DDS: options, signals, status.
 * See bridge.h for the design and docs/DEPLOYMENT.md for its use. */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "dds/security/dds_security_api_defs.h"
#include "bridge/bridge.h"
#include "tools/options.h"

/* --help: this, the option list (option_list[] below), then usage_tail. */
static const char usage_head[] =
    "Usage: shmbridge [OPTIONS] [-e PATTERN]... [-i PATTERN]...\n"
    "Bridge shmbus buses to other hosts over Cyclone DDS (topic \"shmbus/NAME\").\n"
    "\n";

static const char usage_tail[] =
    "\n"
    "Both sides must use the same QoS options (-b, --volatile). SIGUSR1 prints the status;\n"
    "SIGINT/SIGTERM stop cleanly. Network interface and peers: CYCLONEDDS_URI (see\n"
    "docs/DEPLOYMENT.md). An imported bus is never exported again, so both directions can run\n"
    "on every host without loops. The importer never touches a local bus it did not create.\n"
    "Without --security, anyone who reaches the DDS domain can read what is exported and\n"
    "publish into what is imported: use it on trusted networks only.\n"
    "\n"
    "Examples:\n"
    "  robot$   shmbridge -S /etc/shmbridge/robot -e 'robot.*'\n"
    "  laptop$  shmbridge -S /etc/shmbridge/laptop -i 'robot.*' -m 0644\n"
    "  lab$     shmbridge -e 'sim.*' -i 'sim.*' -p remote.   # trusted network only\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 on a DDS error, 2 on a usage error.\n";

/* "64M" -> 67108864; 0 on a malformed or zero size. */
static uint64_t parse_bytes(const char *arg) {
  char *end;
  unsigned long long v = strtoull(arg, &end, 10);
  int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
  if (arg[0] < '0' || arg[0] > '9' || end == arg) return 0;
  if (shift) end++;
  if (*end || v == 0 || v > (UINT64_MAX >> shift)) return 0;
  return (uint64_t)v << shift;
}

/* "shmbridge: " + printf to stderr + newline. Return: -1 (a usage error). */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  fputs("shmbridge: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return -1;
}

/* strtol over all of @arg into [@min, @max]. Return: 0, or -1 when it is not such a number. */
static int parse_int(const char *arg, int base, long min, long max, long *out) {
  char *end;
  long v;
  errno = 0;
  v = strtol(arg, &end, base);
  if (end == arg || *end || errno || v < min || v > max) return -1;
  *out = v;
  return 0;
}

/* The highest DDS domain id: with RTPS's default port mapping (7400 + 250 * id + offsets) the
 * ports of a higher one no longer fit in 16 bits. */
#define DDS_DOMAIN_ID_MAX 232
/* The most --max-topics and the deepest --depth: sanity bounds, far above any real use. */
#define TOPICS_MAX 100000
#define DEPTH_MAX 100000

/* The option handlers: option_list[] below names each one with its option. Return: 0, or -1
 * after a message (a usage error). */

/* -e and -i: one more pattern into @list (@n of them so far). */
static int add_pattern(const char **list, int *n, const char *arg) {
  if (*n == BRIDGE_MAX_PATTERNS)
    return usage_error("at most %d patterns per direction", BRIDGE_MAX_PATTERNS);
  list[(*n)++] = arg;
  return 0;
}

static int opt_export(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  return add_pattern(c->exports, &c->n_exports, arg);
}

static int opt_import(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  return add_pattern(c->imports, &c->n_imports, arg);
}

static int opt_prefix(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  c->prefix = arg;
  return 0;
}

static int opt_domain(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  long v;
  if (parse_int(arg, 10, 0, DDS_DOMAIN_ID_MAX, &v) < 0)
    return usage_error("--domain takes a number from 0 to %d", DDS_DOMAIN_ID_MAX);
  c->domain = (int)v;
  return 0;
}

static int opt_best_effort(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  (void)arg;
  c->best_effort = 1;
  return 0;
}

static int opt_volatile(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  (void)arg;
  c->volatile_durability = 1;
  return 0;
}

static int opt_depth(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  long v;
  if (parse_int(arg, 10, 1, DEPTH_MAX, &v) < 0)
    return usage_error("--depth takes a number from 1 to %d", DEPTH_MAX);
  c->depth = (int)v;
  return 0;
}

static int opt_wait(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  if (strcmp(arg, "hybrid") == 0) c->wait_mode = SHMBUS_WAIT_HYBRID;
  else if (strcmp(arg, "sleep") == 0) c->wait_mode = SHMBUS_WAIT_SLEEP;
  else if (strcmp(arg, "spin") == 0) c->wait_mode = SHMBUS_WAIT_SPIN;
  else return usage_error("--wait is hybrid, sleep or spin");
  return 0;
}

static int opt_mode(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  long v;
  if (parse_int(arg, 8, 0, 07777, &v) < 0 || (v != 0600 && v != 0640 && v != 0644))
    return usage_error("--mode is 0600, 0640 or 0644");
  c->mode = (mode_t)v;
  return 0;
}

static int opt_export_private(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  if (c->n_privates == BRIDGE_MAX_PATTERNS)
    return usage_error("at most %d --export-private patterns", BRIDGE_MAX_PATTERNS);
  c->privates[c->n_privates++] = arg;
  return 0;
}

static int opt_max_bus_bytes(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  uint64_t smallest = bridge_bus_bytes(2, 1); /* two slots of one byte */
  if ((c->max_bus_bytes = parse_bytes(arg)) < smallest)
    return usage_error("--max-bus-bytes takes a size of at least %llu bytes (digits, then K, M "
                       "or G)",
                       (unsigned long long)smallest);
  return 0;
}

static int opt_max_topics(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  long v;
  if (parse_int(arg, 10, 1, TOPICS_MAX, &v) < 0)
    return usage_error("--max-topics takes a number from 1 to %d", TOPICS_MAX);
  c->max_topics = (int)v;
  return 0;
}

static int opt_security(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  c->security = arg;
  return 0;
}

static int opt_allow_same_host(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  (void)arg;
  c->allow_same_host = 1;
  return 0;
}

static int opt_status(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  c->status_file = arg;
  return 0;
}

static int opt_interval(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  char *end;
  c->interval = strtod(arg, &end);
  if (*end || !(c->interval >= 0.05 && c->interval <= 86400))
    return usage_error("--interval takes seconds from 0.05 to 86400");
  return 0;
}

static int opt_verbose(void *ctx, const char *arg) {
  struct bridge_config *c = ctx;
  (void)arg;
  c->verbose = 1;
  return 0;
}

static int opt_help(void *ctx, const char *arg);

static const struct tool_option option_list[] = {
    {"export", 'e', "PATTERN", "publish local buses matching PATTERN (a glob) on DDS", opt_export},
    {"import", 'i', "PATTERN", "republish remote buses matching PATTERN on local buses",
     opt_import},
    {"prefix", 'p', "STR", "name imported buses STR + remote name (default: same name)",
     opt_prefix},
    {"domain", 'd', "ID", "DDS domain id (default: CYCLONEDDS_URI's, else 0)", opt_domain},
    {"best-effort", 'b', NULL, "best-effort delivery (default: reliable)", opt_best_effort},
    {"volatile", 0, NULL, "no transient-local copy for late joiners", opt_volatile},
    {"depth", 0, "N", "DDS history depth (keep-last N; default 1, as a bus)", opt_depth},
    {"wait", 'w', "MODE",
     "how exporters wait for records: hybrid (default: spin ~20 us,\n"
     "then sleep), sleep, or spin (lowest latency, a core per bus)",
     opt_wait},
    {"mode", 'm', "MODE", "permission of imported buses: 0600 (default), 0640, 0644", opt_mode},
    {"export-private", 'P', "PATTERN",
     "export matching buses even when they are not\n"
     "world-readable (default: only buses every user can read)",
     opt_export_private},
    {"max-bus-bytes", 0, "N",
     "largest bus an import may create, in bytes (K, M, G suffixes;\n"
     "default 64M): slots x capacity as the remote asks",
     opt_max_bus_bytes},
    {"max-topics", 0, "N", "most topics imported (default 64; counted until a restart)",
     opt_max_topics},
    {"security", 'S', "DIR",
     "DDS Security: authenticate, check permissions and encrypt with\n"
     "DIR/{identity_ca.pem,identity.pem,identity_key.pem,\n"
     "permissions_ca.pem,governance.p7s,permissions.p7s}",
     opt_security},
    {"allow-same-host", 0, NULL, "import records exported from this host too (tests, renaming)",
     opt_allow_same_host},
    {"status", 's', "FILE", "rewrite FILE with the status lines every interval", opt_status},
    {"interval", 't', "SEC", "seconds between status updates (default 1; with -v: lines)",
     opt_interval},
    {"verbose", 'v', NULL, "log subscriptions, and a status line every interval", opt_verbose},
    {"help", 'h', NULL, "this text", opt_help},
};

/* An option getopt_long rejected: it said which; say where help is. */
static int rejected(int c, char **argv) {
  (void)c;
  (void)argv;
  fputs("Try 'shmbridge --help'.\n", stderr);
  return -1;
}

static const struct tool_options options = {
    .list = option_list,
    .n = sizeof option_list / sizeof option_list[0],
    .getopt_messages = 1, /* "shmbridge: invalid option -- 'x'" */
    .rejected = rejected,
};

static int opt_help(void *ctx, const char *arg) {
  (void)ctx;
  (void)arg;
  fputs(usage_head, stdout);
  tool_options_help(stdout, &options);
  fputs(usage_tail, stdout);
  exit(0);
}

/* parse() - the command line into @c (its defaults set). Return: 0, or -1 after a message. */
static int parse(int argc, char **argv, struct bridge_config *c) {
  if (tool_options_parse(&options, argc, argv, c) != 0) return -1;
  if (optind != argc || c->n_exports + c->n_imports == 0)
    return usage_error("give at least one --export or --import pattern, and nothing else; try "
                       "'shmbridge --help'");
  if (c->prefix[0] && shmbus_name_check(c->prefix) < 0)
    return usage_error("--prefix \"%s\" is not a valid start of a bus name ([A-Za-z0-9_.-], "
                       "not starting with '.')",
                       c->prefix);
  return 0;
}

/* Cyclone DDS stops its receive threads by sending them a packet; when the network interface
 * went away first, that never arrives and deleting the participant waits forever. The local
 * buses are closed by then: give DDS 5 s, then leave anyway. */
static void *shutdown_watchdog(void *arg) {
  (void)arg;
  sleep(5);
  bridge_log("DDS did not shut down within 5 s (network interface gone?); exiting anyway");
  _exit(1);
}

/* Where Debian keeps the security plugins: a directory next to libddsc ("libddsc0debian");
 * elsewhere they are on the library path under their plain names. */
static void plugin_path(const char *name, char *buf, size_t n) {
  Dl_info info;
  char *slash;
  struct stat st;
  if (dladdr((void *)dds_create_participant, &info) != 0 && info.dli_fname != NULL) {
    snprintf(buf, n, "%s", info.dli_fname);
    if ((slash = strrchr(buf, '/')) != NULL) {
      snprintf(slash, n - (size_t)(slash - buf), "/libddsc0debian/lib%s.so", name);
      if (stat(buf, &st) == 0) return;
    }
  }
  snprintf(buf, n, "%s", name);
}

/* Participant QoS carrying the DDS Security properties for the files in @dir; NULL (and a
 * message) when one of them is missing. */
static dds_qos_t *security_qos(const char *dir) {
  static const struct {
    const char *prop, *file;
  } files[] = {{DDS_SEC_PROP_AUTH_IDENTITY_CA, "identity_ca.pem"},
               {DDS_SEC_PROP_AUTH_IDENTITY_CERT, "identity.pem"},
               {DDS_SEC_PROP_AUTH_PRIV_KEY, "identity_key.pem"},
               {DDS_SEC_PROP_ACCESS_PERMISSIONS_CA, "permissions_ca.pem"},
               {DDS_SEC_PROP_ACCESS_GOVERNANCE, "governance.p7s"},
               {DDS_SEC_PROP_ACCESS_PERMISSIONS, "permissions.p7s"}};
  static const struct {
    const char *path, *init, *fini, *lib;
  } libs[] = {{DDS_SEC_PROP_AUTH_LIBRARY_PATH, DDS_SEC_PROP_AUTH_LIBRARY_INIT,
               DDS_SEC_PROP_AUTH_LIBRARY_FINALIZE, "dds_security_auth"},
              {DDS_SEC_PROP_ACCESS_LIBRARY_PATH, DDS_SEC_PROP_ACCESS_LIBRARY_INIT,
               DDS_SEC_PROP_ACCESS_LIBRARY_FINALIZE, "dds_security_ac"},
              {DDS_SEC_PROP_CRYPTO_LIBRARY_PATH, DDS_SEC_PROP_CRYPTO_LIBRARY_INIT,
               DDS_SEC_PROP_CRYPTO_LIBRARY_FINALIZE, "dds_security_crypto"}};
  static const char *inits[][2] = {{"init_authentication", "finalize_authentication"},
                                   {"init_access_control", "finalize_access_control"},
                                   {"init_crypto", "finalize_crypto"}};
  dds_qos_t *q = dds_create_qos();
  char buf[4200];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(buf, sizeof buf, "%s/%s", dir, files[i].file);
    if (access(buf, R_OK) != 0) {
      fprintf(stderr, "shmbridge: --security %s: cannot read %s: %s\n", dir, buf, strerror(errno));
      dds_delete_qos(q);
      return NULL;
    }
    snprintf(buf, sizeof buf, "file:%s/%s", dir, files[i].file);
    dds_qset_prop(q, files[i].prop, buf);
  }
  for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
    plugin_path(libs[i].lib, buf, sizeof buf);
    dds_qset_prop(q, libs[i].path, buf);
    dds_qset_prop(q, libs[i].init, inits[i][0]);
    dds_qset_prop(q, libs[i].fini, inits[i][1]);
  }
  return q;
}

static dds_entity_t join_domain(const struct bridge_config *c) {
  dds_qos_t *q = NULL;
  dds_entity_t p;
  if (c->security && (q = security_qos(c->security)) == NULL) return DDS_RETCODE_BAD_PARAMETER;
  p = dds_create_participant((dds_domainid_t)c->domain, q, NULL);
  dds_delete_qos(q);
  if (p < 0)
    fprintf(stderr,
            "shmbridge: cannot join DDS domain%s: %s; check CYCLONEDDS_URI (network "
            "interface, domain id)%s\n",
            c->security ? " with DDS Security" : "", dds_strretcode(p),
            c->security ? " and the security files (Cyclone DDS's message above says "
                          "which check failed)"
                        : "");
  return p;
}

static void status(struct bridge *b, FILE *f) {
  exporter_status(b, f);
  importer_status(b, f);
  fflush(f);
}

static void status_file(struct bridge *b) {
  char tmp[4096];
  FILE *f;
  snprintf(tmp, sizeof tmp, "%s~%d", b->cfg.status_file, (int)getpid());
  f = fopen(tmp, "w");
  if (f == NULL) return;
  status(b, f);
  fclose(f);
  if (rename(tmp, b->cfg.status_file) < 0) unlink(tmp); /* readers see whole files only */
}

int main(int argc, char **argv) {
  static struct bridge b;
  sigset_t sigs;
  struct timespec tick = {0, 200 * 1000 * 1000};
  uint64_t next_scan = 0, next_status = 0;
  int sig, rc;

  b.cfg.prefix = "";
  b.cfg.domain = DDS_DOMAIN_DEFAULT;
  b.cfg.depth = 1;
  b.cfg.mode = 0600;
  b.cfg.interval = 1.0;
  b.cfg.wait_mode = SHMBUS_WAIT_HYBRID;
  b.cfg.max_bus_bytes = BRIDGE_DEFAULT_MAX_BUS_BYTES;
  b.cfg.max_topics = BRIDGE_DEFAULT_MAX_TOPICS;
  if (parse(argc, argv, &b.cfg) < 0) return 2;
  /* A reader of our output that goes away (shmbridge -v | head) must not kill the bridge:
   * writes then fail with EPIPE, which logging ignores. */
  signal(SIGPIPE, SIG_IGN);

  /* Signals are taken synchronously by the main thread; every thread inherits the mask. */
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGUSR1);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);

  b.origin = bridge_host_id();
  b.participant = join_domain(&b.cfg);
  if (b.participant < 0) return 1;
  if (b.cfg.verbose)
    bridge_log("joined DDS domain%s", b.cfg.security
                                          ? " with DDS Security (authentication, "
                                            "access control, encryption as the governance says)"
                                          : " UNSECURED");
  if ((b.cfg.n_imports && (rc = importer_start(&b)) < 0) ||
      (b.cfg.n_exports && (rc = exporter_start(&b)) < 0)) {
    fprintf(stderr, "shmbridge: cannot start: %s\n", shmbus_strerror(rc));
    atomic_store(&b.stop, 1);
    importer_stop(&b);
    exporter_stop(&b);
    dds_delete(b.participant);
    return 1;
  }
  if (b.cfg.verbose)
    bridge_log("running: %d export and %d import pattern(s)", b.cfg.n_exports, b.cfg.n_imports);

  for (;;) {
    uint64_t now;
    sig = sigtimedwait(&sigs, NULL, &tick);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) break;
    if (sig == SIGUSR1) status(&b, stderr);
    now = bridge_now_ns();
    if (b.cfg.n_exports && now >= next_scan) {
      exporter_scan(&b);
      next_scan = now + 1000000000ull;
    }
    if (now >= next_status) {
      if (b.cfg.verbose) status(&b, stderr);
      if (b.cfg.status_file) status_file(&b);
      next_status = now + (uint64_t)(b.cfg.interval * 1e9);
    }
  }
  if (b.cfg.verbose) {
    bridge_log("stopping (signal %d); final status:", sig);
    status(&b, stderr);
  }
  if (b.cfg.status_file) status_file(&b); /* the last counts, before the entries go */
  {
    pthread_t wd;
    if (pthread_create(&wd, NULL, shutdown_watchdog, NULL) == 0) pthread_detach(wd);
  }
  atomic_store(&b.stop, 1);
  exporter_stop(&b);
  importer_stop(&b);
  dds_delete(b.participant);
  return 0;
}
