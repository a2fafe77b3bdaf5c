/* state_board - a configuration/state struct on a bus, read by late joiners.
 *   state_board write BUS MODE SPEED    publish the board once and exit (the bus stays)
 *   state_board read BUS                 print the current board at once, exit
 *   state_board watch BUS COUNT          print the board each time it changes, COUNT times
 * The writer publishes and leaves; a process started later still gets the latest value at
 * once: shmbus_sub_read_latest() needs no history and no handshake. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/shmbus.h"

#define BOARD_TYPE "state_board.v1"

struct board {
  char mode[16];     /* "idle", "auto", ... NUL-terminated */
  double max_speed;  /* m/s */
  uint32_t revision; /* bumped by every write */
  uint32_t flags;
};

static int usage(void) {
  fprintf(stderr, "usage: state_board write BUS MODE SPEED | read BUS | watch BUS COUNT\n");
  return 2;
}

static void print_board(const struct board *b, const struct shmbus_record_info *in) {
  printf("revision %u: mode=%s max_speed=%.2f (version %llu)\n", b->revision, b->mode, b->max_speed,
         (unsigned long long)in->version);
  fflush(stdout);
}

static int do_write(const char *bus, const char *mode, double speed) {
  struct shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.type = BOARD_TYPE;
  o.capacity = sizeof(struct board);
  o.slots = 2;
  shmbus_pub *p;
  int rc = shmbus_pub_open(bus, &o, &p);
  if (rc < 0) {
    fprintf(stderr, "state_board: cannot write '%s': %s\n", bus, shmbus_strerror(rc));
    return 1;
  }
  struct board b;
  memset(&b, 0, sizeof b);
  snprintf(b.mode, sizeof b.mode, "%s", mode);
  b.max_speed = speed;
  b.revision = (uint32_t)shmbus_pub_version(p) + 1;
  rc = shmbus_pub_publish(p, &b, sizeof b);
  shmbus_pub_close(p);
  return rc < 0 ? 1 : 0;
}

static int open_board(const char *bus, shmbus_sub **s) {
  struct shmbus_bus_info info;
  int rc = shmbus_sub_open(bus, 0, s);
  if (rc < 0) {
    fprintf(stderr, "state_board: cannot read '%s': %s\n", bus, shmbus_strerror(rc));
    return -1;
  }
  shmbus_sub_info(*s, &info);
  if (strcmp(info.type, BOARD_TYPE) != 0) {
    fprintf(stderr, "state_board: '%s' carries '%s', not %s\n", bus, info.type, BOARD_TYPE);
    shmbus_sub_close(*s);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) return usage();
  const char *bus = argv[2];
  if (strcmp(argv[1], "write") == 0 && argc == 5) return do_write(bus, argv[3], atof(argv[4]));
  shmbus_sub *s;
  struct board b;
  struct shmbus_record_info in;
  if (strcmp(argv[1], "read") == 0 && argc == 3) {
    if (open_board(bus, &s) < 0) return 1;
    ssize_t n = shmbus_sub_read_latest(s, &b, sizeof b, &in);
    if (n != (ssize_t)sizeof b) {
      fprintf(stderr, "state_board: %s\n", n < 0 ? shmbus_strerror((int)n) : "short record");
      return 1;
    }
    print_board(&b, &in);
    shmbus_sub_close(s);
    return 0;
  }
  if (strcmp(argv[1], "watch") == 0 && argc == 4) {
    long want = atol(argv[3]), got = 0;
    if (open_board(bus, &s) < 0) return 1;
    shmbus_sub_seek(s, SHMBUS_SEEK_NEW); /* changes from now on */
    fprintf(stderr, "state_board: watching '%s'\n", bus);
    while (got < want) {
      int rc = shmbus_sub_wait(s, 10 * 1000000000LL, SHMBUS_WAIT_SLEEP | SHMBUS_WAIT_THROUGH_DEATH);
      if (rc < 0) {
        fprintf(stderr, "state_board: %s\n", shmbus_strerror(rc));
        return 1;
      }
      if (shmbus_sub_read_latest(s, &b, sizeof b, &in) == (ssize_t)sizeof b) {
        print_board(&b, &in);
        got++;
      }
    }
    shmbus_sub_close(s);
    return 0;
  }
  return usage();
}
