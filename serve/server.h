/* server.h - `shmbus serve`: a Foxglove WebSocket server over the buses, and its page
 * (serve/server.c over libwebsockets; serve/hub.h, serve/buses.h; docs/TOOLS.md). */
#ifndef SHMBUS_SERVE_SERVER_H
#define SHMBUS_SERVE_SERVER_H

struct serve_opts {
  const char *bind; /* listen address ("127.0.0.1") */
  int port;         /* 0: any free port */
  char **patterns;  /* buses served (globs); none: every bus */
  int npatterns;
  char **allow; /* buses clients may publish to (globs); none: client publishing off */
  int nallow;
  unsigned max_clients; /* WebSocket clients at once; more are refused */
  int quiet, verbose;
  const char *port_file; /* when not NULL: the port is written there once listening */
};

/* serve_run() - serve until SIGINT/SIGTERM (tool_stop). Return: 0; a negative errno (could not
 * listen, no memory). */
int serve_run(const struct serve_opts *o);

#endif /* SHMBUS_SERVE_SERVER_H */
