/* hub.h - the Foxglove WebSocket protocol's state, with no sockets: channels, clients, their
 * subscriptions and their queues (serve/hub.c). The transport (serve/server.c, over
 * libwebsockets) feeds it client messages and asks it for the next frame to send; the bus
 * side (serve/buses.c) adds and removes channels and offers records. Everything runs on one
 * thread (the server's event loop): nothing here locks.
 *
 * Invariant (latest-value queues): a client holds, per subscription, at most one unsent
 * record: the newest. A record offered while an older one is still unsent replaces it and the
 * older one counts as dropped. So a client that reads slowly, or not at all, costs the writer
 * and the other clients nothing, and its memory is bounded (docs/TOOLS.md, "Memory"; checked by
 * //tests/serve_node:slow_client_test, whose negative controls break this invariant through
 * the test hooks in hub.c, compiled into //serve:hub_testing only):
 *   text queue     <= HUB_MAX_TEXT_QUEUE bytes of control messages (advertise, status...);
 *                     a client past it is closed
 *   record slots   <= one shared payload per subscription (subscriptions <= HUB_MAX_SUBS);
 *                     a payload is shared by every client it is queued for, not copied
 *   send buffer    the largest frame sent to it so far (<= largest record + 13 bytes)
 *
 * Protocol: https://github.com/foxglove/ws-protocol (subprotocol foxglove.websocket.v1):
 * serverInfo, status, advertise, unadvertise, and binary message-data frames
 * (0x01, subscription id u32 LE, timestamp u64 LE ns, payload) to the client; subscribe,
 * unsubscribe, and with clientPublish advertise, unadvertise and binary client message data
 * (0x01, channel id u32 LE, payload) from the client. */
#ifndef SHMBUS_SERVE_HUB_H
#define SHMBUS_SERVE_HUB_H

#include <stddef.h>
#include <stdint.h>

#define HUB_PRE 16                        /* room kept before every frame (LWS_PRE) */
#define HUB_MAX_TEXT_QUEUE (4u << 20)     /* control bytes queued per client, then closed */
#define HUB_MAX_SUBS 4096                 /* subscriptions per client */
#define HUB_MAX_CLIENT_CHANNELS 256       /* client-advertised channels per client */
#define HUB_MAX_CLIENT_MESSAGE (1u << 20) /* a client's message, text or binary */
#define HUB_DATA_HEADER 13                /* opcode, subscription id, timestamp */

/* A record as sent: shared by reference between the channel and every client it is queued
 * for; immutable once offered. */
struct serve_payload {
  unsigned refs;
  uint64_t version;
  uint64_t timestamp_ns;
  size_t len;
  unsigned char data[];
};

/* serve_payload_new() - a payload of @len bytes (uninitialised) with one reference. NULL:
 * out of memory. serve_payload_unref() accepts NULL. */
struct serve_payload *serve_payload_new(size_t len);
struct serve_payload *serve_payload_ref(struct serve_payload *p);
void serve_payload_unref(struct serve_payload *p);

struct hub;
struct hub_client;
struct hub_channel;

/* What the hub asks of the transport and of the bus side. */
struct hub_ops {
  /* The client (its transport handle @user) has a frame to send: call hub_client_frame()
   * when its socket is writable. */
  void (*want_write)(void *ctx, void *user);
  /* The newest record of @ch now, as a new reference (NULL: none). Called when a client
   * subscribes (it gets the latest value at once, as a shmbus reader does). */
  struct serve_payload *(*latest)(void *ctx, struct hub_channel *ch);
  /* The number of subscribers of @ch changed to @n (0: the bus side may stop converting). */
  void (*subscribers)(void *ctx, struct hub_channel *ch, unsigned n);
  /* clientPublish: open a writer for @topic in @encoding; 0 and *@h, or a negative errno
   * with a sentence in @err. */
  int (*pub_open)(void *ctx, const char *topic, const char *encoding, const char *schema_name,
                  void **h, char *err, size_t errlen);
  int (*pub_write)(void *ctx, void *h, const void *data, size_t len, char *err, size_t errlen);
  void (*pub_close)(void *ctx, void *h);
};

