/* shmbus - a shared-memory broadcast bus for Linux.
 *
 * One writer per bus publishes versioned records into a ring of seqlocked slots in a POSIX
 * shared-memory object; any number of readers, in any processes, map it read-only and copy out
 * consistent snapshots. The protocol is in docs/PROTOCOL.md.
 *
 * Invariant: a record handed out by a read call is exactly the bytes the writer published for
 * its version; never a mix of two versions. (A borrowed record: the bytes read through it
 * before a shmbus_sub_borrow_valid() that returned 1.)
 *
 * Lifecycle:
 *   writer: shmbus_pub_open() -> shmbus_pub_publish() / shmbus_pub_reserve()+shmbus_pub_commit()
 *           ... -> shmbus_pub_close()
 *   reader: shmbus_sub_open() -> shmbus_sub_wait() + shmbus_sub_read_latest() or
 *           shmbus_sub_next() (or, zero-copy, shmbus_sub_borrow() + shmbus_sub_borrow_valid()
 *           + shmbus_sub_borrow_release()) ... -> shmbus_sub_close()
 *
 * Errors: every call returns 0 (or a length), or a negative errno. The codes with a shmbus
 * meaning are:
 *   -ENOENT           no bus of that name exists
 *   -EACCES           permission denied (the bus's mode does not let this user open it)
 *   -EINVAL           invalid argument or bus name (empty, '/', bad characters)
 *   -ENAMETOOLONG     bus name longer than SHMBUS_NAME_MAX
 *   -EPROTO           the object is not a shmbus bus, or its header is inconsistent or truncated
 *   -EPROTONOSUPPORT  a shmbus bus of another layout version
 *   -EMSGSIZE         record larger than the bus's capacity; nothing was published
 *   -ENOBUFS          the caller's buffer is too small; info->length says the size needed,
 *                     and nothing was consumed
 *   -ENODATA          nothing has been published on the bus yet
 *   -EAGAIN           no record newer than the reader's cursor (non-blocking calls)
 *   -ETIMEDOUT        wait timed out
 *   -EOWNERDEAD       the bus's writer died or closed, and nothing newer exists
 *   -ESTALE           the bus was replaced or removed; reopen it by name
 *   -EBUSY            another live writer holds the bus (shmbus_lock_holder() gives its pid)
 *   -EPERM            an object of the bus exists but belongs to another user (the writer
 *                     never adopts it)
 *   -EBADMSG          a record's header is inconsistent (length beyond capacity): corruption
 *   -ENOSPC           /dev/shm has no room for the bus
 *   -ECANCELED        a borrowed record was overwritten by the writer (lapped): discard
 *                     what was read through it (shmbus_sub_borrow_release())
 * shmbus_strerror() turns each into a sentence.
 *
 * Concurrency: a shmbus_pub is used by one thread at a time (the single writer); a shmbus_sub
 * likewise by one thread at a time. Any number of shmbus_sub, in any threads and processes, may
 * read one bus while its writer publishes. No call of a reader ever blocks or slows the writer.
 */
#ifndef SHMBUS_H
#define SHMBUS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMBUS_VERSION_STRING "0.1.0"
#define SHMBUS_NAME_MAX 200 /* longest bus name, in bytes */
#define SHMBUS_TYPE_MAX 31  /* longest type tag, in bytes */
#define SHMBUS_DEFAULT_SLOTS 8
#define SHMBUS_DEFAULT_CAPACITY (64u * 1024u)
#define SHMBUS_MAX_SLOTS 65536u
#define SHMBUS_MAX_CAPACITY (1ull << 30)
#define SHMBUS_LAYOUT_VERSION 2      /* the newest layout this library reads and writes */
#define SHMBUS_LAYOUT_VERSION_MIN 1  /* the oldest layout it reads */
#define SHMBUS_SCHEMA_MAX (1u << 20) /* longest schema text, in bytes (1 MiB) */
#define SHMBUS_TYPE_NAME_MAX 255     /* longest schema type name, in bytes */
#define SHMBUS_ENCODING_MAX 31       /* longest encoding name, in bytes */
/* The message encoding of records that are a plain C struct in this machine's ABI, described
 * by an "omgidl" schema (docs/TYPES.md says exactly how; types/shmbus_types.h decodes them). */
#define SHMBUS_MSG_CSTRUCT "x-shmbus-cstruct"

typedef struct shmbus_pub shmbus_pub;
typedef struct shmbus_sub shmbus_sub;
struct shmbus_schema;

