/* common.c - exit codes, actionable error messages, parsers, clocks and signals. */
#include "tools/common.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <sys/inotify.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/shmbus.h"

const char *tool_name = "shmbus";
volatile sig_atomic_t tool_stop;

void tool_msg(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", tool_name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

int tool_usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", tool_name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry '%s --help' for more information.\n", tool_name);
  return EXIT_USAGE;
}

int tool_name_suggest(const char *name, char *buf, size_t n) {
  size_t i, j = 0;
  while (*name == '/' || *name == '.') name++; /* "/robot1/imu" -> "robot1.imu" */
  for (i = 0; name[i] && j + 1 < n; i++) {
    char c = name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '.';
    buf[j++] = ok ? c : '.';
  }
  buf[j] = '\0';
  return j && shmbus_name_check(buf) == 0 ? 0 : -EINVAL;
}

int tool_name_error(const char *name) {
  char hint[SHMBUS_NAME_MAX + 64] = "", alt[SHMBUS_NAME_MAX + 1];
  if (shmbus_name_check(name) == -ENAMETOOLONG)
    return tool_usage_error("bus name too long (%zu characters; at most %d)", strlen(name),
                            SHMBUS_NAME_MAX);
  if (tool_name_suggest(name, alt, sizeof alt) == 0)
    snprintf(hint, sizeof hint, " (try '%s'%s)", alt,
             strchr(name, '/') ? ": a topic path like robot1/imu is written robot1.imu" : "");
  return tool_usage_error("invalid bus name '%s': a name is 1-%d characters of A-Z a-z 0-9 "
                          "_ . - and does not start with '.'%s",
                          name, SHMBUS_NAME_MAX, hint);
}

int tool_stdout_failed(void) {
  if (errno == EPIPE) exit(EXIT_OK);
  tool_msg("cannot write to stdout: %s", strerror(errno));
  return EXIT_ERROR;
}

int tool_flush_stdout(void) { return fflush(stdout) == 0 ? 0 : tool_stdout_failed(); }

/* The option getopt_long just rejected, as the user typed it. For an unknown short option
 * (optopt set) inside a cluster like "-xv", optind has not moved past the cluster, so
 * argv[optind - 1] is the previous argument: only optopt names it. */
int tool_bad_option(int c, char **argv) {
  char shortopt[3] = {'-', (char)optopt, 0}, longopt[64];
  const char *last = argv[optind - 1];
  int is_long =
      strncmp(last, "--", 2) == 0 && (c == ':' || optopt == 0 || strchr(last, '=') != NULL);
  if (is_long) /* as typed, without "=VALUE" */
    snprintf(longopt, sizeof longopt, "%.*s", (int)strcspn(last, "="), last);
  if (c == ':')
    return tool_usage_error("option '%s' needs an argument", is_long ? longopt : shortopt);
  if (is_long && optopt) return tool_usage_error("option '%s' takes no argument", longopt);
  return tool_usage_error("unknown option '%s'", is_long ? longopt : shortopt);
}

void text_safe(FILE *f, const char *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f && c != '\\') fputc(c, f);
    else fprintf(f, "\\x%02x", c);
  }
}

void tool_safe_str(const char *s, char *buf, size_t n) {
  FILE *f = fmemopen(buf, n, "w");
  if (f == NULL) {
    snprintf(buf, n, "?");
    return;
  }
  setbuf(f, NULL);
  text_safe(f, s, strlen(s));
  fclose(f);
  buf[n - 1] = '\0'; /* when it filled the buffer */
}

int tool_in_group(gid_t gid) {
  gid_t *groups;
  int n, i, in = 0;
  if (geteuid() == 0 || getegid() == gid) return 1;
  n = getgroups(0, NULL);
  if (n <= 0 || (groups = calloc((size_t)n, sizeof *groups)) == NULL) return 0;
  n = getgroups(n, groups);
  for (i = 0; i < n && !in; i++) in = groups[i] == gid;
  free(groups);
  return in;
}

