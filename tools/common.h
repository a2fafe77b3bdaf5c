/* common.h - what shmpub, shmsub and shmbus share: exit codes, error messages a user can act
 * on, option parsing, clocks and signals. The tools are thin over core/shmbus.h. */
#ifndef SHMBUS_TOOLS_COMMON_H
#define SHMBUS_TOOLS_COMMON_H

#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

/* The longest time option (-W, -i, and 1 / -r HZ): about 11.6 days. Bounded so that times in
 * nanoseconds never overflow an int64_t. */
#define TOOL_MAX_SECONDS 1e6

/* Exit codes, the same in all three tools (documented in --help and the man pages). */
enum {
  EXIT_OK = 0,
  EXIT_ERROR = 1,   /* runtime error not listed below */
  EXIT_USAGE = 2,   /* bad option, argument or bus name */
  EXIT_NOBUS = 3,   /* no such bus */
  EXIT_TIMEOUT = 4, /* shmsub -W: no record in time */
  EXIT_PERM = 5,    /* permission denied, or the bus belongs to another user */
  EXIT_BUSY = 6,    /* another live writer holds the bus */
};

#define TOOLS_EXIT_CODES                                                            \
  "Exit status:\n"                                                                  \
  "  0  success            1  runtime error        2  usage error (option, name)\n" \
  "  3  no such bus        4  timeout (shmsub -W)  5  permission denied\n"          \
  "  6  bus busy (another live writer)\n"

/* The program name for messages ("shmpub", ...). Set once in main(). */
extern const char *tool_name;

/* tool_msg() - "NAME: " + printf to stderr + newline. */
void tool_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Hints that tool_fail() may add to an error message. */
enum { HINT_WAIT_FOR_BUS = 1, HINT_WRITER = 2, HINT_REMOVE = 4 };

/* tool_fail() - explain negative errno @err from an operation on bus @bus (NULL: none) in a
 * sentence that says what to do, on stderr. @what says what was attempted ("open", ...).
 * Return: the exit code that belongs to @err. */
int tool_fail(const char *what, const char *bus, int err, int hints);

/* tool_exit_code() - the exit code for negative errno @err. */
int tool_exit_code(int err);

/* tool_name_error() - report invalid bus name @name as a usage error. Return: EXIT_USAGE. */
int tool_name_error(const char *name);

/* tool_usage_error() - "NAME: MSG\nTry 'NAME --help'." on stderr. Return: EXIT_USAGE. */
int tool_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tool_bad_option() - report what getopt_long (opterr = 0, optstring starting with ':')
 * returned as @c ('?' unknown, ':' missing argument) for @argv. Return: EXIT_USAGE. */
int tool_bad_option(int c, char **argv);

/* Parsers: 0 or -EINVAL/-ERANGE (the caller reports a usage error). */
int parse_u64(const char *s, uint64_t *out);   /* decimal */
int parse_size(const char *s, uint64_t *out);  /* 64, 4k, 64KiB, 1M, 1G */
int parse_seconds(const char *s, double *out); /* > 0, <= TOOL_MAX_SECONDS */
int parse_mode(const char *s, mode_t *out);    /* octal */
int parse_group(const char *s, gid_t *out);    /* name or number */

/* Clocks in nanoseconds. */
int64_t now_realtime_ns(void);
int64_t now_monotonic_ns(void);

/* Formatting of times and owners, into caller buffers. */
void fmt_time_iso(int64_t ns, char *buf, size_t n);     /* 2026-11-26T17:10:00.123456Z */
void fmt_duration(double seconds, char *buf, size_t n); /* 12.3us, 4.5ms, 2.0s, 3h */
void fmt_bytes(uint64_t bytes, char *buf, size_t n);    /* 512 B, 64 KiB, 1.5 MiB */
void fmt_user(uid_t uid, char *buf, size_t n);
void fmt_group(gid_t gid, char *buf, size_t n);

/* tool_install_signals() - SIGINT/SIGTERM/SIGHUP set tool_stop; a second one ends the process
 * at once (default action). @restart: SA_RESTART, so a blocked write to stdout completes
 * instead of failing with EINTR and losing output (shmsub: its waits have timeouts and see
 * tool_stop anyway); without it a blocked read returns EINTR (shmpub reading stdin). SIGPIPE
 * is ignored, so a closed stdout shows up as EPIPE from a write. */
extern volatile sig_atomic_t tool_stop;
void tool_install_signals(int restart);

/* Pacing at most HZ publishes per second: the k-th is due at start + k / HZ, so the mean
 * rate is HZ; a publisher late by a whole period or more (a stdin stall) restarts the schedule
 * from now instead of publishing a burst to catch up. */
struct tool_pacer {
  int64_t next, period; /* CLOCK_MONOTONIC ns; period 0: no pacing */
  int started;
};
void tool_pacer_init(struct tool_pacer *p, double hz); /* hz 0: no pacing */
/* tool_pacer_due() - given it is @now, when the next publish may happen (>= @now); advances
 * the schedule. */
int64_t tool_pacer_due(struct tool_pacer *p, int64_t now);

/* text_safe() - @s (@n bytes) to @f for a terminal: printable ASCII as is, every other byte
 * as \xNN (a hostile type tag cannot send escape sequences). */
void text_safe(FILE *f, const char *s, size_t n);

/* tool_safe_str() - @s as text_safe() writes it, into @buf (truncated to @n). */
void tool_safe_str(const char *s, char *buf, size_t n);

/* tool_in_group() - 1 if this process may give a file group @gid (root, or a member). */
int tool_in_group(gid_t gid);

/* tool_name_suggest() - a valid bus name close to invalid @name ('/' and other characters
 * become '.'), into @buf; 0, or -EINVAL when there is none. */
int tool_name_suggest(const char *name, char *buf, size_t n);

/* tool_sleep_until() - sleep until CLOCK_MONOTONIC @deadline_ns or until tool_stop. */
void tool_sleep_until(int64_t deadline_ns);

/* Waiting for a bus to appear: inotify on /dev/shm (creations and renames), so a waiting reader
 * opens a new bus within microseconds; the caller retries after every wakeup or @max_ns. */
int shm_watch_open(void);                    /* a descriptor, or -1 (then just sleep) */
void shm_watch_wait(int fd, int64_t max_ns); /* until something appears, max_ns, tool_stop */

/* tool_stdout_failed() - the one policy for a write or flush of stdout that failed (errno):
 * a reader that left (EPIPE: `shmsub B | head -1`) means the output is over, and the tool
 * ends at once with EXIT_OK; any other error is reported. Return: EXIT_ERROR. */
int tool_stdout_failed(void);

/* tool_flush_stdout() - fflush(stdout), a failure handled by tool_stdout_failed().
 * Return: 0, or EXIT_ERROR. */
int tool_flush_stdout(void);

/* tool_version() - print "NAME (shmbus) VERSION" to stdout. Return: EXIT_OK. */
int tool_version(void);

#endif /* SHMBUS_TOOLS_COMMON_H */