/* hub_new() - a hub named @name (serverInfo's name). @publish: advertise the clientPublish
 * capability (with @encodings, a NULL-terminated list, as supportedEncodings). NULL: no
 * memory. hub_free() closes nothing: free the clients first. */
struct hub *hub_new(const struct hub_ops *ops, void *ctx, const char *name, int publish,
                    const char *const *encodings);
void hub_free(struct hub *h);

/* A channel as advertised. Strings are copied. The schema need not be NUL-terminated; it is
 * sent as a JSON string (invalid UTF-8 replaced by U+FFFD). */
struct hub_channel_desc {
  const char *topic;
  const char *encoding;
  const char *schema_name;
  const char *schema_encoding; /* NULL or "": not sent */
  const char *schema;
  size_t schema_len;
};

/* hub_channel_add() - a new channel (a fresh id, never reused), advertised to every client.
 * @bus: the bus side's handle, hub_channel_bus() gives it back. NULL: no memory. */
struct hub_channel *hub_channel_add(struct hub *h, const struct hub_channel_desc *d, void *bus);

/* hub_channel_remove() - unadvertise @ch to every client, drop its subscriptions and what
 * they had queued, free it. */
void hub_channel_remove(struct hub *h, struct hub_channel *ch);

/* hub_channel_offer() - @p (the caller keeps its reference) becomes the newest unsent record
 * of every subscription of @ch; an older unsent one is dropped and counted. */
void hub_channel_offer(struct hub *h, struct hub_channel *ch, struct serve_payload *p);

uint32_t hub_channel_id(const struct hub_channel *ch);
unsigned hub_channel_subscribers(const struct hub_channel *ch);
void *hub_channel_bus(const struct hub_channel *ch);
const char *hub_channel_topic(const struct hub_channel *ch);

/* hub_client_new() - a connected client (@user: the transport's handle; @peer: its address,
 * for the status channel). Queues serverInfo and the advertisement of every channel. NULL:
 * no memory. */
struct hub_client *hub_client_new(struct hub *h, void *user, const char *peer);

/* hub_client_free() - the client went away: its subscriptions end, its client channels'
 * writers close. NULL is a harmless no-op. */
void hub_client_free(struct hub *h, struct hub_client *c);

/* hub_client_message() - one complete message from the client (@binary: a binary frame).
 * Malformed input (not JSON, an unknown op, an unknown id, a bad field) gets a status message
 * of level error, and the client stays connected.
 * Return: 0; -EMSGSIZE: the message is longer than HUB_MAX_CLIENT_MESSAGE; -ENOBUFS: the
 * client's text queue is full (it does not read): close it. */
int hub_client_message(struct hub *h, struct hub_client *c, const void *data, size_t len,
                       int binary);

/* hub_client_frame() - the next frame to send to @c: *@buf has HUB_PRE bytes of room, then
 * *@len bytes of frame (valid until the next call for @c); *@binary says which kind. Control
 * messages go first, then one record per subscription in turn.
 * Return: 1 (a frame; call again when writable: there may be more); 0: nothing to send;
 * -ENOBUFS: close the client (its text queue overflowed). */
int hub_client_frame(struct hub *h, struct hub_client *c, unsigned char **buf, size_t *len,
                     int *binary);

/* hub_client_status() - queue a status message (level 0 info, 1 warning, 2 error). */
void hub_client_status(struct hub *h, struct hub_client *c, int level, const char *msg);

struct hub_client_stats {
  uint32_t id;
  const char *peer;
  unsigned subscriptions;
  uint64_t sent;    /* records sent */
  uint64_t dropped; /* records replaced by a newer one before they were sent */
  uint64_t pending; /* records waiting to be sent (at most one per subscription) */
  size_t queued;    /* bytes of control messages queued */
};

/* hub_clients() - call @cb for every client, in order of connection. */
void hub_clients(struct hub *h, void (*cb)(void *arg, const struct hub_client_stats *s), void *arg);
unsigned hub_client_count(const struct hub *h);
void hub_client_stats(const struct hub_client *c, struct hub_client_stats *s);

#endif /* SHMBUS_SERVE_HUB_H */
