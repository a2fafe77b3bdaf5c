"""shmbus's exceptions: every one is a shmbus.Error, an OSError with the errno and the library's
sentence (shmbus_strerror()); where a builtin fits, the class derives from it too, so
``except FileNotFoundError`` catches a missing bus."""

import errno as _errno

__all__ = [
    "Error", "BusNotFound", "PermissionDenied", "Timeout", "WriterDied", "BusReplaced",
    "Busy", "InvalidName", "RecordTooLarge", "NotABus", "Closed", "from_errno",
]


class Error(OSError):
    """Base of shmbus's errors: .errno, .strerror (the library's sentence), .filename (the bus
    name, or None) and .call (the C call that failed)."""

    call = None


class BusNotFound(Error, FileNotFoundError):
    """ENOENT: no bus of that name exists."""


class PermissionDenied(Error, PermissionError):
    """EACCES: the bus's mode does not let this user open it; EPERM: an object of the bus
    belongs to another user (or not to the owner= asked for)."""


class Timeout(Error, TimeoutError):
    """ETIMEDOUT: Subscriber(wait_for_bus=True, timeout=...) saw no bus in time; receive()
    saw no record in time."""


class WriterDied(Error):
    """EOWNERDEAD: the bus's writer died or closed, and nothing newer exists."""


class BusReplaced(Error):
    """ESTALE: the bus was replaced or removed (reopen it by name), or this writer was
    forced out (``shmbus rm --force``)."""


class Busy(Error):
    """EBUSY: another live writer holds the bus."""


class InvalidName(Error, ValueError):
    """EINVAL / ENAMETOOLONG: an invalid bus name or argument."""


class RecordTooLarge(Error, ValueError):
    """EMSGSIZE: the record is larger than the bus's capacity; nothing was published."""


class NotABus(Error):
    """EPROTO, EPROTONOSUPPORT, EBADMSG: not a shmbus bus, another layout version, or a
    corrupt record header."""


class Closed(Error, ValueError):
    """EBADF: the Publisher or Subscriber was closed (like a closed file, also a
    ValueError)."""


_BY_ERRNO = {
    _errno.ENOENT: BusNotFound,
    _errno.EACCES: PermissionDenied,
    _errno.EPERM: PermissionDenied,
    _errno.ETIMEDOUT: Timeout,
    _errno.EOWNERDEAD: WriterDied,
    _errno.ESTALE: BusReplaced,
    _errno.EBUSY: Busy,
    _errno.EINVAL: InvalidName,
    _errno.ENAMETOOLONG: InvalidName,
    _errno.EMSGSIZE: RecordTooLarge,
    _errno.EPROTO: NotABus,
    _errno.EPROTONOSUPPORT: NotABus,
    _errno.EBADMSG: NotABus,
    _errno.EBADF: Closed,
}


def from_errno(err, sentence, call=None, name=None):
    """The exception for positive errno `err` from C call `call` on bus `name`."""
    cls = _BY_ERRNO.get(err, Error)
    exc = cls(err, sentence) if name is None else cls(err, sentence, name)
    exc.call = call
    return exc
