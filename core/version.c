/* version.c - the library's version at run time (a program may run against another build of
 * libshmbus.so than the headers it was compiled with). */
#include "core/shmbus.h"

const char *shmbus_version(void) { return SHMBUS_VERSION_STRING; }
