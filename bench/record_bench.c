/* record_bench.c - `shmbus record` and `shmbus play` under a robot's load (issue 15).
 *
 *   record_bench [--duration SEC] [--buses N] [--hz HZ] [--size BYTES] [--slots N]
 *                [--camera-hz HZ] [--camera-size BYTES] [--camera-slots N]
 *                [--compression zstd|lz4|none] [--shmbus PATH] [--out DIR] [--no-play]
 *                [--drain-interval MS]
 *
 * 1. Creates N buses (default 10) of SIZE bytes (64) with --slots (default 1024, what
 *    docs/TOOLS.md recommends: a second of records) and one "camera" bus of 1 MiB records
 *    (--camera-slots, default 32: a second at 30 Hz).
 * 2. Starts `shmbus record -q --compression zstd -o DIR/rec.mcap BUS...` (with
 *    --drain-interval MS: the recorder drains on that timer) and waits until it
 *    is a registered reader of every bus (shmbus_readers()).
 * 3. Publishes for --duration seconds from one thread, on an absolute schedule: each small bus
 *    at HZ (1000), staggered across the period, the camera at 30 Hz with fresh pseudo-random
 *    bytes (incompressible, the worst case for zstd). Each record starts with its number and
 *    its bus's index.
 * 4. The recorder's CPU share: utime + stime from /proc/PID/stat over the publishing wall
 *    time. Then waits until its cursor reached every bus's latest record, stops it with
 *    SIGINT (the file is finished), and reads the file back (mcap/): records per bus, lost
 *    (published and not in the file; and what the recorder itself counted on /shmbus/lost),
 *    MB written per second of recording.
 * 5. Plays the file (`shmbus play -q --topics ...`) onto the same buses (play adopts them:
 *    same geometry) while one C subscriber thread per bus stamps every arrival with
 *    CLOCK_MONOTONIC. Timing error of each played record: (arrival - recorded log_time)
 *    minus the median of that difference over all records (play's start offset), and per
 *    bus the error of each interval between consecutive records; the same with the played
 *    records' publish timestamps instead of arrivals (play's pacing without the wakeup).
 *
 * Output: DIR/results.md, DIR/results.csv (bench/README.md's columns; rows below), and one
 * line "SUMMARY key=value ..." on stdout. Exit status: 0; 1 when a step failed (a lost
 * record is reported, not a failure: this is a benchmark).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/hist.h"
#include "bench/report.h"
#include "core/shmbus.h"
#include "mcap/mcap.h"

#define MAX_BUSES 65

struct opts {
  double duration;
  int buses;
  double hz, camera_hz;
  size_t size, camera_size;
  unsigned slots, camera_slots;
  const char *compression, *shmbus, *out;
  const char *drain; /* --drain-interval MS for the recorder, or NULL */
  int play;
};
static struct opts o = {.duration = 2,
                        .buses = 10,
                        .hz = 1000,
                        .camera_hz = 30,
                        .size = 64,
                        .camera_size = 1048576,
                        .slots = 1024,
                        .camera_slots = 32,
                        .compression = "zstd",
                        .shmbus = "tools/shmbus",
                        .out = "bench/out/record",
                        .play = 1};

struct bus {
  char name[64];
  int idx;
  size_t size;
  double hz;
  unsigned slots;
  shmbus_pub *pub;
  uint64_t published;
  int64_t next_ns;
  /* from the file */
  uint64_t recorded, dup_or_order, lost_reported;
  int channel;
  int64_t *log_ns; /* log_time by record number (-1: not in the file) */
  /* play */
  int64_t *arr_ns, *pub_ns; /* arrival (CLOCK_MONOTONIC), publish stamp (REALTIME) by number */
  _Atomic uint64_t played;  /* written by its subscriber thread, read by main */
};
static struct bus b[MAX_BUSES];
static int nb;
static atomic_int play_stop;

static int64_t now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void cleanup(void) {
  int i;
  for (i = 0; i < nb; i++)
    if (b[i].name[0]) shmbus_unlink(b[i].name, 1);
}

