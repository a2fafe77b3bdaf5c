/* format.c - record output formats; UTF-8 validation, JSON strings, base64. */
#include "tools/format.h"

#include <errno.h>
#include <string.h>

#include "tools/common.h"

int parse_format(const char *s, enum out_format *out) {
  static const char *names[] = {"text", "hex", "json", "raw"};
  int i;
  for (i = 0; i < 4; i++)
    if (strcmp(s, names[i]) == 0) {
      *out = (enum out_format)i;
      return 0;
    }
  return -EINVAL;
}

/* The length of the valid UTF-8 sequence at @p (@n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n) {
  unsigned c = p[0], need, min, cp, k;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    need = 1;
    min = 0x80;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 2;
    min = 0x800;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 3;
    min = 0x10000;
    cp = c & 0x07;
  } else return 0;
  if (n <= need) return 0;
  for (k = 1; k <= need; k++) {
    if ((p[k] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (p[k] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return need + 1;
}

int utf8_valid(const unsigned char *p, size_t n) {
  size_t i = 0, k;
  while (i < n) {
    if ((k = utf8_seq(p + i, n - i)) == 0) return 0;
    i += k;
  }
  return 1;
}

void json_quote(FILE *f, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, k;
  fputc('"', f);
  while (i < n) {
    unsigned char c = p[i];
    if ((k = utf8_seq(p + i, n - i)) == 0) { /* not UTF-8: the replacement character */
      fputs("\\ufffd", f);
      i++;
      continue;
    }
    switch (c) {
      case '"': fputs("\\\"", f); break;
      case '\\': fputs("\\\\", f); break;
      case '\n': fputs("\\n", f); break;
      case '\r': fputs("\\r", f); break;
      case '\t': fputs("\\t", f); break;
      default:
        if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
        else fwrite(p + i, 1, k, f);
    }
    i += k;
  }
  fputc('"', f);
}

void base64(FILE *f, const unsigned char *p, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i;
  for (i = 0; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    fputc(tab[v >> 18], f);
    fputc(tab[(v >> 12) & 63], f);
    fputc(tab[(v >> 6) & 63], f);
    fputc(tab[v & 63], f);
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)p[i] << 16;
    fputc(tab[v >> 18], f);
    fputc(tab[(v >> 12) & 63], f);
    fputs("==", f);
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
    fputc(tab[v >> 18], f);
    fputc(tab[(v >> 12) & 63], f);
    fputc(tab[(v >> 6) & 63], f);
    fputc('=', f);
  }
}

static void hex(FILE *f, const unsigned char *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  size_t i;
  for (i = 0; i < n; i++) {
    fputc(digits[p[i] >> 4], f);
    fputc(digits[p[i] & 15], f);
  }
}

/* "v=12 t=2026-11-26T17:10:00.123456Z latency=12.3us len=5 [skipped=3] " */
void print_prefix(FILE *f, const struct out_record *r) {
  char t[64], lat[32];
  fmt_time_iso(r->timestamp_ns, t, sizeof t);
  fmt_duration(r->latency_ns / 1e9, lat, sizeof lat);
  fprintf(f, "v=%llu t=%s latency=%s len=%zu", (unsigned long long)r->version, t, lat, r->length);
  if (r->skipped) fprintf(f, " skipped=%llu", (unsigned long long)r->skipped);
  fputs(": ", f);
}

int print_record(FILE *f, enum out_format fmt, int verbose, const struct out_record *r) {
  const unsigned char *p = r->data;
  switch (fmt) {
    case FMT_TEXT:
      if (verbose) print_prefix(f, r);
      fwrite(p, 1, r->length, f);
      fputc('\n', f);
      break;
    case FMT_HEX:
      if (verbose) print_prefix(f, r);
      hex(f, p, r->length);
      fputc('\n', f);
      break;
    case FMT_RAW: fwrite(p, 1, r->length, f); break;
    case FMT_JSON:
      fputs("{\"bus\":", f);
      json_quote(f, r->bus, strlen(r->bus));
      fprintf(f,
              ",\"version\":%llu,\"timestamp_ns\":%lld,\"latency_ns\":%lld,"
              "\"length\":%zu,\"skipped\":%llu,",
              (unsigned long long)r->version, (long long)r->timestamp_ns, (long long)r->latency_ns,
              r->length, (unsigned long long)r->skipped);
      if (utf8_valid(p, r->length)) {
        fputs("\"encoding\":\"utf-8\",\"payload\":", f);
        json_quote(f, (const char *)p, r->length);
      } else {
        fputs("\"encoding\":\"base64\",\"payload\":\"", f);
        base64(f, p, r->length);
        fputc('"', f);
      }
      fputs("}\n", f);
      break;
  }
  return ferror(f) ? -EIO : 0;
}
