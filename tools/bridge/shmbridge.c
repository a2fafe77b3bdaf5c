/* shmbridge.c - bridge shmbus buses to other hosts over Cyclone DDS: options, signals, status.
 * See bridge.h for the design and docs/DEPLOYMENT.md for its use. */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "dds/security/dds_security_api_defs.h"
#include "tools/bridge/bridge.h"

static const char usage[] =
    "Usage: shmbridge [OPTIONS] [-e PATTERN]... [-i PATTERN]...\n"
    "Bridge shmbus buses to other hosts over Cyclone DDS (topic \"shmbus/NAME\").\n"
    "\n"
    "  -e, --export PATTERN   publish local buses matching PATTERN (a glob) on DDS\n"
    "  -i, --import PATTERN   republish remote buses matching PATTERN on local buses\n"
    "  -p, --prefix STR       name imported buses STR + remote name (default: same name)\n"
    "  -d, --domain ID        DDS domain id (default: CYCLONEDDS_URI's, else 0)\n"
    "  -b, --best-effort      best-effort delivery (default: reliable)\n"
    "      --volatile         no transient-local copy for late joiners\n"
    "      --depth N          DDS history depth (keep-last N; default 1, as a bus)\n"
    "  -w, --wait MODE        how exporters wait for records: hybrid (default: spin ~20 us,\n"
    "                         then sleep), sleep, or spin (lowest latency, a core per bus)\n"
    "  -m, --mode MODE        permission of imported buses: 0600 (default), 0640, 0644\n"
    "  -P, --export-private PATTERN  export matching buses even when they are not\n"
    "                         world-readable (default: only buses every user can read)\n"
    "      --max-bus-bytes N  largest bus an import may create, in bytes (K, M, G suffixes;\n"
    "                         default 64M): slots x capacity as the remote asks\n"
    "      --max-topics N     most topics imported (default 64; counted until a restart)\n"
    "  -S, --security DIR     DDS Security: authenticate, check permissions and encrypt with\n"
    "                         DIR/{identity_ca.pem,identity.pem,identity_key.pem,\n"
    "                         permissions_ca.pem,governance.p7s,permissions.p7s}\n"
    "      --allow-same-host  import records exported from this host too (tests, renaming)\n"
    "  -s, --status FILE      rewrite FILE with the status lines every interval\n"
    "  -t, --interval SEC     seconds between status updates (default 1; with -v: lines)\n"
    "  -v, --verbose          log subscriptions, and a status line every interval\n"
    "  -h, --help             this text\n"
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