/* Writer options. Initialise with shmbus_pub_opts_init(), then set what differs. */
struct shmbus_pub_opts {
  uint32_t slots;    /* ring depth N (2..65536); 0 = adopt an existing bus's, else default 8 */
  uint64_t capacity; /* largest record in bytes; 0 = adopt an existing bus's, else 64 KiB */
  const char *type;  /* type tag (<= 31 printable chars); NULL = adopt existing, else "" */
  mode_t mode;       /* read permission of the bus: 0600 (default), 0640 or 0644 */
  gid_t gid;         /* group for 0640; (gid_t)-1 = the writer's group */
  uint32_t flags;    /* SHMBUS_PUB_* below; 0 = adopt, create or replace as needed */
  /* The bus's schema (docs/TYPES.md); NULL = adopt an existing bus's, else none. Adopting
   * needs the same schema hash; a different one replaces the bus. */
  const struct shmbus_schema *schema;
};

/* The schema a typed bus carries (docs/PROTOCOL.md, Schema block; docs/TYPES.md). Names follow
 * the MCAP well-known encodings registry: schema encodings "omgidl", "ros2msg", "ros2idl",
 * "jsonschema", "protobuf", "flatbuffer"; message encodings "cdr", "json", "protobuf",
 * "flatbuffer", ..., and SHMBUS_MSG_CSTRUCT. The library stores and bounds them; it checks only
 * their lengths and that names are printable ASCII (types/shmbus_types.h parses "omgidl"). */
struct shmbus_schema {
  const char *type_name;        /* e.g. "sensors::Imu"; 1..255 printable chars */
  const char *schema_encoding;  /* e.g. "omgidl"; 0..31 printable chars ("" = none) */
  const char *message_encoding; /* e.g. SHMBUS_MSG_CSTRUCT, "json"; 1..31 printable chars */
  const void *text;             /* the schema (any bytes; not NUL-terminated) */
  size_t text_len;              /* 0..SHMBUS_SCHEMA_MAX */
  uint64_t hash;                /* shmbus_schema_hash() (filled by shmbus_sub_schema()) */
};

enum {
  /* Create the bus or fail with -EEXIST: never adopt nor replace one that exists, even one
   * created an instant before (the check and the creation are one step: link(2)). */
  SHMBUS_PUB_CREATE = 1,
};

/* What a read returns besides the bytes. */
struct shmbus_record_info {
  uint64_t version;      /* 1, 2, 3, ... per bus, across writer restarts */
  uint64_t length;       /* bytes in the record (on -ENOBUFS: the size needed) */
  uint64_t timestamp_ns; /* CLOCK_REALTIME when the writer published it */
  uint64_t lost;         /* records skipped since the previous one read (next(), read_latest()) */
};

/* A bus as seen from outside (shmbus_stat(), shmbus_sub_stat()). */
struct shmbus_bus_info {
  char type[SHMBUS_TYPE_MAX + 1];
  uint32_t slots;
  uint64_t capacity;
  uint64_t total_size;      /* bytes of shared memory: 4096 + schema block + slots x stride */
  uint64_t latest;          /* newest version, 0 = none yet */
  uint64_t last_publish_ns; /* CLOCK_REALTIME of the newest record, 0 = none */
  uint64_t created_ns;
  pid_t writer_pid;  /* last writer's pid, 0 = never had one */
  int writer_alive;  /* 1 running, 0 dead or closed */
  int writer_closed; /* 1 when the last writer closed cleanly */
  int replaced;      /* 1 when a newer bus took the name */
  int sleepers;      /* registered readers asleep on the futex (or about to be) */
  uid_t uid;         /* owner and permissions of the records object */
  gid_t gid;
  mode_t mode;
  int readers;             /* live registered readers (shmbus_readers()); -1: no registry */
  uint32_t layout_version; /* 2; 1 for a bus of an older writer (read-only support) */
  /* The schema (shmbus_sub_schema() has the text); all "" and 0 for an untyped bus. */
  char type_name[SHMBUS_TYPE_NAME_MAX + 1];
  char schema_encoding[SHMBUS_ENCODING_MAX + 1];
  char message_encoding[SHMBUS_ENCODING_MAX + 1];
  uint64_t schema_len;  /* bytes of schema text */
  uint64_t schema_hash; /* shmbus_schema_hash() */
};

