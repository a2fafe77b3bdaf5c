/* fuzz_serve.c - fuzz target 5: `shmbus serve`'s client-message parser and protocol state
 * (serve/hub.c) over arbitrary client input.
 *
 * An input is a script of steps, each [op byte][16-bit length][bytes]: op & 3 = 0 a text
 * message, 1 a binary message, 2 a bus side event (a channel appears, is removed, or offers a
 * record: chosen by the first byte), 3 drain the client's frames. Two clients share a hub with
 * three channels and clientPublish on (a stub writer accepts topics starting with "ok").
 * Checks: no crash, no leak, no out-of-bounds access (ASan), every call returns a documented
 * code, every text frame is one JSON object with a string "op", every binary frame a message-data
 * frame of a subscription's record, and a client's queued control bytes stay within the bound. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/hub.h"
#include "tests/fuzz/fuzz_common.h"

static void want_write(void *ctx, void *user) {
  (void)ctx;
  (void)user;
}

static struct serve_payload *latest(void *ctx, struct hub_channel *ch) {
  struct serve_payload *p = serve_payload_new(3);
  (void)ctx;
  (void)ch;
  if (p) {
    memcpy(p->data, "abc", 3);
    p->version = 1;
    p->timestamp_ns = 42;
  }
  return p;
}

static int pubs_open;

static int pub_open(void *ctx, const char *topic, const char *enc, const char *sn, void **h,
                    char *err, size_t errlen) {
  (void)ctx;
  (void)enc;
  (void)sn;
  if (strncmp(topic, "ok", 2) != 0) {
    snprintf(err, errlen, "not allowed");
    return -EPERM;
  }
  *h = malloc(1); /* a leak shows a writer never closed */
  pubs_open++;
  return *h ? 0 : -ENOMEM;
}

static int pub_write(void *ctx, void *h, const void *d, size_t n, char *err, size_t errlen) {
  (void)ctx;
  (void)h;
  (void)d;
  (void)err;
  (void)errlen;
  return n > 100 ? -EMSGSIZE : 0;
}

static void pub_close(void *ctx, void *h) {
  (void)ctx;
  free(h);
  pubs_open--;
}

static const struct hub_ops ops = {want_write, latest, NULL, pub_open, pub_write, pub_close};

static void drain(struct hub *h, struct hub_client *c) {
  unsigned char *buf;
  size_t len;
  int binary, rc, n = 0;
  while ((rc = hub_client_frame(h, c, &buf, &len, &binary)) == 1) {
    if (binary) {
      if (len < HUB_DATA_HEADER || buf[HUB_PRE] != 1)
        fuzz_fail("a binary frame of %zu bytes, opcode %d", len, buf[HUB_PRE]);
    } else {
      json_t *j = json_loadb((const char *)buf + HUB_PRE, len, 0, NULL);
      if (j == NULL || !json_is_string(json_object_get(j, "op")))
        fuzz_fail("a text frame that is not a JSON object with an op: %.*s", (int)len,
                  buf + HUB_PRE);
      json_decref(j);
    }
    if (++n > 100000) fuzz_fail("a client's frames never end");
  }
  if (rc != 0 && rc != -ENOBUFS) fuzz_fail("hub_client_frame returned undocumented %d", rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const enc[] = {"json", NULL};
  struct hub *h = hub_new(&ops, NULL, "fuzz", 1, enc);
  struct hub_client *c[2];
  struct hub_channel *ch[8] = {0};
  struct hub_channel_desc d = {"bus", "x-shmbus-raw", "t", "", "sch\xff\x00ema", 8};
  size_t pos = 0;
  int i, nch = 0, which = 0;
  if (h == NULL) return 0;
  for (i = 0; i < 3; i++) ch[nch++] = hub_channel_add(h, &d, NULL);
  c[0] = hub_client_new(h, NULL, "a");
  c[1] = hub_client_new(h, NULL, "b");
  while (pos + 3 <= size) {
    unsigned op = data[pos];
    size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
    const uint8_t *p = data + pos + 3;
    int rc;
    if (len > size - pos - 3) len = size - pos - 3;
    pos += 3 + len;
    which = (op >> 7) & 1;
    switch (op & 3) {
      case 0:
      case 1:
        rc = hub_client_message(h, c[which], p, len, op & 1);
        if (rc != 0 && rc != -ENOBUFS && rc != -EMSGSIZE)
          fuzz_fail("hub_client_message returned undocumented %d", rc);
        break;
      case 2: {
        unsigned k = len ? p[0] : 0;
        if (k % 3 == 0 && nch < 8) {
          ch[nch++] = hub_channel_add(h, &d, NULL);
        } else if (k % 3 == 1 && nch > 0) {
          unsigned j = (k / 3) % (unsigned)nch;
          if (ch[j]) hub_channel_remove(h, ch[j]);
          ch[j] = ch[--nch];
        } else if (nch > 0) {
          unsigned j = (k / 3) % (unsigned)nch;
          struct serve_payload *pl = serve_payload_new(len);
          if (pl && ch[j]) {
            memcpy(pl->data, p, len);
            hub_channel_offer(h, ch[j], pl);
          }
          serve_payload_unref(pl);
        }
        break;
      }
      case 3: drain(h, c[which]); break;
    }
    for (i = 0; i < 2; i++) {
      struct hub_client_stats st;
      hub_client_stats(c[i], &st);
      if (st.queued > HUB_MAX_TEXT_QUEUE) fuzz_fail("%zu control bytes queued", st.queued);
    }
  }
  drain(h, c[0]);
  drain(h, c[1]);
  hub_client_free(h, c[0]);
  hub_client_free(h, c[1]);
  if (pubs_open != 0) fuzz_fail("%d client writers left open", pubs_open);
  hub_free(h);
  return 0;
}
