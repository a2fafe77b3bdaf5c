"""shmbus - a shared-memory broadcast bus for Linux, from Python.

One writer per bus publishes versioned records into a ring of seqlocked slots in shared memory;
any number of readers, in any processes, copy out consistent snapshots: the latest one, or every
record in order with the ones they missed counted. This package wraps the C library
(core/shmbus.h) as a CPython extension.

Writer::

    with shmbus.Publisher("imu", capacity=64, mode=0o644) as pub:
        pub.publish(b"...")                  # anything with the buffer protocol
        with pub.reserve(64) as mv:          # written in place, committed at the end
            mv[:8] = (1).to_bytes(8, "little")

Reader, in any process::

    with shmbus.Subscriber("imu", wait_for_bus=True) as sub:
        for rec in sub:                      # waits (GIL released); ends when the writer goes
            print(rec.version, rec.lost, numpy.frombuffer(rec, dtype))

Records are bytes (see Record); errors are shmbus.Error (an OSError with errno). Thread safety:
a Publisher from one thread (calls hold the GIL, so several threads are serialised, not
crashed); one Subscriber per thread (a second thread calling into a Subscriber that is waiting
gets RuntimeError); any number of Subscribers in any threads and processes.

Typed buses carry an OMG IDL schema (docs/TYPES.md) and C-struct records::

    with shmbus.Publisher("imu", schema="imu.idl", type="sensors::Imu") as pub:
        pub.publish({"seq": 1, "accel": [0, 0, 9.81], "status": "IMU_OK"})  # a dict
        s = numpy.zeros((), pub.dtype); s["seq"] = 2; pub.publish(s)      # or numpy

    with shmbus.Subscriber("imu") as sub:
        sub.schema.type_name, sub.dtype            # "sensors::Imu", its numpy dtype
        rec = sub.next()
        rec.value, rec.as_dict()                   # a numpy structured scalar, a dict
        a = sub.next_many(100)                     # a structured array of sub.dtype

Untyped buses read into a caller's own dtype: numpy.frombuffer(rec, dtype), or many at once:
sub.next_many(n, dtype).
"""

import asyncio as _asyncio
import dataclasses as _dataclasses
import errno as _errno
import time as _time

from . import _errors
from ._errors import *  # noqa: F401,F403  (the exception hierarchy)
from . import _shmbus
from . import _typed
from ._shmbus import Record, Loan, Type  # noqa: F401
from ._typed import Schema, dtype_from_describe, MSG_CSTRUCT  # noqa: F401

for _name in _errors.__all__[:-1]:
    getattr(_errors, _name).__module__ = __name__  # shown as shmbus.BusNotFound

__version__ = "0.1.0"
LIBRARY_VERSION = _shmbus.LIBRARY_VERSION
NAME_MAX = _shmbus.NAME_MAX
strerror = _shmbus.strerror

__all__ = _errors.__all__[:-1] + [
    "Publisher", "Subscriber", "Record", "Loan", "BusInfo", "ReaderInfo",
    "ls", "stat", "rm", "readers", "strerror", "record_dtype",
    "Schema", "Type", "dtype_from_describe", "MSG_CSTRUCT",
]


@_dataclasses.dataclass(frozen=True)
class BusInfo:
    """A bus as seen from outside (shmbus_bus_info): geometry, writer, owner, readers."""

    type: str
    slots: int
    capacity: int
    total_size: int
    latest: int
    last_publish_ns: int
    created_ns: int
    writer_pid: int
    writer_alive: bool
    writer_closed: bool
    replaced: bool
    sleepers: int
    uid: int
    gid: int
    mode: int
    readers: int
    layout_version: int
    type_name: str = ""          # the schema's type ("" untyped), its encodings, the
    schema_encoding: str = ""    # bytes of its text and its hash (the text itself:
    message_encoding: str = ""   # Subscriber.schema)
    schema_len: int = 0
    schema_hash: int = 0


@_dataclasses.dataclass(frozen=True)
class ReaderInfo:
    """One reader from a bus's reader registry (advisory: each reader writes its own)."""

    pid: int
    mode: str
    asleep: bool
    spinning: bool
    pollfd: bool
    cursor: int
    lost: int
    active_ns: int
    opened_ns: int


def ls():
    """ls() -> list[str]: the names of every bus in /dev/shm, sorted."""
    return _shmbus.ls()


def stat(name):
    """stat(name) -> BusInfo: a bus's geometry and state (without registering as a reader).
    Raises BusNotFound, PermissionDenied, NotABus, InvalidName."""
    return BusInfo(**_shmbus.stat(name))


def rm(name, *, force=False):
    """rm(name, *, force=False): remove a bus. Busy while a live writer holds it, unless
    force (its writer and readers then get BusReplaced). Raises BusNotFound when absent."""
    _shmbus.rm(name, force=force)


