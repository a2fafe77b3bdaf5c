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

Typed buses (schemas carried by the bus, records as numpy structured scalars and dicts,
next_many()) wait for the typed-buses issue; until then a caller's own numpy dtype reads raw
records: numpy.frombuffer(rec, dtype).
"""

import asyncio as _asyncio
import dataclasses as _dataclasses
import errno as _errno
import time as _time

from . import _errors
from ._errors import *  # noqa: F401,F403  (the exception hierarchy)
from . import _shmbus
from ._shmbus import Record, Loan  # noqa: F401

for _name in _errors.__all__[:-1]:
    getattr(_errors, _name).__module__ = __name__  # shown as shmbus.BusNotFound

__version__ = "0.1.0"
LIBRARY_VERSION = _shmbus.LIBRARY_VERSION
NAME_MAX = _shmbus.NAME_MAX
strerror = _shmbus.strerror

__all__ = _errors.__all__[:-1] + [
    "Publisher", "Subscriber", "Record", "Loan", "BusInfo", "ReaderInfo",
    "ls", "stat", "rm", "readers", "strerror",
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
    """Publisher(name, *, capacity=0, slots=0, mode=0o600, group=None, type=None) - become the
    single writer of bus `name`, creating it if needed.

    capacity (bytes, largest record), slots (ring depth 2..65536) and type (a tag of <= 31
    printable characters) of 0/None adopt an existing bus's, else 64 KiB x 8 and "". mode is
    the bus's read permission (0o600, 0o640 with group= a gid or a group name, 0o644). An
    existing bus of the same geometry is adopted: versions go on and readers keep reading.

    publish(data) copies a buffer in; reserve(n) writes in place. A context manager: close()
    at the end. Raises Busy (another live writer), PermissionDenied, InvalidName, NotABus,
    Error(ENOSPC). Calls hold the GIL and never block, so use from several threads is
    serialised; the contract is still one writer thread.

    schema= (typed buses) is not there yet (issue 13) and raises NotImplementedError.
    """

    def __init__(self, name, *, capacity=0, slots=0, mode=0o600, group=None, type=None,
                 schema=None):
        if schema is not None:
            raise NotImplementedError("typed buses (schema=) are not built yet (issue 13)")
        if isinstance(group, str):
            import grp
            group = grp.getgrnam(group).gr_gid
        super().__init__(name, capacity=capacity, slots=slots, mode=mode, group=group,
                         type=type)

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