void tool_pacer_init(struct tool_pacer *p, double hz) {
  p->period = hz > 0 ? (int64_t)(1e9 / hz) : 0;
  p->next = 0;
  p->started = 0;
}

int64_t tool_pacer_due(struct tool_pacer *p, int64_t now) {
  int64_t due = p->next;
  if (p->period == 0) return now;
  if (!p->started || now - p->next >= p->period) due = now; /* first, or a stall: no burst */
  p->started = 1;
  p->next = due + p->period; /* late by less than a period: the mean rate stays HZ */
  return due > now ? due : now;
}

int tool_exit_code(int err) {
  switch (err < 0 ? -err : err) {
    case 0: return EXIT_OK;
    case ENOENT: return EXIT_NOBUS;
    case ETIMEDOUT: return EXIT_TIMEOUT;
    case EACCES:
    case EPERM: return EXIT_PERM;
    case EBUSY: return EXIT_BUSY;
    case EINVAL:
    case ENAMETOOLONG: return EXIT_USAGE;
    default: return EXIT_ERROR;
  }
}

/* "owned by alice (uid 1000), group staff, mode 0600" for the bus's records object. */
static void describe_owner(const char *bus, char *buf, size_t n) {
  char path[256], user[64], group[64];
  struct stat st;
  if (shmbus_path(bus, path, sizeof path) < 0 || stat(path, &st) < 0) {
    snprintf(buf, n, "its owner is unknown");
    return;
  }
  fmt_user(st.st_uid, user, sizeof user);
  fmt_group(st.st_gid, group, sizeof group);
  snprintf(buf, n, "%s is owned by %s (uid %u), group %s, mode %04o", path, user,
           (unsigned)st.st_uid, group, (unsigned)(st.st_mode & 07777));
}

/* Permission refused (@err -EACCES or -EPERM) to @what bus @b. */
static void explain_permission(const char *what, const char *b, int err, int hints) {
  char owner[512], me[64];
  describe_owner(b, owner, sizeof owner);
  fmt_user(geteuid(), me, sizeof me);
  if (hints & HINT_REMOVE)
    tool_msg("cannot remove bus '%s': permission denied for %s; %s. Only its owner (or "
             "root) can remove it.",
             b, me, owner);
  else if (err == -EACCES && !(hints & HINT_WRITER)) /* a reader: the writer can grant it */
    tool_msg("cannot %s bus '%s': permission denied for %s; %s. Its writer can grant read "
             "access with 'shmpub --mode 0644' (everyone) or '--mode 0640 --group GROUP'.",
             what, b, me, owner);
  else /* EPERM, or a writer refused: a writer needs to own the bus */
    tool_msg("cannot %s bus '%s': it belongs to another user (%s; you are %s). Only its owner "
             "can publish on it: pick another name, or have its owner remove it with "
             "'shmbus rm %s'.",
             what, b, owner, me, b);
}

/* Another live writer holds bus @bus (EBUSY). */
static void explain_busy(const char *what, const char *bus, int hints) {
  const char *b = bus ? bus : "";
  pid_t pid = bus ? shmbus_lock_holder(bus) : 0;
  char who[64] = "another live writer holds it";
  if (pid > 0) snprintf(who, sizeof who, "its writer (pid %d) is still running", (int)pid);
  if (hints & HINT_REMOVE)
    tool_msg("cannot remove bus '%s': %s. Stop the writer first, or use --force (the writer "
             "and the readers then see the bus vanish).",
             b, who);
  else
    tool_msg("cannot %s bus '%s': %s, and a bus has one writer at a time. Stop that process "
             "first, or publish on another bus.",
             what, b, who);
}

