/* format.h - how shmsub prints a record: text, hex, json or raw; base64 and JSON strings. */
#ifndef SHMBUS_TOOLS_FORMAT_H
#define SHMBUS_TOOLS_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum out_format { FMT_TEXT, FMT_HEX, FMT_JSON, FMT_RAW };

/* parse_format() - "text", "hex", "json" or "raw". Return: 0; -EINVAL. */
int parse_format(const char *s, enum out_format *out);

/* What is printed with a record besides its bytes. */
struct out_record {
  const char *bus;
  uint64_t version;
  int64_t timestamp_ns; /* CLOCK_REALTIME at publish */
  int64_t latency_ns;   /* receive time - timestamp_ns */
  uint64_t skipped;     /* newer records this reader did not print before this one */
  const void *data;
  size_t length;
};

/* print_record() - one record to @f in format @fmt; @verbose adds version, time, latency
 * (text and hex: a prefix; json always has them; raw never). Does not flush: the caller
 * flushes before it waits, so a burst costs one write. Return: 0; -EIO (write error). */
int print_record(FILE *f, enum out_format fmt, int verbose, const struct out_record *r);

/* print_prefix() - what -v prints before a record in text and hex: "v=12 t=... latency=12.3us
 * len=5 [skipped=3]: ". */
void print_prefix(FILE *f, const struct out_record *r);

/* utf8_valid() - 1 if @n bytes at @p are valid UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const unsigned char *p, size_t n);

/* json_quote() - @n bytes as a quoted JSON string to @f: always valid JSON; a byte that is
 * not part of valid UTF-8 becomes U+FFFD (payloads that are not UTF-8 go as base64). */
void json_quote(FILE *f, const char *s, size_t n);

/* base64() - @n bytes as standard base64 (RFC 4648, padded) to @f. */
void base64(FILE *f, const unsigned char *p, size_t n);

#endif /* SHMBUS_TOOLS_FORMAT_H */
