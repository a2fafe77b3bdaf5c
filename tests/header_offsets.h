/* header_offsets.h - where the fields of a bus's header lie in its records object, for tests
 * that read or write them with pread()/pwrite(). From core/layout.h, through a C file
 * (header_offsets.c): layout.h's _Atomic fields are not C++. */
#ifndef SHMBUS_TESTS_HEADER_OFFSETS_H
#define SHMBUS_TESTS_HEADER_OFFSETS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct shmbus_test_header_offsets {
  size_t layout_version;
  size_t wake_shmid;
  size_t wake_key;
};

extern const struct shmbus_test_header_offsets shmbus_test_header;

#ifdef __cplusplus
}
#endif

#endif /* SHMBUS_TESTS_HEADER_OFFSETS_H */
