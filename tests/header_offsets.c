/* header_offsets.c - the offsets of header_offsets.h, taken from core/layout.h. */
#include "tests/header_offsets.h"

#include "core/layout.h"

const struct shmbus_test_header_offsets shmbus_test_header = {
    .layout_version = offsetof(struct shmbus__header, layout_version),
    .wake_shmid = offsetof(struct shmbus__header, wake_shmid),
    .wake_key = offsetof(struct shmbus__header, wake_key),
};