/* One reader of a bus, from the bus's reader registry (shmbus_readers()). Advisory: a reader
 * writes its own entry and a hostile one could write anything; pid and liveness are checked
 * against /proc by the call, the other fields are bounded but otherwise as found. */
struct shmbus_reader_info {
  pid_t pid;          /* the reading process */
  int mode;           /* enum shmbus_wait_mode of its last wait (without flags) */
  int asleep;         /* 1: announced in the wake word, in FUTEX_WAIT or about to be */
  int spinning;       /* 1: in the spin phase of a wait */
  int pollfd;         /* 1: it has a pollable descriptor (a notifier thread) */
  uint64_t cursor;    /* the version its next read returns, as of its last wait */
  uint64_t lost;      /* records it lost, as of its last wait */
  uint64_t active_ns; /* CLOCK_REALTIME of its last wait */
  uint64_t opened_ns; /* CLOCK_REALTIME of its shmbus_sub_open() */
};

/* ---------------------------------------------------------------- writer */

/* shmbus_pub_opts_init() - fill @o with the defaults (adopt or 8 x 64 KiB, owner-only). */
void shmbus_pub_opts_init(struct shmbus_pub_opts *o);

/* shmbus_pub_open() - become the writer of bus @name, creating it if needed.
 * Takes the bus's single-writer lock (released by the kernel if this process dies). If the bus
 * exists with the same geometry and type (or @opts leaves them 0/NULL), adopts it and resumes
 * its versions; readers keep their mappings. Otherwise creates it, or replaces it (old readers
 * get -ESTALE). @opts may be NULL for defaults. The mode and group of an adopted bus are set to
 * @opts's. The segment is allocated and pre-faulted here, so publishing never page-faults.
 * Context: any thread; one writer per bus at a time, across all processes.
 * Return: 0 and *@out; -EINVAL, -ENAMETOOLONG, -EBUSY, -EPERM, -EPROTO, -EPROTONOSUPPORT,
 *         -ENOSPC, -ENOMEM, -EAGAIN (something other than a shmbus writer kept creating or
 *         removing the bus's file while we opened it: try again), -EEXIST (with
 *         SHMBUS_PUB_CREATE: the bus exists; it is left as it was), or another negative errno.
 */
int shmbus_pub_open(const char *name, const struct shmbus_pub_opts *opts, shmbus_pub **out);

/* shmbus_pub_publish() - publish @len bytes from @data as the next version.
 * Never waits for readers; makes no system call unless a reader sleeps, then one FUTEX_WAKE
 * that wakes 2 sleepers whatever their number (each woken reader wakes 2 more: the cost to the
 * writer is constant; docs/PROTOCOL.md, Wait/wake).
 * Context: the writer's thread. Return: 0; -EMSGSIZE (len > capacity; nothing published);
 *         -EINVAL (NULL pub, or NULL data with len > 0); -ESTALE (this writer was forced out:
 *         `shmbus rm --force`, or the bus was replaced; nothing published: close and reopen).
 */
int shmbus_pub_publish(shmbus_pub *p, const void *data, size_t len);

/* shmbus_pub_reserve() - start the next version in place: *@data points at @len writable bytes
 * inside the slot. Write the record there, then call shmbus_pub_commit(). Readers never see
 * the slot until the commit. Calling reserve again before commit restarts the same version.
 * Plain stores through *@data are what the seqlock orders (see "Zero-copy stores" below);
 * shmbus_pub_store() writes the same bytes with no formal data race.
 * Return: 0; -EMSGSIZE; -EINVAL; -ESTALE (forced out, as publish).
 */
int shmbus_pub_reserve(shmbus_pub *p, size_t len, void **data);

/* shmbus_pub_commit() - publish the reserved record with its final length @len (<= the
 * reserved length). Return: 0; -EINVAL (nothing reserved, or @len larger than reserved).
 */
int shmbus_pub_commit(shmbus_pub *p, size_t len);

/* shmbus_pub_version() - the last version this bus published (0 = none). */
uint64_t shmbus_pub_version(const shmbus_pub *p);

/* shmbus_pub_info() - the bus's geometry and state, as shmbus_stat(). Return: 0; -EINVAL. */
int shmbus_pub_info(const shmbus_pub *p, struct shmbus_bus_info *info);

/* shmbus_pub_close() - stop being the writer: marks the bus "closed cleanly", wakes every
 * sleeping reader (they get -EOWNERDEAD), releases the lock. The bus and its latest value stay.
 * NULL is a harmless no-op.
 */
