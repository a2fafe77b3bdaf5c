/* cli.c - `shmbus serve`: options, the warning for a non-local address, then serve_run(). */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "serve/server.h"
#include "serve/serve.h"
#include "tools/common.h"

static const char usage[] =
    "Usage: shmbus serve [options] [BUS|GLOB ...]\n"
    "Serve the matching buses (default: every bus this user may read) over the Foxglove\n"
    "WebSocket protocol (foxglove.websocket.v1: Foxglove, Lichtblick, @foxglove/ws-protocol),\n"
    "with a page of its own at http://ADDR:PORT/. Buses that appear later are advertised,\n"
    "replaced ones advertised anew, removed ones unadvertised. Runs until SIGINT/SIGTERM.\n"
    "\n"
    "  -b, --bind ADDR           listen address (default 127.0.0.1: this machine only)\n"
    "  -p, --port PORT           TCP port (default 8765; 0: any free port)\n"
    "      --allow-publish BUS|GLOB  clients may publish to these buses (repeatable; default:\n"
    "                            no client publishing)\n"
    "      --max-clients N       WebSocket clients at once (default 64); more are refused\n"
    "      --port-file FILE      write the port there once listening (for scripts)\n"
    "  -v, --verbose             a line per client connecting and leaving\n"
    "  -q, --quiet               no messages but errors\n"
    "  -h, --help                this help\n"
    "\n"
    "Typed C-struct buses are sent as CDR with their OMG IDL schema; buses with another\n"
    "schema as they are; untyped buses as raw bytes (encoding 'x-shmbus-raw'). A slow client\n"
    "gets the newest record of each subscription and the rest counted as dropped: it never\n"
    "slows a writer or another client. The channel '/shmbus/buses' (JSON, once a second)\n"
    "lists the buses (rate, writer, readers) and the clients (records sent, dropped).\n"
    "\n"
    "Examples:\n"
    "  shmbus serve                        every bus, on ws://127.0.0.1:8765\n"
    "  shmbus serve 'imu*' camera.left     a glob and a name\n"
    "  shmbus serve --allow-publish 'cmd.*'\n"
    "\n" TOOLS_EXIT_CODES;

/* A loopback address: nobody else can connect. */
static int local_only(const char *a) {
  return !strncmp(a, "127.", 4) || !strcmp(a, "::1") || !strcmp(a, "localhost");
}

int cmd_serve(int argc, char **argv) {
  static const struct option longs[] = {
      {"bind", 1, 0, 'b'},        {"port", 1, 0, 'p'},      {"allow-publish", 1, 0, 'A'},
      {"max-clients", 1, 0, 'M'}, {"port-file", 1, 0, 'F'}, {"verbose", 0, 0, 'v'},
      {"quiet", 0, 0, 'q'},       {"help", 0, 0, 'h'},      {0, 0, 0, 0}};
  struct serve_opts o;
  uint64_t v;
  int c, i, rc;
  memset(&o, 0, sizeof o);
  o.bind = "127.0.0.1";
  o.port = 8765;
  o.max_clients = 64;
  if ((o.allow = calloc((size_t)argc + 1, sizeof *o.allow)) == NULL) return EXIT_ERROR;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":b:p:vqh", longs, NULL)) != -1) {
    if (c == 'b') o.bind = optarg;
    else if (c == 'p' && (parse_u64(optarg, &v) < 0 || v > 65535)) {
      free(o.allow);
      return tool_usage_error("--port wants 0..65535, not '%s'", optarg);
    } else if (c == 'p') o.port = (int)v;
    else if (c == 'A') o.allow[o.nallow++] = optarg;
    else if (c == 'M' && (parse_u64(optarg, &v) < 0 || v == 0 || v > 10000)) {
      free(o.allow);
      return tool_usage_error("--max-clients wants 1..10000, not '%s'", optarg);
    } else if (c == 'M') o.max_clients = (unsigned)v;
    else if (c == 'F') o.port_file = optarg;
    else if (c == 'v') o.verbose = 1;
    else if (c == 'q') o.quiet = 1;
    else if (c == 'h') {
      free(o.allow);
      fputs(usage, stdout);
      return EXIT_OK;
    } else if (c == ':' || c == '?') {
      free(o.allow);
      return tool_bad_option(c, argv);
    }
  }
  o.patterns = argv + optind;
  o.npatterns = argc - optind;
  for (i = 0; i < o.nallow; i++) /* a plain name must be valid; a glob may be anything */
    if (!strpbrk(o.allow[i], "*?[") && shmbus_name_check(o.allow[i]) < 0) {
      free(o.allow);
      return tool_name_error(o.allow[i]);
    }
  if (o.bind[0] == 0) {
    free(o.allow);
    return tool_usage_error("--bind wants an address");
  }
  if (!local_only(o.bind)) {
    struct passwd *pw = getpwuid(geteuid());
    tool_msg("warning: listening on %s: anyone who can reach it can read every bus user %s "
             "can read%s; there is no authentication and no encryption",
             o.bind, pw ? pw->pw_name : "(this user)",
             o.nallow ? ", and publish to the --allow-publish buses" : "");
  }
  tool_install_signals(0); /* SIGINT/SIGTERM end the event loop's wait */
  rc = serve_run(&o);
  free(o.allow);
  return rc < 0 ? EXIT_ERROR : EXIT_OK;
}
