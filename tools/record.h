/* record.h - the MCAP subcommands of `shmbus`: record, play, info (tools/record.c, play.c). */
#ifndef SHMBUS_TOOLS_RECORD_H
#define SHMBUS_TOOLS_RECORD_H

/* Each takes the subcommand's own argv (argv[0] = "record", ...) and returns an exit code. */
int cmd_record(int argc, char **argv);
int cmd_play(int argc, char **argv);
int cmd_info(int argc, char **argv);

#endif /* SHMBUS_TOOLS_RECORD_H */