void shmbus_pub_close(shmbus_pub *p);

/* ---------------------------------------------------------------- reader */

/* shmbus_sub_open() - open bus @name read-only. Records are mapped PROT_READ from an O_RDONLY
 * descriptor and pre-faulted; the header is validated before it is trusted. The cursor starts
 * at the latest record (a late joiner's first next() returns it at once); see shmbus_sub_seek().
 * Never blocks: anything but a regular file at the bus's path (a FIFO, a socket, a directory,
 * a symlink) is -EPROTO at once. To refuse a bus planted by another user, see
 * shmbus_sub_open_owner(). @flags: 0. Wakeups need the bus's wake page (a System V segment
 * the bus's mode lets readers write); a reader that cannot attach it (another IPC namespace) still works, polling every
 * 10 ms when it sleeps.
 * Return: 0 and *@out; -ENOENT, -EACCES, -EINVAL, -ENAMETOOLONG, -EPROTO, -EPROTONOSUPPORT,
 *         -ENOMEM.
 */
int shmbus_sub_open(const char *name, int flags, shmbus_sub **out);

/* shmbus_sub_close() - unmap and free. NULL is a harmless no-op. */
void shmbus_sub_close(shmbus_sub *s);

/* shmbus_sub_read_latest() - copy the newest complete record into @buf (@cap bytes).
 * Moves the cursor past it. @info may be NULL.
 * Return: the record's length; -ENODATA (nothing published yet); -ENOBUFS (buffer too small,
 *         info->length = size needed, cursor unchanged); -ESTALE; -EBADMSG.
 */
ssize_t shmbus_sub_read_latest(shmbus_sub *s, void *buf, size_t cap,
                               struct shmbus_record_info *info);

/* shmbus_sub_next() - copy the record at the cursor (the next in order) and advance.
 * If the writer overwrote it (lapped this reader), skips to the oldest record still held and
 * sets info->lost to the number skipped. Never returns a record twice or out of order.
 * Records skipped by a call that returns no record are reported with the next record read
 * (next() or read_latest()), exactly once; on -ENOBUFS info->lost already shows that count.
 * A seek drops them.
 * Return: the length; -EAGAIN (nothing newer yet); -ENOBUFS (as above); -ESTALE; -EBADMSG.
 */
ssize_t shmbus_sub_next(shmbus_sub *s, void *buf, size_t cap, struct shmbus_record_info *info);

enum shmbus_wait_mode {
  SHMBUS_WAIT_HYBRID = 0, /* spin ~20 us, then sleep on the futex (default) */
  SHMBUS_WAIT_SPIN = 1,   /* spin until the deadline: lowest latency, burns a core */
  SHMBUS_WAIT_SLEEP = 2,  /* sleep on the futex at once */
  SHMBUS_WAIT_MODE_MASK = 3,
  SHMBUS_WAIT_THROUGH_DEATH = 4, /* flag: do not return -EOWNERDEAD; wait for a new writer */
};

/* shmbus_sub_wait() - wait until a record at or after the cursor exists (a version newer than
 * the last one this reader read), for at most @timeout_ns (< 0: forever; 0: just check).
 * Re-checks after every wakeup (EINTR, EAGAIN and spurious wakes are absorbed).
 * Return: 0 (something new: read it); -ETIMEDOUT; -EOWNERDEAD (writer died or closed and
 *         nothing new, noticed within 100 ms); -ESTALE (bus replaced or removed).
 */
int shmbus_sub_wait(shmbus_sub *s, int64_t timeout_ns, int mode);

enum shmbus_seek {
  SHMBUS_SEEK_LATEST = 0, /* next() returns the latest record, then newer ones */
  SHMBUS_SEEK_NEW = 1,    /* next() returns only records published after this call */
  SHMBUS_SEEK_OLDEST = 2, /* next() returns the oldest record still in the ring */
};

/* shmbus_sub_seek() - move the cursor. Return: 0; -EINVAL. */
int shmbus_sub_seek(shmbus_sub *s, int whence);

