/* buses.h - the bus side of `shmbus serve` (serve/buses.c): which buses are served, reading
 * their records into the hub, following buses that appear, are replaced or are removed, the
 * status channel, and client publishing.
 *
 * Discovery: every bus whose name matches one of the patterns (fnmatch globs; none: every
 * bus this user may read), found by shmbus_list() when the server starts, when /dev/shm
 * changes (inotify) and every second. A bus is advertised as one channel (topic = the bus
 * name); a replaced bus is unadvertised and advertised again under a new channel id (its
 * schema may differ); a removed bus is unadvertised.
 *
 * Reading: while a channel has subscribers, its bus's pollable descriptor (shmbus_sub_fd())
 * is watched by the event loop, every record is read (shmbus_sub_next()), converted once and
 * offered to the subscribers' latest-value slots; records the ring overwrote before the server
 * read them are counted ("lost" in the status channel). Without subscribers the bus has no
 * descriptor (and so no notifier thread waking on every publish): it is looked at every
 * 100 ms (replaced? removed?), nothing is read or converted.
 *
 * The status channel SERVE_STATUS_TOPIC (JSON, once a second): every bus with its rate, writer,
 * readers, latest version, and every client with its drop count. The page reads it; Foxglove
 * shows it as any JSON topic. */
#ifndef SHMBUS_SERVE_BUSES_H
#define SHMBUS_SERVE_BUSES_H

#include <stddef.h>

#include "serve/hub.h"

#define SERVE_STATUS_TOPIC "/shmbus/buses" /* '/' is not allowed in a bus name: no clash */

struct buses;

/* What the bus side asks of the event loop: watch descriptor @fd (readable: call
 * buses_ready(@tag); the loop watches a duplicate of it and closes that), stop watching it. */
struct buses_loop {
  int (*watch)(void *lctx, int fd, void *tag, void **handle);
  void (*unwatch)(void *lctx, void *handle);
  void (*want_write)(void *lctx, void *user); /* the hub's want_write, passed through */
};

/* buses_new() - serve the buses matching @patterns (@n of them; 0: every bus); clients may
 * publish to buses matching @allow (@nallow; 0: none). The arrays must outlive the object.
 * NULL: no memory. */
struct buses *buses_new(char **patterns, int n, char **allow, int nallow,
                        const struct buses_loop *loop, void *lctx);

/* buses_hub_ops() - the hub callbacks to create the hub with (ctx: the buses object). */
const struct hub_ops *buses_hub_ops(void);

/* buses_start() - attach @hub, find and advertise the buses, add the status channel and
 * watch /dev/shm. Return: 0; a negative errno. */
int buses_start(struct buses *b, struct hub *hub);

/* buses_ready() - the descriptor watched with @tag is readable. */
void buses_ready(struct buses *b, void *tag);

/* buses_tick() - call about every 100 ms: buses without a descriptor are read, the status
 * channel is published once a second, and the bus list is checked once a second. */
void buses_tick(struct buses *b);

/* buses_count() - how many buses are advertised. */
size_t buses_count(const struct buses *b);

/* buses_stop() - unadvertise and close every bus, stop watching every descriptor (call while
 * the loop and the hub still exist). */
void buses_stop(struct buses *b);

/* buses_free() - after buses_stop() and after the hub's clients are gone: close the writers
 * that are left, free. NULL is a harmless no-op. */
void buses_free(struct buses *b);

#endif /* SHMBUS_SERVE_BUSES_H */
