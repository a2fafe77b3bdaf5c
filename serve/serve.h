/* serve.h - `shmbus serve` (serve/cli.c): the subcommand's entry point for tools/shmbus.c. */
#ifndef SHMBUS_SERVE_SERVE_H
#define SHMBUS_SERVE_SERVE_H

/* cmd_serve() - the subcommand's own argv (argv[0] = "serve"). Return: an exit code. */
int cmd_serve(int argc, char **argv);

#endif /* SHMBUS_SERVE_SERVE_H */