/* shmbus_sub_fd() - a descriptor for poll/epoll (POLLIN) that is readable while
 * shmbus_sub_wait(s, 0, ...) would not time out: a record at or after the cursor exists, the
 * writer died or closed (once per writer), or the bus was replaced or removed. When it polls
 * readable, call shmbus_sub_wait(s, 0, 0) to learn which (0: read records until -EAGAIN;
 * -EOWNERDEAD; -ESTALE: close and reopen). It may rarely poll readable spuriously; the calls
 * then return -EAGAIN/-ETIMEDOUT and it goes quiet.
 * Mechanism and cost: an eventfd fed by one notifier thread per subscriber, sleeping on the
 * bus's futex like a sleeping reader. Each notification costs an eventfd write and a read;
 * the wakeup adds one thread hop to a direct sleep's latency. The descriptor belongs to the
 * subscriber: do not close it; shmbus_sub_close() stops the thread (within 10 ms) and closes
 * it. Calling again returns the same descriptor.
 * Context: the owner thread, as every shmbus_sub call. Return: the descriptor; -ENOMEM;
 * -EMFILE; another negative errno.
 */
int shmbus_sub_fd(shmbus_sub *s);

/* shmbus_sub_latest() - the newest complete version right now (0 = none). */
uint64_t shmbus_sub_latest(const shmbus_sub *s);

/* shmbus_sub_info() - geometry and state of the bus this reader maps. Return: 0; -EINVAL. */
int shmbus_sub_info(shmbus_sub *s, struct shmbus_bus_info *info);

/* shmbus_sub_capacity() - the largest record the bus can hold (a buffer this big never gets
 * -ENOBUFS). */
uint64_t shmbus_sub_capacity(const shmbus_sub *s);

/* ---------------------------------------------------------------- administration */

/* shmbus_stat() - open @name read-only just long enough to fill @info. Errors as sub_open. */
int shmbus_stat(const char *name, struct shmbus_bus_info *info);

/* shmbus_readers() - the live readers of bus @name, from its reader registry: up to @n of
 * them into @out (@out may be NULL when @n is 0). Every subscriber registers when it opens
 * the bus and leaves when it closes; one that died is not listed (and its entry is reused).
 * At most 1023 readers are registered; more still read, unlisted. shmbus_stat() and this call
 * do not register themselves. Updating the entry costs a reader nothing while reading: it is
 * written only when a wait finds nothing new.
 * Context: any process that may read the bus. Return: how many readers there are (may be
 * more than @n); -ENOTSUP (the bus has no registry: layout 1, or its wake page cannot be
 * attached); errors as shmbus_sub_open().
 */
int shmbus_readers(const char *name, struct shmbus_reader_info *out, size_t n);

/* shmbus_lock_holder() - pid of the live writer holding @name, 0 if none (read from
 * /proc/locks, without touching the lock: never disturbs a writer taking it). Any user that
 * may see the bus's files may ask. Return: the pid, 0, or a negative errno.
 */
pid_t shmbus_lock_holder(const char *name);

/* shmbus_unlink() - remove bus @name's two files and its wake segment. Refuses with -EBUSY while a live writer
 * holds the bus, unless @force (then readers and the writer see -ESTALE). Without @force it
 * takes the writer lock itself for the time of the removal, so no writer can hold the bus
 * while it goes: a writer starting meanwhile gets -EBUSY or a new bus, and two writers never
 * run at once. Return: 0; -ENOENT; -EBUSY; -EACCES/-EPERM (not the owner); -EINVAL.
 */
int shmbus_unlink(const char *name, int force);

/* shmbus_list() - call @cb(name, @arg) for every bus in /dev/shm (objects named shmbus.NAME
 * with a valid NAME; half-made temporaries are skipped), in no particular order. A non-zero
 * return from @cb stops the walk and is returned. Return: 0; that value; a negative errno.
 */
int shmbus_list(int (*cb)(const char *name, void *arg), void *arg);

/* shmbus_path() - the file system path of bus @name's records object (for stat(2), messages).
 * Return: 0; -EINVAL; -ENAMETOOLONG (also when @n is too small).
 */
int shmbus_path(const char *name, char *buf, size_t n);

/* shmbus_name_check() - 0 if @name is a valid bus name, else -EINVAL or -ENAMETOOLONG. */
int shmbus_name_check(const char *name);

/* shmbus_mode_check() - 0 if @mode is a valid shmbus_pub_opts.mode other than 0: the owner may
 * read and write, the group and others may at most read (0600, 0640, 0604, 0644), so no
 * reader can write a bus. Else -EINVAL. */
int shmbus_mode_check(mode_t mode);

/* shmbus_version() - this library's version, "MAJOR.MINOR.PATCH" (SHMBUS_VERSION_STRING of the
 * build that made it; the soname is libshmbus.so.MAJOR). Never NULL. */
const char *shmbus_version(void);