static int parse(int argc, char **argv, struct bridge_config *c) {
  enum { VOLATILE = 256, DEPTH, SAME_HOST, MAX_BYTES, MAX_TOPICS };
  static const struct option longs[] = {{"export", required_argument, NULL, 'e'},
                                        {"import", required_argument, NULL, 'i'},
                                        {"prefix", required_argument, NULL, 'p'},
                                        {"domain", required_argument, NULL, 'd'},
                                        {"best-effort", no_argument, NULL, 'b'},
                                        {"volatile", no_argument, NULL, VOLATILE},
                                        {"depth", required_argument, NULL, DEPTH},
                                        {"mode", required_argument, NULL, 'm'},
                                        {"allow-same-host", no_argument, NULL, SAME_HOST},
                                        {"status", required_argument, NULL, 's'},
                                        {"interval", required_argument, NULL, 't'},
                                        {"verbose", no_argument, NULL, 'v'},
                                        {"wait", required_argument, NULL, 'w'},
                                        {"export-private", required_argument, NULL, 'P'},
                                        {"max-bus-bytes", required_argument, NULL, MAX_BYTES},
                                        {"max-topics", required_argument, NULL, MAX_TOPICS},
                                        {"security", required_argument, NULL, 'S'},
                                        {"help", no_argument, NULL, 'h'},
                                        {NULL, 0, NULL, 0}};
  char *end;
  int o;
  while ((o = getopt_long(argc, argv, "e:i:p:d:bm:s:t:vw:P:S:h", longs, NULL)) != -1) {
    switch (o) {
    case 'e':
    case 'i':
      if ((o == 'e' ? c->n_exports : c->n_imports) == BRIDGE_MAX_PATTERNS) {
        fprintf(stderr, "shmbridge: at most %d patterns per direction\n", BRIDGE_MAX_PATTERNS);
        return -1;
      }
      if (o == 'e') c->exports[c->n_exports++] = optarg;
      else c->imports[c->n_imports++] = optarg;
      break;
    case 'p': c->prefix = optarg; break;
    case 'P':
      if (c->n_privates == BRIDGE_MAX_PATTERNS) {
        fprintf(stderr, "shmbridge: at most %d --export-private patterns\n", BRIDGE_MAX_PATTERNS);
        return -1;
      }
      c->privates[c->n_privates++] = optarg;
      break;
    case 'S': c->security = optarg; break;
    case MAX_BYTES:
      if ((c->max_bus_bytes = parse_bytes(optarg)) < 4096 + 2 * 128) {
        fprintf(stderr,
                "shmbridge: --max-bus-bytes takes a size of at least 4352 bytes "
                "(digits, then K, M or G)\n");
        return -1;
      }
      break;
    case MAX_TOPICS:
      c->max_topics = (int)strtol(optarg, &end, 10);
      if (*end || c->max_topics < 1 || c->max_topics > 100000) {
        fprintf(stderr, "shmbridge: --max-topics takes a number from 1 to 100000\n");
        return -1;
      }
      break;
    case 'd':
      c->domain = (int)strtol(optarg, &end, 10);
      if (*end || c->domain < 0 || c->domain > 232) {
        fprintf(stderr, "shmbridge: --domain takes a number from 0 to 232\n");
        return -1;
      }
      break;
    case 'b': c->best_effort = 1; break;
    case VOLATILE: c->volatile_durability = 1; break;
    case DEPTH:
      c->depth = (int)strtol(optarg, &end, 10);
      if (*end || c->depth < 1 || c->depth > 100000) {
        fprintf(stderr, "shmbridge: --depth takes a number from 1 to 100000\n");
        return -1;
      }
      break;
    case 'm':
      c->mode = (mode_t)strtol(optarg, &end, 8);
      if (*end || (c->mode != 0600 && c->mode != 0640 && c->mode != 0644)) {
        fprintf(stderr, "shmbridge: --mode is 0600, 0640 or 0644\n");
        return -1;
      }
      break;
    case SAME_HOST: c->allow_same_host = 1; break;
    case 's': c->status_file = optarg; break;
    case 't':
      c->interval = strtod(optarg, &end);
      if (*end || !(c->interval >= 0.05 && c->interval <= 86400)) {
        fprintf(stderr, "shmbridge: --interval takes seconds from 0.05 to 86400\n");
        return -1;
      }
      break;
    case 'v': c->verbose = 1; break;
    case 'w':
      if (strcmp(optarg, "hybrid") == 0) c->wait_mode = SHMBUS_WAIT_HYBRID;
      else if (strcmp(optarg, "sleep") == 0) c->wait_mode = SHMBUS_WAIT_SLEEP;
      else if (strcmp(optarg, "spin") == 0) c->wait_mode = SHMBUS_WAIT_SPIN;
      else {
        fprintf(stderr, "shmbridge: --wait is hybrid, sleep or spin\n");
        return -1;
      }
      break;
    case 'h': fputs(usage, stdout); exit(0);
    default: fputs("Try 'shmbridge --help'.\n", stderr); return -1;
    }
  }
  if (optind != argc || c->n_exports + c->n_imports == 0) {
    fprintf(stderr, "shmbridge: give at least one --export or --import pattern, and nothing "
                    "else; try 'shmbridge --help'\n");
    return -1;
  }
  if (c->prefix[0] && shmbus_name_check(c->prefix) < 0) {
    fprintf(stderr, "shmbridge: --prefix \"%s\" is not a valid start of a bus name "
                    "([A-Za-z0-9_.-], not starting with '.')\n", c->prefix);
    return -1;
  }
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