/* Bus @bus has a layout this library does not read (EPROTONOSUPPORT). */
static void explain_layout(const char *what, const char *bus) {
  const char *b = bus ? bus : "";
  int v = bus ? shmbus_bus_layout(bus) : -ENOENT;
  char has[48] = "another layout version";
  if (v > 0) snprintf(has, sizeof has, "layout version %d", v);
  tool_msg("cannot %s bus '%s': it was made by an incompatible shmbus version (%s; this "
           "shmbus %s reads layout versions %d to %d). Use the tools of that version, or "
           "remove it with 'shmbus rm %s'.",
           what, b, has, shmbus_version(), SHMBUS_LAYOUT_VERSION_MIN, SHMBUS_LAYOUT_VERSION, b);
}

int tool_fail(const char *what, const char *bus, int err, int hints) {
  const char *b = bus ? bus : "";
  switch (-err) {
    case ENOENT:
      tool_msg("cannot %s bus '%s': no such bus. List the buses with 'shmbus ls'%s.", what, b,
               (hints & HINT_WAIT_FOR_BUS) ? ", or add --wait-for-bus to wait until it exists"
                                           : "");
      break;
    case EACCES:
    case EPERM: explain_permission(what, b, err, hints); break;
    case EINVAL:
    case ENAMETOOLONG:
      if (bus && shmbus_name_check(bus) < 0) return tool_name_error(bus);
      tool_msg("cannot %s bus '%s': %s.", what, b, shmbus_strerror(err));
      break;
    case EBUSY: explain_busy(what, bus, hints); break;
    case EPROTO:
      tool_msg("cannot %s bus '%s': /dev/shm/shmbus.%s is not a shmbus bus, or it is corrupt. "
               "Remove it with 'shmbus rm --force %s' if nothing uses it.",
               what, b, b, b);
      break;
    case EPROTONOSUPPORT: explain_layout(what, bus); break;
    case ENOSPC:
      tool_msg("cannot %s bus '%s': /dev/shm is full. Remove unused buses ('shmbus ls', "
               "'shmbus rm NAME'), choose a smaller --capacity or --slots, or enlarge /dev/shm.",
               what, b);
      break;
    case ESTALE: tool_msg("bus '%s' was replaced or removed while in use (%s).", b, what); break;
    default: tool_msg("cannot %s bus '%s': %s.", what, b, shmbus_strerror(err)); break;
  }
  return tool_exit_code(err);
}

int parse_u64(const char *s, uint64_t *out) {
  char *end;
  unsigned long long v;
  if (s == NULL || *s < '0' || *s > '9') return -EINVAL;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno) return -ERANGE;
  if (*end) return -EINVAL;
  *out = v;
  return 0;
}

int parse_size(const char *s, uint64_t *out) {
  char *end;
  unsigned long long v, mul = 1;
  if (s == NULL || *s < '0' || *s > '9') return -EINVAL;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno) return -ERANGE;
  if (*end) {
    switch (*end == 'k' ? 'K' : *end) {
      case 'K': mul = 1ull << 10; break;
      case 'M': mul = 1ull << 20; break;
      case 'G': mul = 1ull << 30; break;
      default: return -EINVAL;
    }
    end++;
    if (strcmp(end, "") != 0 && strcmp(end, "B") != 0 && strcmp(end, "iB") != 0) return -EINVAL;
  }
  if (v > UINT64_MAX / mul) return -ERANGE;
  *out = v * mul;
  return 0;
}

int parse_seconds(const char *s, double *out) {
  char *end;
  double v;
  if (s == NULL || *s == '\0') return -EINVAL;
  errno = 0;
  v = strtod(s, &end);
  if (errno || *end || !isfinite(v) || v <= 0) return -EINVAL;
  if (v > TOOL_MAX_SECONDS) return -ERANGE;
  *out = v;
  return 0;
}

int parse_mode(const char *s, mode_t *out) {
  char *end;
  unsigned long v;
  if (s == NULL || *s < '0' || *s > '7') return -EINVAL;
  v = strtoul(s, &end, 8);
  if (*end || v > 07777) return -EINVAL;
  *out = (mode_t)v;
  return 0;
}