/* shmbus_bus_layout() - the layout version written in bus @name's header, whether or not this
 * library supports it (to name both versions when shmbus_sub_open() says -EPROTONOSUPPORT).
 * Reads 12 bytes of the records object, opened as a reader opens it (never blocks, never
 * follows a link). Return: the version (> 0); -ENOENT; -EPROTO (not a bus); another errno. */
int shmbus_bus_layout(const char *name);

/* shmbus_schema_hash() - the hash a bus stores with its schema: 64-bit FNV-1a over the type
 * name, the two encodings and the text, each name followed by one NUL byte (docs/PROTOCOL.md).
 * Not cryptographic: it tells schemas apart, it does not authenticate them. */
uint64_t shmbus_schema_hash(const struct shmbus_schema *s);

/* shmbus_sub_schema() - the schema of the bus @s reads. The pointers in *@out point into @s's
 * private copy (made and bounded when the bus was opened) and stay valid until
 * shmbus_sub_close(); the text is followed by a NUL byte not counted in text_len.
 * Concurrency: as every shmbus_sub_* call, from one thread at a time per @s.
 * Return: 0; -ENOENT: the bus carries no schema (untyped, or a layout 1 bus). */
int shmbus_sub_schema(shmbus_sub *s, struct shmbus_schema *out);

/* shmbus_pub_schema() - the schema of the bus @p writes (the one asked for, or the adopted
 * bus's); pointers valid until shmbus_pub_close(). Return: 0; -ENOENT: untyped. */
int shmbus_pub_schema(const shmbus_pub *p, struct shmbus_schema *out);

/* shmbus_strerror() - a sentence describing @err (negative or positive errno). Never NULL. */
const char *shmbus_strerror(int err);

/* ---------------------------------------------------------------- trust and zero-copy stores */

/* shmbus_sub_open_owner() - shmbus_sub_open(), but only for a bus whose records object belongs
 * to user @owner. Anybody may create /dev/shm/shmbus.NAME while no bus of that name exists,
 * with a valid header: a reader that knows who its writer runs as (a system service's user,
 * root) insists on it and never reads a planted bus. The owner is checked with fstat() on
 * the opened object before any byte of it is read; the wake page must belong to the same
 * user anyway (docs/PROTOCOL.md). A reader that reopens a replaced bus must call this again.
 * Return: as shmbus_sub_open(), and -EPERM (the object belongs to another user); -EINVAL
 *         also for @owner (uid_t)-1.
 */
int shmbus_sub_open_owner(const char *name, uid_t owner, int flags, shmbus_sub **out);

/* Zero-copy stores. A reader copies a slot with relaxed 64-bit atomic loads and keeps the
 * copy only when the slot's sequence count is unchanged after it (docs/PROTOCOL.md, Read
 * side). A record written with plain stores through the pointer shmbus_pub_reserve() returns
 * races, in C11's terms, with a reader still copying the slot's previous record: the data race
 * is undefined behaviour by the letter, and ThreadSanitizer may report it. In practice the
 * stores are ordered as the copying publish's are (the release fence in reserve before them,
 * the release store of the count in commit after them), every byte a racing reader gets is
 * thrown away by its sequence check, and on x86-64 and aarch64 an aligned plain store and a
 * relaxed atomic store are the same instruction; what could go wrong is a compiler that
 * turns the caller's stores into something else (a store of a temporary value, say), which
 * no mainstream compiler does to stores into memory it cannot prove private. Callers that
 * want no formal race (and clean TSan runs) store through shmbus_pub_store() instead.
 */

/* shmbus_pub_store() - copy @len bytes from @data into the reserved record at byte @offset,
 * as relaxed 64-bit atomic stores (the stores shmbus_pub_publish() makes). Any offset and
 * length inside the reservation; bytes outside [@offset, @offset + @len) are kept.
 * Context: the writer's thread, between shmbus_pub_reserve() and shmbus_pub_commit().
 * Return: 0; -EINVAL (nothing reserved, NULL @data with @len > 0, or the range goes past the
 *         reserved length).
 */
int shmbus_pub_store(shmbus_pub *p, size_t offset, const void *data, size_t len);

