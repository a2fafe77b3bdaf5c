/* typed_pub.c - a typed bus for the serve tests: the IDL below as its schema ("omgidl",
 * records are the C struct: SHMBUS_MSG_CSTRUCT), records whose every field is a function of
 * their seq (typed.mjs and page.mjs check them after CDR decoding).
 *   typed_pub BUS COUNT HZ     publish seq 1..COUNT at HZ (COUNT 0: until SIGTERM) */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/shmbus.h"

static const char idl[] = "module test {\n"
                          "  enum Mode { IDLE, RUN, FAULT };\n"
                          "  struct Vec3 { double x; double y; double z; };\n"
                          "  struct Sample {\n"
                          "    uint64 seq;\n"
                          "    int32 i;\n"
                          "    float f;\n"
                          "    double d;\n"
                          "    Vec3 v;\n"
                          "    int16 arr[3];\n"
                          "    boolean ok;\n"
                          "    Mode mode;\n"
                          "    octet b;\n"
                          "  };\n"
                          "};\n";

struct vec3 {
  double x, y, z;
};
struct sample { /* natural alignment: as docs/TYPES.md lays out the IDL above */
  uint64_t seq;
  int32_t i;
  float f;
  double d;
  struct vec3 v;
  int16_t arr[3];
  uint8_t ok;
  int32_t mode;
  uint8_t b;
};

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig, stop = 1; }

int main(int argc, char **argv) {
  struct shmbus_schema sc = {"test::Sample", "omgidl", SHMBUS_MSG_CSTRUCT, idl, sizeof idl - 1, 0};
  struct shmbus_pub_opts o;
  shmbus_pub *p;
  uint64_t count, seq;
  double hz;
  struct timespec next;
  int rc;
  if (argc != 4) {
    fprintf(stderr, "usage: typed_pub BUS COUNT HZ\n");
    return 2;
  }
  count = strtoull(argv[2], NULL, 10);
  hz = atof(argv[3]);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  shmbus_pub_opts_init(&o);
  o.schema = &sc;
  o.capacity = 4096;
  if ((rc = shmbus_pub_open(argv[1], &o, &p)) < 0) {
    fprintf(stderr, "typed_pub: %s\n", shmbus_strerror(rc));
    return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (seq = 1; !stop && (count == 0 || seq <= count); seq++) {
    struct sample s;
    memset(&s, 0, sizeof s);
    s.seq = seq;
    s.i = -(int32_t)seq;
    s.f = (float)seq * 0.5f;
    s.d = (double)seq * 0.25;
    s.v = (struct vec3){(double)seq, -(double)seq, (double)seq / 4};
    s.arr[0] = (int16_t)(seq % 100);
    s.arr[1] = (int16_t)(-(int16_t)(seq % 100));
    s.arr[2] = 7;
    s.ok = seq & 1;
    s.mode = (int32_t)(seq % 3);
    s.b = (uint8_t)seq;
    shmbus_pub_publish(p, &s, sizeof s);
    next.tv_nsec += (long)(1e9 / hz);
    while (next.tv_nsec >= 1000000000) {
      next.tv_nsec -= 1000000000;
      next.tv_sec++;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
  }
  shmbus_pub_close(p);
  return 0;
}
