/* worker_pool - many threads read the latest robot state through one RCU view.
 *   worker_pool [-b BUS] [-t THREADS] [-s SECONDS] [-k KIB]
 * (defaults: a private bus, 16 threads, 2 s, 64 KiB state)
 * The main thread publishes a state record of KIB KiB at 1 kHz; a view (view/shmbus_view.h)
 * copies each record once out of shared memory, and THREADS workers read it in place, with no
 * copy, checking every time that the whole record belongs to one version. At the end it prints
 * the reads per thread and the number of inconsistent reads (always 0). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/shmbus.h"
#include "view/shmbus_view.h"

static shmbus_view *view;
static atomic_int stop;
static size_t words;

struct worker {
  pthread_t thread;
  unsigned long reads, bad;
  uint64_t last_version;
};

/* Every word of version v's state is v * 1000003 + index: a torn or freed record shows. */
static void *work(void *arg) {
  struct worker *w = arg;
  shmbus_view_thread_register();
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    shmbus_view_read_lock();
    const struct shmbus_view_snap *s = shmbus_view_latest(view);
    if (s != NULL) {
      const uint64_t *state = s->data;
      for (size_t i = 0; i < s->length / 8; i += 97) /* a sample of the words */
        if (state[i] != s->version * 1000003 + i) w->bad++;
      w->last_version = s->version;
      w->reads++;
    }
    shmbus_view_read_unlock();
  }
  shmbus_view_thread_unregister();
  return NULL;
}

int main(int argc, char **argv) {
  char bus[64];
  int threads = 16, opt, rc;
  double seconds = 2;
  long kib = 64;
  snprintf(bus, sizeof bus, "worker-pool-%d", (int)getpid());
  while ((opt = getopt(argc, argv, "b:t:s:k:h")) != -1) {
    switch (opt) {
      case 'b': snprintf(bus, sizeof bus, "%s", optarg); break;
      case 't': threads = atoi(optarg); break;
      case 's': seconds = atof(optarg); break;
      case 'k': kib = atol(optarg); break;
      default:
        fprintf(stderr, "usage: %s [-b BUS] [-t THREADS] [-s SECONDS] [-k KIB]\n", argv[0]);
        return opt == 'h' ? 0 : 2;
    }
  }
  if (threads < 1 || threads > 1024 || kib < 1 || kib > 65536) {
    fprintf(stderr, "worker_pool: THREADS must be 1-1024 and KIB 1-65536\n");
    return 2;
  }
  words = (size_t)kib * 128;
  struct shmbus_pub_opts o;
  shmbus_pub_opts_init(&o);
  o.capacity = words * 8;
  o.type = "robot_state.v1";
  shmbus_pub *p;
  if ((rc = shmbus_pub_open(bus, &o, &p)) < 0) {
    fprintf(stderr, "worker_pool: cannot create '%s': %s\n", bus, shmbus_strerror(rc));
    return 1;
  }
  if ((rc = shmbus_view_open(bus, NULL, &view)) < 0) {
    fprintf(stderr, "worker_pool: cannot open a view of '%s': %s\n", bus, shmbus_strerror(rc));
    return 1;
  }
  struct worker *w = calloc((size_t)threads, sizeof *w);
  for (int i = 0; i < threads; i++) pthread_create(&w[i].thread, NULL, work, &w[i]);
  /* Publish at 1 kHz, building each record in place in the slot. */
  long n = (long)(seconds * 1000);
  for (long k = 0; k < n; k++) {
    void *slot;
    uint64_t v = shmbus_pub_version(p) + 1;
    if (shmbus_pub_reserve(p, words * 8, &slot) < 0) break;
    for (size_t i = 0; i < words; i++) ((uint64_t *)slot)[i] = v * 1000003 + i;
    shmbus_pub_commit(p, words * 8);
    usleep(1000);
  }
  atomic_store(&stop, 1);
  unsigned long reads = 0, bad = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(w[i].thread, NULL);
    reads += w[i].reads;
    bad += w[i].bad;
  }
  printf("%d threads read the latest %ld KiB state %lu times (%.0f reads/s per thread), "
         "%lu inconsistent; %llu records published\n",
         threads, kib, reads, reads / seconds / threads, bad,
         (unsigned long long)shmbus_pub_version(p));
  shmbus_view_close(view);
  shmbus_pub_close(p);
  shmbus_unlink(bus, 1);
  free(w);
  return bad == 0 && reads > 0 ? 0 : 1;
}
