/* peers.h - what a user would pick instead of shmbus, timed exactly like it (benchmarks only).
 *
 * Each sends the same record one way from the writer process to one reader process:
 *   pipe   pipe(2), its buffer grown to hold one record where the kernel allows (F_SETPIPE_SZ)
 *   unix   a connected AF_UNIX SOCK_STREAM pair, buffers asked to hold one record
 *   mq     a POSIX message queue (mq_send/mq_receive), message size = record size
 *   zmq    ZeroMQ PUB/SUB over ipc://, zmq_send/zmq_recv of one message
 * A record counts as received when the reader's blocking receive has copied all of its bytes
 * into the reader's buffer.
 */
#ifndef BENCH_PEERS_H
#define BENCH_PEERS_H

#include "bench/harness.h"

extern const struct transport peer_pipe;
extern const struct transport peer_unix;
extern const struct transport peer_mq;
extern const struct transport peer_zmq;

#endif /* BENCH_PEERS_H */