static void on_signal(int sig) {
  cleanup();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* The 1, 5 and 15 minute load averages, "a b c". */
static void loadavg(char *s, size_t n) {
  FILE *f = fopen("/proc/loadavg", "r");
  double a = 0, b = 0, c = 0;
  if (f == NULL || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3) snprintf(s, n, "unknown");
  else snprintf(s, n, "%.2f %.2f %.2f", a, b, c);
  if (f) fclose(f);
}

static int parse_size(const char *s, size_t *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || v <= 0) return -1;
  if (*end == 'K' || *end == 'k') {
    v *= 1024;
    end++;
  } else if (*end == 'M' || *end == 'm') {
    v *= 1048576;
    end++;
  }
  if (*end) return -1;
  *out = (size_t)v;
  return 0;
}

/* ---------------------------------------------------------------- the recorder process */

static pid_t spawn(char **argv, const char *err_path) {
  pid_t pid;
  fflush(NULL);
  pid = fork();
  if (pid == 0) {
    int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) dup2(fd, 2);
    execv(argv[0], argv);
    fprintf(stderr, "record_bench: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  return pid;
}

/* utime + stime of @pid in seconds, from /proc/PID/stat (fields 14 and 15). -1: gone. */
static double cpu_seconds(pid_t pid) {
  char path[64], buf[1024], *p;
  unsigned long long ut, st;
  FILE *f;
  size_t n;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if ((f = fopen(path, "r")) == NULL) return -1;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  if ((p = strrchr(buf, ')')) == NULL ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The recorder's cursor on @bus (its registry entry), or -1 when it is not registered. */
static int64_t reader_cursor(const char *bus, pid_t pid) {
  struct shmbus_reader_info r[64];
  int n = shmbus_readers(bus, r, 64), i;
  for (i = 0; i < n && i < 64; i++)
    if (r[i].pid == pid) return (int64_t)r[i].cursor;
  return -1;
}

/* ---------------------------------------------------------------- publishing */

static uint64_t rng = 88172645463325252ULL;
static void fill_random(unsigned char *p, size_t n) {
  size_t i;
  for (i = 0; i + 8 <= n; i += 8) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    memcpy(p + i, &rng, 8);
  }
}

/* Every bus on its own absolute schedule, staggered over the small buses' period, from one
 * thread sleeping until the earliest one. Returns the publisher's own lateness (ns) in @late. */
static int publish_for(double seconds, struct hist *late) {
  size_t maxsz = 0;
  unsigned char *buf;
  int64_t start = now_ns(CLOCK_MONOTONIC) + 10000000, end = start + (int64_t)(seconds * 1e9);
  int i, rc = 0;
  for (i = 0; i < nb; i++) {
    if (b[i].size > maxsz) maxsz = b[i].size;
    b[i].next_ns = start + (int64_t)(1e9 / o.hz * i / nb);
  }
  if ((buf = calloc(1, maxsz)) == NULL) return -ENOMEM;
  for (;;) {
    struct timespec ts;
    struct bus *x = &b[0];
    int64_t t;
    uint64_t seq, idx;
    for (i = 1; i < nb; i++)
      if (b[i].next_ns < x->next_ns) x = &b[i];
    if (x->next_ns >= end) break;
    ts.tv_sec = x->next_ns / 1000000000LL;
    ts.tv_nsec = x->next_ns % 1000000000LL;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
    t = now_ns(CLOCK_MONOTONIC);
    hist_add(late, (uint64_t)(t - x->next_ns));
    if (x->size > 4096) fill_random(buf, x->size);
    else memset(buf, 0x40 + x->idx, x->size);
    seq = x->published;
    idx = (uint64_t)x->idx;
    memcpy(buf, &seq, 8);
    memcpy(buf + 8, &idx, 8);
    if ((rc = shmbus_pub_publish(x->pub, buf, x->size)) < 0) {
      fprintf(stderr, "record_bench: publish on %s: %s\n", x->name, shmbus_strerror(rc));
      break;
    }
    x->published++;
    x->next_ns += (int64_t)(1e9 / x->hz);
  }
  free(buf);
  return rc;
}

/* ---------------------------------------------------------------- reading the file */

static struct bus *bus_of_topic(const struct mcap_str *t) {
  int i;
  for (i = 0; i < nb; i++)
    if (strlen(b[i].name) == t->n && !memcmp(b[i].name, t->p, t->n)) return &b[i];
  return NULL;
}

static int read_file(const char *path, uint64_t *lost_msgs) {
  struct mcap_reader_opts ro;
  mcap_reader *r;
  struct mcap_record rec;
  struct bus *by_channel[1024] = {0};
  int lost_channel = -1, rc, i;
  memset(&ro, 0, sizeof ro);
  if ((rc = mcap_reader_open_file(path, &ro, &r)) < 0) {
    fprintf(stderr, "record_bench: cannot read %s: %s\n", path, mcap_strerror(rc));
    return rc;
  }
  for (i = 0; i < nb; i++) {
    uint64_t k;
    b[i].log_ns = malloc((b[i].published + 1) * sizeof *b[i].log_ns);
    if (b[i].log_ns == NULL) return -ENOMEM;
    for (k = 0; k < b[i].published; k++) b[i].log_ns[k] = -1;
  }
  while ((rc = mcap_reader_next(r, &rec)) > 0) {
    if (rec.op == MCAP_OP_CHANNEL) {
      const struct mcap_channel *c = &rec.u.channel;
      if (c->id < 1024) by_channel[c->id] = bus_of_topic(&c->topic);
      if (c->topic.n == strlen("/shmbus/lost") && !memcmp(c->topic.p, "/shmbus/lost", c->topic.n))
        lost_channel = c->id;
    } else if (rec.op == MCAP_OP_MESSAGE) {
      const struct mcap_message *m = &rec.u.message;
      struct bus *x = m->channel_id < 1024 ? by_channel[m->channel_id] : NULL;
      if (m->channel_id == lost_channel) {
        char js[512];
        const char *lp;
        size_t n = m->len < sizeof js - 1 ? m->len : sizeof js - 1;
        memcpy(js, m->data, n);
        js[n] = 0;
        (*lost_msgs)++;
        for (i = 0; i < nb; i++) {
          char key[96];
          snprintf(key, sizeof key, "\"bus\":\"%.63s\"", b[i].name);
          if (strstr(js, key) && (lp = strstr(js, "\"lost\":")) != NULL)
            b[i].lost_reported += strtoull(lp + 7, NULL, 10);
        }
      } else if (x && m->len >= 16) {
        uint64_t seq;
        memcpy(&seq, m->data, 8);
        if (seq < x->published && x->log_ns[seq] < 0) {
          x->log_ns[seq] = (int64_t)m->log_time;
          x->recorded++;
        } else {
          x->dup_or_order++;
        }
      }
    }
  }
  mcap_reader_close(r);
  if (rc < 0) fprintf(stderr, "record_bench: reading %s: %s\n", path, mcap_strerror(rc));
  return rc < 0 ? rc : 0;
}

/* ---------------------------------------------------------------- play and its subscribers */

static void *sub_thread(void *arg) {
  struct bus *x = arg;
  shmbus_sub *s = NULL;
  unsigned char *buf = malloc(x->size);
  int rc = shmbus_sub_open(x->name, 0, &s);
  if (rc == 0) rc = shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
  if (rc < 0 || buf == NULL) {
    fprintf(stderr, "record_bench: cannot follow %s: %s\n", x->name, shmbus_strerror(rc));
    free(buf);
    shmbus_sub_close(s);
    return NULL;
  }
  while (!atomic_load(&play_stop) && atomic_load(&x->played) < x->published) {
    struct shmbus_record_info in;
    ssize_t n;
    rc = shmbus_sub_wait(s, 100000000, SHMBUS_WAIT_SLEEP | SHMBUS_WAIT_THROUGH_DEATH);
    if (rc == -ESTALE) { /* play replaced the bus: follow the new one from its oldest */
      shmbus_sub_close(s);
      s = NULL;
      while (!atomic_load(&play_stop) && shmbus_sub_open(x->name, 0, &s) < 0) usleep(1000);
      if (s) shmbus_sub_seek(s, SHMBUS_SEEK_OLDEST);
      continue;
    }
    while ((n = shmbus_sub_next(s, buf, x->size, &in)) >= 16) {
      int64_t t = now_ns(CLOCK_MONOTONIC);
      uint64_t seq;
      memcpy(&seq, buf, 8);
      if (seq < x->published && x->arr_ns[seq] < 0) {
        x->arr_ns[seq] = t;
        x->pub_ns[seq] = (int64_t)in.timestamp_ns;
        atomic_fetch_add_explicit(&x->played, 1, memory_order_relaxed);
      }
    }
  }
  free(buf);
  shmbus_sub_close(s);
  return NULL;
}

static int cmp_i64(const void *a, const void *c) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)c;
  return x < y ? -1 : x > y;
}