def readers(name):
    """readers(name) -> list[ReaderInfo]: the live readers of a bus (its reader registry)."""
    return [ReaderInfo(**r) for r in _shmbus.readers(name)]


class Publisher(_shmbus.Publisher):
    """Publisher(name, *, capacity=0, slots=0, mode=0o600, group=None, type=None, schema=None,
    schema_encoding=None, message_encoding=None, tag=None) - become the single writer of bus
    `name`, creating it if needed.

    capacity (bytes, largest record), slots (ring depth 2..65536) and type (a tag of <= 31
    printable characters) of 0/None adopt an existing bus's, else 64 KiB x 8 and "". mode is
    the bus's read permission (0o600, 0o640 with group= a gid or a group name, 0o644). An
    existing bus of the same geometry is adopted: versions go on and readers keep reading.

    publish(data) copies a buffer in; reserve(n) writes in place. A context manager: close()
    at the end. Raises Busy (another live writer), PermissionDenied, InvalidName, NotABus,
    Error(ENOSPC). Calls hold the GIL and never block, so use from several threads is
    serialised; the contract is still one writer thread.

    Typed buses (docs/TYPES.md): schema= the IDL (text, bytes, or the path of a file) and
    type= the struct's scoped name ("sensors::Imu") make a bus of C-struct records (schema
    encoding "omgidl", message encoding "x-shmbus-cstruct"); capacity then defaults to the
    struct's size, and the type tag is tag= (default: adopt an existing bus's, else "").
    The IDL is parsed first: ValueError with the library's message when it does not parse or
    uses an unsupported construct. publish() then also takes a dict (converted by the
    library: ValueError naming the field) or a numpy structured scalar or one-row array of
    exactly self.dtype (TypeError otherwise); raw buffers must be the struct's size.
    schema_encoding=/message_encoding= make buses of other kinds (protobuf, cdr, json, ...),
    whose schema the bus carries opaque and whose records stay bytes. Without any of
    schema/schema_encoding/message_encoding, type= is the tag (an untyped bus); an existing
    bus's schema is adopted then (same geometry: readers keep reading).
    """

    def __init__(self, name, *, capacity=0, slots=0, mode=0o600, group=None, type=None,
                 schema=None, schema_encoding=None, message_encoding=None, tag=None):
        sc = None
        if schema is None and schema_encoding is None and message_encoding is None:
            if tag is not None and type is not None:
                raise ValueError("an untyped bus: give its tag as type= or tag=, not both")
            tag = type if tag is None else tag
        else:
            if not type:
                raise ValueError("a schema needs type=, the name of its type "
                                 "(\"sensors::Imu\")")
            text = b"" if schema is None else _typed.schema_text(schema)
            se = schema_encoding if schema_encoding is not None else \
                ("omgidl" if schema is not None else "")
            me = message_encoding or _typed.default_message_encoding(se)
            if not me:
                raise ValueError(f"message_encoding= is needed for schema encoding {se!r}")
            sc = (type, se, me, text)
            if se == "omgidl" and me == MSG_CSTRUCT:
                size = _typed._Typed(Schema(type, se, me, text, 0)).size  # ValueError
                if capacity == 0:
                    capacity = size
                elif capacity < size:
                    raise ValueError(f"capacity {capacity} is less than {type}'s size "
                                     f"({size} bytes)")
        if isinstance(group, str):
            import grp
            group = grp.getgrnam(group).gr_gid
        super().__init__(name, capacity=capacity, slots=slots, mode=mode, group=group,
                         type=tag, schema=sc)
        got = self._schema()  # the one asked for, or an adopted bus's
        self._schema_obj = Schema(*got) if got is not None else None
        self._typed_obj = _typed._Typed(self._schema_obj) \
            if self._schema_obj is not None and self._schema_obj.cstruct else None
        if self._typed_obj is None:  # untyped: the C call itself, no Python layer per record
            self.publish = _shmbus.Publisher.publish.__get__(self)

    @property
    def schema(self):
        """The bus's Schema (type_name, encodings, text, hash), or None when untyped."""
        return self._schema_obj

    @property
    def dtype(self):
        """The numpy structured dtype of the records (C-struct buses), else None."""
        return None if self._typed_obj is None else self._typed_obj.dtype

    def publish(self, data):
        """publish(data) -> int: publish one record; return its version.

        Any buffer (bytes, bytearray, memoryview, numpy). On a C-struct bus also a dict
        (encoded by the library: missing fields are zero; ValueError naming the field) or a
        numpy structured scalar / one-row array of exactly self.dtype (TypeError otherwise);
        a raw buffer there must be the struct's size (ValueError)."""
        t = self._typed_obj
        if t is not None:
            if isinstance(data, dict):
                data = t.encode_dict(data)
            elif hasattr(data, "dtype") and hasattr(data, "__array_interface__"):
                data = t.check_numpy(data)
            else:
                n = memoryview(data).nbytes
                if n != t.size:
                    raise ValueError(f"publish: a record of {t.schema.type_name} has "
                                     f"{t.size} bytes, not {n}")
        return super().publish(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        state = "closed" if self.closed else f"version={self.version}"
        return f"<shmbus.Publisher {self.name!r} {state}>"

    def info(self):
        """info() -> BusInfo: geometry and state of the bus."""
        return BusInfo(**super().info())


_RECORD_INFO = ("version", "timestamp_ns", "lost", "length")


def record_dtype(capacity, payload=None):
    """record_dtype(capacity, payload=None) -> numpy.dtype: the rows of next_many().

    A structured dtype with the C layout (align=True): version, timestamp_ns, lost (uint64),
    length (uint32, the record's bytes) and data: `capacity` bytes (a uint8 sub-array), or
    the given payload dtype (for instance a typed bus's record dtype). Needs numpy."""
    import numpy as np
    data = ("u1", (int(capacity),)) if payload is None else np.dtype(payload)
    return np.dtype([("version", "u8"), ("timestamp_ns", "u8"), ("lost", "u8"),
                     ("length", "u4"), ("data", data)], align=True)


def _many_layout(dtype):
    """The arguments of _next_many_fill for rows of `dtype`: (data offset, data size, then
    the offsets of version, timestamp_ns, lost, length; -1: not in the dtype)."""
    import numpy as np
    fields = dtype.fields or {}
    if "data" not in fields or not any(k in fields for k in _RECORD_INFO):
        return (0, dtype.itemsize, -1, -1, -1, -1)  # a row is one record's bytes
    offs = []
    for k, want in zip(_RECORD_INFO, ("u8", "u8", "u8", "u4")):
        if k not in fields:
            offs.append(-1)
            continue
        ft, off = fields[k][0], fields[k][1]
        if ft != np.dtype(want):  # native byte order, as the C loop stores them
            raise TypeError(f"next_many: field {k!r} must be {np.dtype(want)} "
                            f"(native byte order), not {ft}")
        offs.append(off)
    dt, doff = fields["data"][0], fields["data"][1]
    return (doff, dt.itemsize, *offs)


class Subscriber(_shmbus.Subscriber):
    """Subscriber(name, *, wait_for_bus=False, timeout=None, owner=None) - read bus `name`.

    The cursor starts at the latest record: a late joiner's first next() returns it.
    wait_for_bus waits (up to timeout seconds, None: for ever; then Timeout) for a bus that
    does not exist yet; otherwise a missing bus is BusNotFound. owner= a uid refuses a bus
    created by anybody else (PermissionDenied).

    Reads: next() (every record, in order), read_latest(), their *_into(buffer) forms, wait(),
    receive(), iteration (for rec in sub), aiter() (asyncio), fileno() (select/poll).

    Records: Record objects whose data is a new bytes object per record. Why bytes and not a
    reusable buffer: a record you keep (in a list, a queue, a numpy view) never changes under
    you, and for fixed-size records the library copies straight into the bytes object (its
    size is that of the last record), so no second copy is made. Where the allocation
    matters (large records, high rates), next_into(buf) reads into a buffer you own.

    Thread safety: one Subscriber per thread. wait() releases the GIL; while it waits, another
    thread's call on the same Subscriber raises RuntimeError, and its close() ends the wait
    (Closed) within 100 ms.
    """

    def __init__(self, name, *, wait_for_bus=False, timeout=None, owner=None):
        super().__init__(name, wait_for_bus=wait_for_bus, timeout=timeout, owner=owner)
        self._many_cache = {}  # next_many(): dtype -> (numpy dtype, layout)
        got = self._schema()
        self._schema_obj = Schema(*got) if got is not None else None
        self._typed_error = None
        if self._schema_obj is not None and self._schema_obj.cstruct:
            try:
                self._typed = _typed._Typed(self._schema_obj)  # records carry it: rec.value
            except ValueError as e:  # a schema this library cannot parse: records stay bytes
                self._typed_error = e

    @property
    def schema(self):
        """The bus's Schema (type_name, schema_encoding, message_encoding, text, hash), or
        None for an untyped bus. Fixed while the Subscriber is open (a new schema is a new
        bus: BusReplaced)."""
        return self._schema_obj

    @property
    def dtype(self):
        """The numpy structured dtype of the records of a C-struct bus (omgidl schema,
        x-shmbus-cstruct records): the C layout from shmbus_type_describe() (align=True,
        the library's offsets and sizeof). None for other buses; ValueError when the bus's
        IDL does not parse here."""
        if self._typed_error is not None:
            raise ValueError(str(self._typed_error))
        return None if self._typed is None else self._typed.dtype

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return f"<shmbus.Subscriber {self.name!r}{' closed' if self.closed else ''}>"

    def info(self):
        """info() -> BusInfo: geometry and state of the bus this reader maps."""
        return BusInfo(**super().info())

    def next_many(self, n, dtype=None, *, info=False):
        """next_many(n, dtype=None, *, info=False) -> numpy.ndarray: up to n records, in
        order, in one C loop.

        Never blocks: the array has as many rows as records were there (0 to n; a view of
        the first rows of an n-row array). dtype None on a C-struct bus: rows of self.dtype,
        the records themselves (a[i]["accel"]); with info=True rows of
        record_dtype(0, payload=self.dtype): version, timestamp_ns, lost, length and data
        (the record, a["data"]["accel"]). dtype None on any other bus:
        record_dtype(self.capacity), rows with version, timestamp_ns, lost, length and data
        (the record's bytes, zero-filled after length). A dtype with a "data" field and any of version/timestamp_ns/lost/
        length (e.g. record_dtype(cap, payload=my_dtype)): those fields get the record info
        and data the record. Any other dtype: each row is one record's bytes (a record
        shorter than a row is zero-filled), for buses of fixed-size records (a C struct as a
        structured dtype with align=True). A record longer than the data field ends the
        batch before it (raised as Error(ENOBUFS) with .needed when it is the first).
        Per record: the library's copy and a few stores, no Python object (see next() for
        one record at a time; next_many_into() for an array you reuse). Needs numpy."""
        import numpy as np
        n = int(n)
        if n < 0:
            raise ValueError("next_many: n must be >= 0")
        cache = self._many_cache
        if dtype is None and self._typed is not None:
            key = ("typed", bool(info))
            hit = cache.get(key)
            if hit is None:
                dt = record_dtype(0, payload=self.dtype) if info else self.dtype
                hit = cache[key] = (dt, _many_layout(dt))
        elif dtype is None:
            cap = self.capacity
            key = ("record", cap)
            hit = cache.get(key)
            if hit is None:
                dt = record_dtype(cap)
                hit = cache[key] = (dt, _many_layout(dt))
        else:
            try:
                hit = cache.get(dtype)
                hashable = True
            except TypeError:  # an unhashable dtype spec (a list of fields): not cached
                hit, hashable = None, False
            if hit is None:
                dt = np.dtype(dtype)
                hit = (dt, _many_layout(dt))
                if hashable:
                    cache[dtype] = hit
        dt, layout = hit
        out = np.empty(n, dt)
        k = self._next_many_fill(out, *layout)
        return out if k == n else out[:k]

    def receive(self, timeout=None, *, mode="hybrid", through_death=False):
        """receive(timeout=None, *, mode="hybrid", through_death=False) -> Record

        The next record, waiting for it (GIL released) up to timeout seconds (None: for
        ever). Raises Timeout (a TimeoutError), WriterDied, BusReplaced."""
        deadline = None if timeout is None else _time.monotonic() + timeout
        while True:
            rec = self.next()
            if rec is not None:
                return rec
            left = None if deadline is None else max(0.0, deadline - _time.monotonic())
            if not self.wait(left, mode=mode, through_death=through_death):
                raise _errors.from_errno(_errno.ETIMEDOUT, strerror(_errno.ETIMEDOUT),
                                         "Subscriber.receive", self.name)

    def records(self, *, mode="hybrid", through_death=False):
        """records(*, mode="hybrid", through_death=False) -> Iterator[Record]

        Every record in order, waiting for more (GIL released). Ends when the writer dies or
        closes and nothing newer is left (never, with through_death); a bus whose first
        writer has not started yet is waited for (see wait()). Raises BusReplaced."""
        while True:
            rec = self.next()
            if rec is not None:
                yield rec
                continue
            try:
                self.wait(None, mode=mode, through_death=through_death)
            except WriterDied:
                return

    def __iter__(self):
        return self.records()

    async def aiter(self, *, through_death=False):
        """aiter(*, through_death=False) -> AsyncIterator[Record]

        `async for rec in sub.aiter():` every record in order, awaiting the pollable
        descriptor (fileno()) with loop.add_reader: the event loop never blocks. Ends when
        the writer dies or closes and nothing newer is left (never, with through_death).
        Raises BusReplaced."""
        loop = _asyncio.get_running_loop()
        fd = self.fileno()
        while True:
            rec = self.next()
            if rec is not None:
                yield rec
                continue
            try:
                if self.wait(0, through_death=through_death):
                    continue
            except WriterDied:
                return
            ready = loop.create_future()
            loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
            try:
                await ready
            finally:
                loop.remove_reader(fd)