/* ---------------------------------------------------------------- zero-copy reads (borrows)
 *
 * A borrow hands the reader the record where it lies, in its slot of the read-only mapping,
 * instead of a copy. Nothing holds the writer back: it never waits for readers, so the bytes
 * of a borrowed record MAY CHANGE UNDER THE READER at any moment once the writer comes back
 * round the ring to the borrowed record's slot.
 *
 * The rules, each pinned by tests/borrow_test.cc:
 *  1. Everything read through a borrow is provisional. A decision (a branch taken on a value,
 *     an index computed from it, a result handed on) is safe only after
 *     shmbus_sub_borrow_valid() returned 1 AFTER the reads it depends on: then every byte read
 *     through the borrow before that call belongs to the record of b.version, exactly as the
 *     writer published it. A byte read after that call needs another check.
 *  2. A borrow of version v stays valid while the writer has published at most v + N - 1
 *     (N = the bus's slot count): it is lapped the moment the writer starts version v + N
 *     (shmbus_pub_publish() or shmbus_pub_reserve() of it), which rewrites v's slot. A
 *     borrow of the latest record therefore survives N - 1 further publishes; a `next` borrow
 *     of a record k behind the latest survives N - 1 - k. How much time that is depends only
 *     on the writer's rate: a reader that must not be lapped copies the fields it needs
 *     (shmbus_borrow_copy()) and checks, instead of holding the borrow.
 *  3. When shmbus_sub_borrow_valid() returns 0 the borrow was lapped: throw away everything
 *     read or derived from it (it may be torn: a mix of two records, or of a record and a
 *     half-written one), release it, and borrow again (the newest record, or with `next`,
 *     the oldest record still held: the cursor has already moved past the lapped one).
 *     Never retry reading through a lapped borrow: it will not become valid again.
 *  4. A lapped borrow counts as lost: shmbus_sub_borrow_release() adds it to the info->lost
 *     (and the registry's count) of the next record this subscriber reads, exactly once. A
 *     borrow lapped after its last valid check but before its release counts too (the library
 *     cannot tell which reads a decision used): release right after the last check.
 *  5. The memory is mapped PROT_READ: a store through data is a SIGSEGV.
 *
 * The C memory model. The writer stores into a slot while a lapped borrower may be loading
 * from it. In C11, a plain (non-atomic) load that races with a store is a data race, and a
 * data race is undefined behaviour, even when the value loaded is then thrown away; TSan
 * reports it. So the borrow API makes every read of the record an atomic one:
 * shmbus_borrow_load64() loads one aligned 64-bit word and shmbus_borrow_copy() copies any byte
 * range out, both as relaxed atomic loads (the loads shmbus_sub_next() copies with), which
 * race with nothing in C11's sense; shmbus_sub_borrow_valid() supplies the ordering (an
 * acquire fence, then the slot's sequence count again: Boehm 2012, as the copying reads). A
 * program that reads only through these helpers is free of data races and TSan-clean. The
 * pointer b->data is given for address arithmetic and for callers that accept the race: plain
 * loads through it (a struct cast, memcmp(), a parser) are formally a data race whenever the
 * writer laps the borrow, undefined behaviour by the letter; on x86-64 and aarch64 an aligned
 * plain load is the same instruction as a relaxed atomic one and the check after it still
 * rejects torn bytes, but a compiler may re-load a plain value after the check (it may assume
 * nobody else stores to it) and so hand the program bytes that were never checked, and TSan
 * will report those reads. Read through the helpers, copy into locals, check, then use the
 * locals.
 *
 * Lifecycle: shmbus_sub_borrow() -> reads through shmbus_borrow_load64()/shmbus_borrow_copy()
 * -> shmbus_sub_borrow_valid() -> decide -> ... -> shmbus_sub_borrow_release(). Any number of
 * borrows may be open at once on one subscriber; each moves the cursor as the read it
 * replaces. Context: the subscriber's thread, as every shmbus_sub call; a borrow may be
 * checked and read from any thread while its subscriber stays open (the struct is the
 * reader's own memory). shmbus_sub_close() ends every borrow of that subscriber: data
 * dangles afterwards.
 */

enum shmbus_borrow_mode {
  SHMBUS_BORROW_NEXT = 0,   /* the record at the cursor, as shmbus_sub_next() */
  SHMBUS_BORROW_LATEST = 1, /* the newest record, as shmbus_sub_read_latest() */
};

/* A borrowed record. The public fields are a snapshot taken and checked when it was borrowed;
 * priv_* belong to the library. */