/* Offsets (@arr against log_time, minus their median) and per-bus interval errors, |ns|. */
static void timing(int use_pub, struct hist *off, struct hist *ivl, int64_t *median_out) {
  size_t n = 0, k = 0;
  int64_t *d, med;
  int i;
  uint64_t s;
  for (i = 0; i < nb; i++) n += b[i].published;
  d = malloc((n + 1) * sizeof *d);
  if (d == NULL) return;
  for (i = 0; i < nb; i++)
    for (s = 0; s < b[i].published; s++) {
      int64_t a = use_pub ? b[i].pub_ns[s] : b[i].arr_ns[s];
      if (a >= 0 && b[i].log_ns[s] >= 0) d[k++] = a - b[i].log_ns[s];
    }
  if (k == 0) {
    free(d);
    return;
  }
  qsort(d, k, sizeof *d, cmp_i64);
  med = d[k / 2];
  *median_out = med;
  for (i = 0; i < nb; i++) {
    int64_t pa = -1, pl = -1;
    for (s = 0; s < b[i].published; s++) {
      int64_t a = use_pub ? b[i].pub_ns[s] : b[i].arr_ns[s], l = b[i].log_ns[s], e;
      if (a < 0 || l < 0) {
        pa = -1;
        continue;
      }
      e = a - l - med;
      hist_add(off, (uint64_t)(e < 0 ? -e : e));
      if (pa >= 0) {
        e = (a - pa) - (l - pl);
        hist_add(ivl, (uint64_t)(e < 0 ? -e : e));
      }
      pa = a;
      pl = l;
    }
  }
  free(d);
}