int parse_group(const char *s, gid_t *out) {
  struct group *g = getgrnam(s);
  uint64_t v;
  if (g) {
    *out = g->gr_gid;
    return 0;
  }
  if (parse_u64(s, &v) == 0 && v < (gid_t)-1) {
    *out = (gid_t)v;
    return 0;
  }
  return -EINVAL;
}

int64_t now_realtime_ns(void) { return shmbus__now(CLOCK_REALTIME); }
int64_t now_monotonic_ns(void) { return shmbus__now(CLOCK_MONOTONIC); }

void fmt_time_iso(int64_t ns, char *buf, size_t n) {
  time_t sec = (time_t)(ns / 1000000000LL);
  struct tm tm;
  char day[32];
  gmtime_r(&sec, &tm);
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, n, "%s.%06dZ", day, (int)((ns % 1000000000LL) / 1000));
}

void fmt_duration(double s, char *buf, size_t n) {
  double a = fabs(s);
  if (a < 1e-6) snprintf(buf, n, "%.0fns", s * 1e9);
  else if (a < 1e-3) snprintf(buf, n, "%.1fus", s * 1e6);
  else if (a < 1) snprintf(buf, n, "%.2fms", s * 1e3);
  else if (a < 120) snprintf(buf, n, "%.2fs", s);
  else if (a < 7200) snprintf(buf, n, "%.0fmin", s / 60);
  else if (a < 172800) snprintf(buf, n, "%.0fh", s / 3600);
  else snprintf(buf, n, "%.0fd", s / 86400);
}

void fmt_bytes(uint64_t b, char *buf, size_t n) {
  if (b < 1024) snprintf(buf, n, "%llu B", (unsigned long long)b);
  else if (b < (1ull << 20)) snprintf(buf, n, "%.4g KiB", b / 1024.0);
  else if (b < (1ull << 30)) snprintf(buf, n, "%.4g MiB", b / 1048576.0);
  else snprintf(buf, n, "%.4g GiB", b / 1073741824.0);
}

void fmt_user(uid_t uid, char *buf, size_t n) {
  struct passwd *p = getpwuid(uid);
  if (p) snprintf(buf, n, "%s", p->pw_name);
  else snprintf(buf, n, "%u", (unsigned)uid);
}

void fmt_group(gid_t gid, char *buf, size_t n) {
  struct group *g = getgrgid(gid);
  if (g) snprintf(buf, n, "%s", g->gr_name);
  else snprintf(buf, n, "%u", (unsigned)gid);
}

static void on_signal(int sig) {
  if (tool_stop) { /* the second signal: the user insists */
    signal(sig, SIG_DFL);
    raise(sig);
  }
  tool_stop = 1;
}

void tool_install_signals(int restart) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

void tool_sleep_until(int64_t deadline_ns) {
  /* nanosleep() in slices of at most 100 ms: a signal ends the sleep (EINTR) and tool_stop is
   * seen; and where a signal is delivered late (ThreadSanitizer runs handlers at its next
   * intercepted call, and nanosleep is one), within a slice. */
  int64_t left;
  while (!tool_stop && (left = deadline_ns - now_monotonic_ns()) > 0) {
    struct timespec ts;
    if (left > 100000000LL) left = 100000000LL;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)left;
    nanosleep(&ts, NULL);
  }
}

int tool_version(void) {
  printf("%s (shmbus) %s\n", tool_name, shmbus_version());
  return EXIT_OK;
}

int shm_watch_open(void) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return -1;
  if (inotify_add_watch(fd, "/dev/shm", IN_CREATE | IN_MOVED_TO) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void shm_watch_wait(int fd, int64_t max_ns) {
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  struct pollfd p = {fd, POLLIN, 0};
  if (fd < 0) {
    tool_sleep_until(now_monotonic_ns() + max_ns);
    return;
  }
  if (poll(&p, 1, (int)(max_ns / 1000000 + 1)) > 0)
    while (read(fd, buf, sizeof buf) > 0) { /* drain: the caller simply tries to open again */
    }
}
