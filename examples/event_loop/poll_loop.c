/* poll_loop - wait on a bus and on stdin together with poll(2).
 *   poll_loop BUS [COUNT]
 * Prints every record of BUS ("bus: <text>", or its size when it is binary) and every line typed on stdin ("stdin: ...")
 * as they come, in one thread, with no busy waiting. Ends at end of stdin or after COUNT
 * records. The bus's descriptor comes from shmbus_sub_fd(); when it polls readable,
 * shmbus_sub_wait(s, 0, 0) says why: 0 = records to read, -EOWNERDEAD = the writer went
 * away (we keep listening for a new one), -ESTALE = the bus was replaced (reopen). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/shmbus.h"

static shmbus_sub *open_bus(const char *bus, int *fd) {
  shmbus_sub *s;
  int rc = shmbus_sub_open(bus, 0, &s);
  if (rc < 0) {
    fprintf(stderr, "poll_loop: cannot open '%s': %s\n", bus, shmbus_strerror(rc));
    return NULL;
  }
  shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
  *fd = shmbus_sub_fd(s);
  if (*fd < 0) {
    fprintf(stderr, "poll_loop: %s\n", shmbus_strerror(*fd));
    shmbus_sub_close(s);
    return NULL;
  }
  return s;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: poll_loop BUS [COUNT]\n");
    return 2;
  }
  const char *bus = argv[1];
  long want = argc == 3 ? atol(argv[2]) : -1, got = 0;
  struct pollfd fds[2] = {{0, POLLIN, 0}, {-1, POLLIN, 0}};
  shmbus_sub *s = open_bus(bus, &fds[1].fd);
  if (s == NULL) return 1;
  char buf[65536];
  int stdin_open = 1;
  while (stdin_open && (want < 0 || got < want)) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      perror("poll");
      return 1;
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      if (fgets(buf, sizeof buf, stdin) == NULL) {
        stdin_open = 0;
      } else {
        printf("stdin: %s", buf);
      }
    }
    if (fds[1].revents & POLLIN) {
      int rc = shmbus_sub_wait(s, 0, 0);
      if (rc == 0) {
        ssize_t n;
        struct shmbus_record_info in;
        while ((n = shmbus_sub_next(s, buf, sizeof buf - 1, &in)) >= 0) {
          ssize_t i = 0;
          while (i < n && buf[i] >= ' ' && buf[i] <= '~') i++;
          if (i == n) {
            printf("bus: %.*s\n", (int)n, buf);
          } else {
            printf("bus: version %llu, %zd bytes of binary\n", (unsigned long long)in.version, n);
          }
          got++;
        }
      } else if (rc == -EOWNERDEAD) {
        fprintf(stderr, "poll_loop: the writer of '%s' went away; waiting for a new one\n", bus);
      } else if (rc == -ESTALE) {
        fprintf(stderr, "poll_loop: '%s' was replaced; reopening\n", bus);
        shmbus_sub_close(s);
        if ((s = open_bus(bus, &fds[1].fd)) == NULL) return 1;
      }
    }
    fflush(stdout);
  }
  shmbus_sub_close(s);
  return 0;
}