struct shmbus_borrow {
  const void *data;      /* the record's first byte in the slot (8-byte aligned); see above */
  uint64_t version;      /* its version */
  uint64_t length;       /* its length in bytes (<= the bus's capacity) */
  uint64_t timestamp_ns; /* CLOCK_REALTIME when the writer published it */
  uint64_t lost;         /* records skipped since the previous one read, as info->lost */
  const void *priv_slot; /* the slot; NULL once released */
  uint64_t priv_seq;     /* the slot's seq for this version (2 x version) */
  int priv_next;         /* borrowed in next mode */
};

/* shmbus_sub_borrow() - borrow a record in place: in @mode SHMBUS_BORROW_NEXT the record at
 * the cursor (lapped records are skipped and counted in @b->lost, as shmbus_sub_next()); in
 * SHMBUS_BORROW_LATEST the newest one (as shmbus_sub_read_latest()). Moves the cursor past it
 * and keeps the pollable descriptor (shmbus_sub_fd()) in step, as those calls do. On success
 * the record's header (version, length, timestamp) was read under the seqlock and checked:
 * those fields are exact; its bytes are not copied (read them with the helpers below, then
 * shmbus_sub_borrow_valid()). Costs no copy whatever the length: a few loads of the slot's
 * first cache line.
 * Context: the subscriber's thread. Return: 0 and *@b; -EAGAIN (next: nothing newer yet);
 *         -ENODATA (latest: nothing published yet); -ESTALE; -EBADMSG; -EINVAL (NULL
 *         argument or unknown @mode). On an error *@b is released (data NULL).
 */
int shmbus_sub_borrow(shmbus_sub *s, int mode, struct shmbus_borrow *b);

/* shmbus_sub_borrow_valid() - 1 if everything read through @b so far belongs to @b's version
 * (the writer has not come back to its slot), 0 if @b was lapped (then forever; see rule 3)
 * or released. The seqlock's second half: an acquire fence (pairs with the writer's release
 * fence in shmbus__seq_write_begin(), core/seqslot.h), then one relaxed load of the slot's
 * sequence count; no system call, no store. Call it after the reads a decision depends on.
 * Context: any thread, while the subscriber is open.
 */
int shmbus_sub_borrow_valid(const struct shmbus_borrow *b);

/* shmbus_sub_borrow_release() - end the borrow and give the final verdict: 0 if @b was still
 * valid (as shmbus_sub_borrow_valid()), -ECANCELED if the writer lapped it (everything read
 * through it must be thrown away; the record counts as lost, rule 4). Afterwards @b->data is
 * NULL and @b is released; releasing a released borrow is a harmless -EINVAL, so is NULL.
 * Context: the subscriber's thread. Return: 0; -ECANCELED; -EINVAL.
 */
int shmbus_sub_borrow_release(shmbus_sub *s, struct shmbus_borrow *b);

/* shmbus_borrow_copy() - copy bytes [@offset, @offset + @len) of the borrowed record to @dst
 * with relaxed 64-bit atomic loads (no data race with the writer; see above). The copy is
 * provisional until a later shmbus_sub_borrow_valid() returns 1.
 * Return: 0; -EINVAL (released @b, NULL @dst with @len > 0, or the range goes past
 *         @b->length).
 */
int shmbus_borrow_copy(const struct shmbus_borrow *b, size_t offset, void *dst, size_t len);

/* shmbus_borrow_load64() - the 64-bit word at byte @offset of the borrowed record, as one
 * relaxed atomic load (native byte order; no data race with the writer). @offset must be a
 * multiple of 8 below @b->length rounded up to 8 (a last partial word is loaded whole: the
 * bytes past the record's length are unspecified). Outside that, or on a released @b, it
 * loads nothing and returns 0. Provisional until a later shmbus_sub_borrow_valid() returns 1.
 * Inline: one bounds check and one load.
 */
#ifdef __cplusplus
#define SHMBUS__BORROW_WORDS(p) reinterpret_cast<const uint64_t *>(p)
#else
#define SHMBUS__BORROW_WORDS(p) ((const uint64_t *)(p))
#endif
static inline uint64_t shmbus_borrow_load64(const struct shmbus_borrow *b, size_t offset) {
  if (b->data == NULL || offset % 8 != 0 || offset / 8 >= (b->length + 7) / 8) return 0;
  /* GCC/Clang's builtin: the same relaxed load as C11's atomic_load_explicit() on the
   * writer's _Atomic uint64_t words, usable from C and C++ alike. */
  return __atomic_load_n(SHMBUS__BORROW_WORDS(b->data) + offset / 8, __ATOMIC_RELAXED);
}

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_H */
