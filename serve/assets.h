/* assets.h - the page's files, embedded at build time (serve/embed.c writes serve_assets.c from
 * serve/page/ in a genrule): the server needs no file, the page no CDN. */
#ifndef SHMBUS_SERVE_ASSETS_H
#define SHMBUS_SERVE_ASSETS_H

#include <stddef.h>

struct serve_asset {
  const char *path; /* "/app.js"; index.html is also "/" */
  const char *mime;
  const unsigned char *data;
  size_t len;
};

/* serve_asset_find() - the file served at URL path @path (a query string ignored), or NULL. */
const struct serve_asset *serve_asset_find(const char *path);

#endif /* SHMBUS_SERVE_ASSETS_H */