static int play(const char *file, const char *err_path) {
  pthread_t th[MAX_BUSES];
  char topics[MAX_BUSES * 64 + 1] = "", *argv[10];
  int i, st, rc = 0, started = 0;
  pid_t pid;
  int64_t deadline;
  for (i = 0; i < nb; i++) {
    uint64_t k;
    b[i].arr_ns = malloc((b[i].published + 1) * sizeof *b[i].arr_ns);
    b[i].pub_ns = malloc((b[i].published + 1) * sizeof *b[i].pub_ns);
    if (b[i].arr_ns == NULL || b[i].pub_ns == NULL) return -ENOMEM;
    for (k = 0; k < b[i].published; k++) b[i].arr_ns[k] = b[i].pub_ns[k] = -1;
    strcat(topics, i ? "," : "");
    strcat(topics, b[i].name);
  }
  for (i = 0; i < nb; i++, started++)
    if (pthread_create(&th[i], NULL, sub_thread, &b[i]) != 0) break;
  usleep(100000); /* the subscribers open and seek (a late one still sees the ring: 1 s deep) */
  argv[0] = (char *)o.shmbus;
  argv[1] = "play";
  argv[2] = (char *)file;
  argv[3] = "-q";
  argv[4] = "--topics";
  argv[5] = topics;
  argv[6] = NULL;
  pid = spawn(argv, err_path);
  if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "record_bench: shmbus play failed (see %s)\n", err_path);
    rc = -ECHILD;
  }
  deadline = now_ns(CLOCK_MONOTONIC) + 3000000000LL; /* the last records' arrival */
  for (;;) {
    int all = 1;
    for (i = 0; i < nb; i++)
      if (atomic_load(&b[i].played) < b[i].recorded) all = 0;
    if (all || now_ns(CLOCK_MONOTONIC) > deadline) break;
    usleep(10000);
  }
  atomic_store(&play_stop, 1);
  for (i = 0; i < started; i++) pthread_join(th[i], NULL);
  return rc;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f) {
  fprintf(f,
          "usage: record_bench [--duration SEC] [--buses N] [--hz HZ] [--size BYTES]\n"
          "                    [--slots N] [--camera-hz HZ] [--camera-size BYTES]\n"
          "                    [--camera-slots N] [--compression zstd|lz4|none]\n"
          "                    [--shmbus PATH] [--out DIR] [--no-play]\n"
          "                    [--drain-interval MS]\n"
          "`shmbus record` of N buses at HZ x BYTES plus a camera bus (1 MiB at 30 Hz) for SEC\n"
          "seconds (default 2: a smoke run; the report uses 60), then `shmbus play` of the file\n"
          "with a subscriber timing the arrivals. Prints a table and a SUMMARY line; writes\n"
          "DIR/results.md and DIR/results.csv (default bench/out/record). bench/record_run.sh\n"
          "builds and runs it.\n");
}

