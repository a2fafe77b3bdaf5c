/* error.c - shmbus_strerror(): a sentence a user can act on for every code. */
#include <errno.h>
#include <string.h>

#include "core/shmbus.h"

/* A macro's value as a string literal: messages state limits from the macros that set them. */
#define STRINGIFY(x) #x
#define VALUE_OF(macro) STRINGIFY(macro)

const char *shmbus_strerror(int err) {
  if (err < 0) err = -err;
  switch (err) {
    case 0: return "success";
    case ENOENT: return "no such bus (check its name, or wait for its writer to create it)";
    case EACCES: return "permission denied: the bus's owner has not granted you access";
    case EINVAL:
      return "invalid argument (bus names are 1-" VALUE_OF(
          SHMBUS_NAME_MAX) " characters of A-Z a-z 0-9 _ . -, not starting with '.')";
    case ENAMETOOLONG:
      return "bus name too long (at most " VALUE_OF(SHMBUS_NAME_MAX) " characters)";
    case EPROTO: return "not a shmbus bus, or its header is corrupt or truncated";
    case EPROTONOSUPPORT:
      return "the bus was made by an incompatible shmbus version (other layout version)";
    case EMSGSIZE: return "record larger than the bus's capacity; nothing was published";
    case ENOBUFS: return "buffer too small for the record; nothing was consumed";
    case ENODATA: return "nothing has been published on this bus yet";
    case EAGAIN: return "no newer record yet";
    case ETIMEDOUT: return "timed out waiting for a record";
    case EOWNERDEAD: return "the bus's writer is gone (it died or closed) and nothing newer exists";
    case ESTALE: return "the bus was replaced or removed; reopen it by name";
    case EBUSY: return "another live writer holds this bus";
    case EPERM: return "an object of this bus belongs to another user; refusing to use it";
    case EBADMSG: return "corrupt record on the bus (length beyond capacity)";
    case ENOSPC: return "no room in /dev/shm for the bus";
    case ENOMEM: return "out of memory";
    case ECANCELED:
      return "the writer overwrote the borrowed record (lapped the reader): discard what was read "
             "through it and borrow again";
    default: return strerror(err);
  }
}