int main(int argc, char **argv) {
  static const struct option lo[] = {{"duration", 1, 0, 'd'},
                                     {"buses", 1, 0, 'n'},
                                     {"hz", 1, 0, 'r'},
                                     {"size", 1, 0, 's'},
                                     {"slots", 1, 0, 'S'},
                                     {"camera-hz", 1, 0, 'R'},
                                     {"camera-size", 1, 0, 'z'},
                                     {"camera-slots", 1, 0, 'Z'},
                                     {"compression", 1, 0, 'c'},
                                     {"shmbus", 1, 0, 'x'},
                                     {"out", 1, 0, 'o'},
                                     {"no-play", 0, 0, 'P'},
                                     {"help", 0, 0, 'h'},
                                     {"drain-interval", 1, 0, 'I'},
                                     {0, 0, 0, 0}};
  char file[600], err_rec[600], err_play[600], path[600], when[64],
      load0[64] = "?", load1[64] = "?", *rargv[MAX_BUSES + 10];
  struct hist *late = malloc(sizeof *late), *h = malloc(4 * sizeof *h);
  struct rusage ru;
  struct stat sb;
  time_t now = time(NULL);
  double cpu0, cpu1, wall, share, total_cpu = -1, mbps;
  int64_t t0, t1, tstop, deadline, med_arr = 0, med_pub = 0;
  uint64_t published = 0, recorded = 0, lost = 0, lost_rep = 0, lost_msgs = 0, dups = 0;
  pid_t rec;
  int c, i, st, rc = 0, k = 0;
  FILE *f;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
      case 'd': o.duration = atof(optarg); break;
      case 'n': o.buses = atoi(optarg); break;
      case 'r': o.hz = atof(optarg); break;
      case 's':
        if (parse_size(optarg, &o.size) < 0) o.size = 0;
        break;
      case 'S': o.slots = (unsigned)atol(optarg); break;
      case 'R': o.camera_hz = atof(optarg); break;
      case 'z':
        if (parse_size(optarg, &o.camera_size) < 0) o.camera_size = 0;
        break;
      case 'Z': o.camera_slots = (unsigned)atol(optarg); break;
      case 'c': o.compression = optarg; break;
      case 'x': o.shmbus = optarg; break;
      case 'o': o.out = optarg; break;
      case 'P': o.play = 0; break;
      case 'I': o.drain = optarg; break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (optind < argc || o.duration <= 0 || o.buses < 1 || o.buses > MAX_BUSES - 1 || o.hz <= 0 ||
      o.size < 16 || o.camera_size < 16 || o.slots < 2 || o.camera_slots < 2 || late == NULL ||
      h == NULL) {
    fprintf(stderr, "record_bench: bad arguments (records of at least 16 bytes); see --help\n");
    return 2;
  }
  strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
  loadavg(load0, sizeof load0);
  mkdir(o.out, 0755);
  snprintf(file, sizeof file, "%s/rec.mcap", o.out);
  snprintf(err_rec, sizeof err_rec, "%s/record.err", o.out);
  snprintf(err_play, sizeof err_play, "%s/play.err", o.out);
  atexit(cleanup);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  hist_reset(late);
  for (i = 0; i < 4; i++) hist_reset(&h[i]);

  /* 1. the buses */
  nb = o.buses + (o.camera_hz > 0 ? 1 : 0);
  for (i = 0; i < nb; i++) {
    struct shmbus_pub_opts po;
    int cam = i == o.buses;
    b[i].idx = i;
    b[i].size = cam ? o.camera_size : o.size;
    b[i].hz = cam ? o.camera_hz : o.hz;
    b[i].slots = cam ? o.camera_slots : o.slots;
    snprintf(b[i].name, sizeof b[i].name, cam ? "recbench-%d-camera" : "recbench-%d-b%02d",
             (int)getpid(), i);
    shmbus_pub_opts_init(&po);
    po.capacity = b[i].size;
    po.slots = b[i].slots;
    po.type = "recbench";
    if ((rc = shmbus_pub_open(b[i].name, &po, &b[i].pub)) < 0) {
      fprintf(stderr, "record_bench: cannot create %s: %s\n", b[i].name, shmbus_strerror(rc));
      b[i].name[0] = 0;
      return 1;
    }
  }
  /* 2. the recorder, registered on every bus before the first record */
  rargv[k++] = (char *)o.shmbus;
  rargv[k++] = "record";
  rargv[k++] = "-q";
  rargv[k++] = "--compression";
  rargv[k++] = (char *)o.compression;
  rargv[k++] = "-o";
  rargv[k++] = file;
  if (o.drain) {
    rargv[k++] = "--drain-interval";
    rargv[k++] = (char *)o.drain;
  }
  for (i = 0; i < nb; i++) rargv[k++] = b[i].name;
  rargv[k] = NULL;
  if ((rec = spawn(rargv, err_rec)) < 0) return 1;
  deadline = now_ns(CLOCK_MONOTONIC) + 30000000000LL;
  for (i = 0; i < nb;) {
    if (reader_cursor(b[i].name, rec) >= 0) {
      i++;
      continue;
    }
    if (now_ns(CLOCK_MONOTONIC) > deadline || waitpid(rec, &st, WNOHANG) == rec) {
      fprintf(stderr, "record_bench: the recorder did not open %s (see %s)\n", b[i].name, err_rec);
      kill(rec, SIGKILL);
      waitpid(rec, NULL, 0);
      return 1;
    }
    usleep(5000);
  }
  /* 3. publish; 4. the recorder's CPU share over that time */
  cpu0 = cpu_seconds(rec);
  t0 = now_ns(CLOCK_MONOTONIC);
  fprintf(stderr,
          "record_bench: recording %d buses at %.0f Hz x %zu B (slots %u) + camera %.0f Hz x"
          " %zu B (slots %u), %.0f s, %s; load %s\n",
          o.buses, o.hz, o.size, o.slots, o.camera_hz, o.camera_size, o.camera_slots, o.duration,
          o.compression, load0);
  rc = publish_for(o.duration, late);
  t1 = now_ns(CLOCK_MONOTONIC);
  cpu1 = cpu_seconds(rec);
  wall = (double)(t1 - t0) / 1e9;
  share = cpu0 >= 0 && cpu1 >= 0 ? (cpu1 - cpu0) / wall : -1;
  deadline = now_ns(CLOCK_MONOTONIC) + 10000000000LL; /* the recorder catches up */
  for (i = 0; i < nb && rc == 0;) {
    int64_t cur = reader_cursor(b[i].name, rec);
    if (cur >= (int64_t)shmbus_pub_version(b[i].pub) || now_ns(CLOCK_MONOTONIC) > deadline) i++;
    else usleep(2000);
  }
  tstop = now_ns(CLOCK_MONOTONIC);
  kill(rec, SIGINT);
  if (wait4(rec, &st, 0, &ru) == rec) {
    total_cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "record_bench: shmbus record failed (see %s)\n", err_rec);
      rc = -ECHILD;
    }
  }
  for (i = 0; i < nb; i++) {
    shmbus_pub_close(b[i].pub); /* play adopts the buses */
    b[i].pub = NULL;
    published += b[i].published;
  }
  if (rc < 0) return 1;
  if (stat(file, &sb) < 0) {
    fprintf(stderr, "record_bench: no file %s\n", file);
    return 1;
  }
  mbps = (double)sb.st_size / 1e6 / ((double)(tstop - t0) / 1e9);
  if (read_file(file, &lost_msgs) < 0) return 1;
  for (i = 0; i < nb; i++) {
    recorded += b[i].recorded;
    lost += b[i].published - b[i].recorded;
    lost_rep += b[i].lost_reported;
    dups += b[i].dup_or_order;
  }
  /* 5. play */
  if (o.play) {
    if (play(file, err_play) < 0) rc = 1;
    timing(0, &h[0], &h[1], &med_arr);
    timing(1, &h[2], &h[3], &med_pub);
  }
  loadavg(load1, sizeof load1);

  /* the report */
  snprintf(path, sizeof path, "%s/results.md", o.out);
  f = fopen(path, "w");
  for (k = 0; k < 2; k++) {
    FILE *w = k == 0 ? stderr : f;
    if (w == NULL) continue;
    fprintf(w,
            "## shmbus record / play (issue 15)\n\n%s; %.1f s; load average %s at the start, %s "
            "at the end.\n\n%d buses at %.0f Hz x %zu B (--slots %u) + camera %.0f Hz x %zu B "
            "(--slots %u), `shmbus record --compression %s`.\n\n",
            when, o.duration, load0, load1, o.buses, o.hz, o.size, o.slots, o.camera_hz,
            o.camera_size, o.camera_slots, o.compression);
    fprintf(w, "| bus | published | in the file | lost | lost (recorder's count) | played back |\n"
               "|---|---|---|---|---|---|\n");
    for (i = 0; i < nb; i++)
      fprintf(w, "| %s | %llu | %llu | %llu | %llu | %llu |\n", b[i].name,
              (unsigned long long)b[i].published, (unsigned long long)b[i].recorded,
              (unsigned long long)(b[i].published - b[i].recorded),
              (unsigned long long)b[i].lost_reported,
              (unsigned long long)atomic_load(&b[i].played));
    fprintf(w,
            "\n| recorder | |\n|---|---|\n"
            "| CPU share while publishing (/proc/PID/stat utime+stime / wall) | %.3f (%.2f CPU-s "
            "in %.1f s) |\n"
            "| CPU, whole process (wait4: start, recording, finishing the file) | %.2f s |\n"
            "| file | %.1f MB, %.2f MB/s of recording |\n"
            "| publisher's own lateness p50 / p99 / max | %.1f / %.1f / %.1f us |\n",
            share, cpu1 - cpu0, wall, total_cpu, (double)sb.st_size / 1e6, mbps,
            hist_pct(late, 0.5) / 1e3, hist_pct(late, 0.99) / 1e3, hist_pct(late, 1.0) / 1e3);
    if (o.play)
      fprintf(
          w,
          "\n| play timing error, us | p50 | p90 | p99 | max | samples "
          "|\n|---|---|---|---|---|---|\n"
          "| arrival vs recorded time (offset, median removed) | %.1f | %.1f | %.1f | %.1f | %llu "
          "|\n"
          "| arrival interval vs recorded interval (per bus) | %.1f | %.1f | %.1f | %.1f | %llu |\n"
          "| play's publish stamp vs recorded time (offset) | %.1f | %.1f | %.1f | %.1f | %llu |\n"
          "| play's publish interval vs recorded interval | %.1f | %.1f | %.1f | %.1f | %llu |\n",
          hist_pct(&h[0], .5) / 1e3, hist_pct(&h[0], .9) / 1e3, hist_pct(&h[0], .99) / 1e3,
          hist_pct(&h[0], 1) / 1e3, (unsigned long long)h[0].count, hist_pct(&h[1], .5) / 1e3,
          hist_pct(&h[1], .9) / 1e3, hist_pct(&h[1], .99) / 1e3, hist_pct(&h[1], 1) / 1e3,
          (unsigned long long)h[1].count, hist_pct(&h[2], .5) / 1e3, hist_pct(&h[2], .9) / 1e3,
          hist_pct(&h[2], .99) / 1e3, hist_pct(&h[2], 1) / 1e3, (unsigned long long)h[2].count,
          hist_pct(&h[3], .5) / 1e3, hist_pct(&h[3], .9) / 1e3, hist_pct(&h[3], .99) / 1e3,
          hist_pct(&h[3], 1) / 1e3, (unsigned long long)h[3].count);
  }
  if (f) fclose(f);
  snprintf(path, sizeof path, "%s/results.csv", o.out);
  if ((f = fopen(path, "w")) != NULL) {
    static const char *modes[4] = {"offset-arrival", "interval-arrival", "offset-publish",
                                   "interval-publish"};
    fprintf(f, "%s\n", CSV_HEADER);
    for (i = 0; i < 4 && o.play; i++)
      if (h[i].count)
        fprintf(f, "shmbus-play,%s,%zu,%d,%llu,%llu,%llu,%llu,%llu,%llu,\n", modes[i], o.size, nb,
                (unsigned long long)h[i].count, (unsigned long long)hist_pct(&h[i], .5),
                (unsigned long long)hist_pct(&h[i], .9), (unsigned long long)hist_pct(&h[i], .99),
                (unsigned long long)hist_pct(&h[i], .999), (unsigned long long)hist_pct(&h[i], 1));
    fclose(f);
  }
  printf("SUMMARY duration_s=%.2f buses=%d published=%llu recorded=%llu lost=%llu "
         "lost_reported=%llu duplicates=%llu cpu_share=%.4f cpu_total_s=%.2f file_bytes=%lld "
         "mb_per_s=%.3f drain_ms=%s ctxsw_total=%ld",
         wall, nb, (unsigned long long)published, (unsigned long long)recorded,
         (unsigned long long)lost, (unsigned long long)lost_rep, (unsigned long long)dups, share,
         total_cpu, (long long)sb.st_size, mbps, o.drain ? o.drain : "0",
         total_cpu >= 0 ? ru.ru_nvcsw + ru.ru_nivcsw : -1L);
  if (o.play) {
    uint64_t played = 0;
    for (i = 0; i < nb; i++) played += atomic_load(&b[i].played);
    printf(" played=%llu play_offset_p50_us=%.1f play_offset_p99_us=%.1f play_interval_p50_us=%.1f"
           " play_interval_p99_us=%.1f",
           (unsigned long long)played, hist_pct(&h[0], .5) / 1e3, hist_pct(&h[0], .99) / 1e3,
           hist_pct(&h[1], .5) / 1e3, hist_pct(&h[1], .99) / 1e3);
  }
  printf("\n");
  free(late);
  free(h);
  return rc < 0 || rc == 1 ? 1 : 0;
}
