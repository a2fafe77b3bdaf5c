"""Single-process behaviour of every call: records, reserve, buffers, numpy, errors, admin."""
import ctypes
import errno
import os

import numpy as np
import pytest

import shmbus


def test_publish_next_read_latest(bus):
    with shmbus.Publisher(bus, capacity=64, slots=4) as pub, shmbus.Subscriber(bus) as sub:
        assert sub.next() is None and sub.read_latest() is None
        assert pub.publish(b"one") == 1
        assert pub.publish(bytearray(b"two")) == 2
        r = sub.next()
        assert (r.version, r.lost, r.data, bytes(r), len(r)) == (1, 0, b"one", b"one", 3)
        assert isinstance(r.data, bytes) and r.timestamp_ns > 0
        assert abs(r.timestamp - r.timestamp_ns / 1e9) < 1e-3
        assert sub.next().data == b"two" and sub.next() is None
        pub.publish(memoryview(b"three"))
        assert sub.read_latest().data == b"three" and sub.latest == 3
        assert pub.version == 3 and sub.capacity == 64
        assert pub.publish(b"") == 4 and sub.next().data == b""


def test_lost_counts_overwritten_records(bus):
    with shmbus.Publisher(bus, capacity=8, slots=4) as pub, shmbus.Subscriber(bus) as sub:
        for i in range(10):
            pub.publish(bytes([i]))
        got = list(iter(sub.next, None))
        assert got[0].lost > 0 and got[0].lost == got[0].version - 1
        assert [r.version for r in got] == list(range(got[0].version, 11))
        assert sum(r.lost for r in got) + len(got) == 10


def test_variable_lengths_reuse_no_stale_bytes(bus):
    with shmbus.Publisher(bus, capacity=1024) as pub, shmbus.Subscriber(bus) as sub:
        for n in (10, 1000, 3, 1024, 0, 7):
            pub.publish(bytes([n % 251]) * n)
            assert sub.next().data == bytes([n % 251]) * n


def test_seek(bus):
    with shmbus.Publisher(bus, capacity=8, slots=8) as pub, shmbus.Subscriber(bus) as sub:
        for i in range(3):
            pub.publish(bytes([i]))
        sub.seek("oldest")
        assert sub.next().version == 1
        sub.seek("new")
        assert sub.next() is None
        pub.publish(b"x")
        assert sub.next().version == 4
        sub.seek("latest")
        assert sub.next().version == 4
        with pytest.raises(ValueError):
            sub.seek("sideways")


def test_reserve_commits_on_exit(bus):
    with shmbus.Publisher(bus, capacity=32) as pub, shmbus.Subscriber(bus) as sub:
        with pub.reserve(16) as mv:
            assert isinstance(mv, memoryview) and not mv.readonly and len(mv) == 16
            mv[:] = bytes(range(16))
        assert sub.next().data == bytes(range(16))
        loan = pub.reserve()              # default: the capacity
        with loan as mv:
            assert len(mv) == 32
            mv[:5] = b"short"
            loan.length = 5
        assert sub.next().data == b"short" and pub.version == 2


def test_reserve_drops_on_exception(bus):
    with shmbus.Publisher(bus, capacity=32) as pub, shmbus.Subscriber(bus) as sub:
        with pytest.raises(KeyError):
            with pub.reserve(8) as mv:
                mv[:] = b"dropped!"
                raise KeyError("no")
        assert sub.next() is None and pub.version == 0
        pub.publish(b"next")
        assert sub.next().data == b"next" and sub.next() is None


def test_reserve_view_must_not_outlive_the_block(bus):
    with shmbus.Publisher(bus, capacity=32) as pub, shmbus.Subscriber(bus) as sub:
        with pytest.raises(BufferError):
            with pub.reserve(8) as mv:
                arr = np.frombuffer(mv, dtype=np.uint8)  # alive after the block
        assert sub.next() is None
        del arr
        with pytest.raises(BufferError):
            with pub.reserve(8) as mv:
                c = (ctypes.c_char * 8).from_buffer(mv)   # holds mv itself
        assert sub.next() is None
        del c
        with pub.reserve(8) as mv:        # numpy inside the block, released in it
            arr = np.frombuffer(mv, dtype="<u8")
            arr[0] = 0x1122334455667788
            del arr
        assert np.frombuffer(sub.next(), "<u8")[0] == 0x1122334455667788
        with pytest.raises(RuntimeError):
            with pub.reserve(8):
                pub.publish(b"inside")
        with pytest.raises(BufferError):
            memoryview(pub.reserve(8))    # a loan is a buffer only inside its block


def test_buffer_protocol_objects(bus):
    with shmbus.Publisher(bus, capacity=256) as pub, shmbus.Subscriber(bus) as sub:
        a = np.arange(8, dtype=np.float64)
        pub.publish(a)
        assert np.array_equal(np.frombuffer(sub.next(), dtype=np.float64), a)
        pub.publish(a[::2].copy())
        assert np.array_equal(np.frombuffer(sub.next().data, np.float64), a[::2])
        with pytest.raises((BufferError, ValueError)):
            pub.publish(a[::2])           # not contiguous: numpy refuses the buffer
        with pytest.raises(TypeError):
            pub.publish("text is not bytes")


IMU = np.dtype([("seq", "<u4"), ("t", "<f8"), ("acc", "<f4", (3,))], align=True)


def test_numpy_structured_dtype(bus):
    with shmbus.Publisher(bus, capacity=IMU.itemsize, slots=16) as pub, \
            shmbus.Subscriber(bus) as sub:
        sub.seek("oldest")
        for i in range(5):
            s = np.zeros((), IMU)
            s["seq"], s["t"], s["acc"] = i, i / 10, (i, 2 * i, 9.81)
            pub.publish(s)                # a structured scalar (0-d array)
        one = np.frombuffer(sub.next(), IMU)[0]
        assert one["seq"] == 0 and IMU.itemsize == 32
        out = np.zeros(10, IMU)
        assert sub.next_many_into(out) == 4
        assert list(out["seq"][:4]) == [1, 2, 3, 4]
        assert np.allclose(out["acc"][3], (4, 8, 9.81))
        assert sub.next_many_into(out) == 0            # nothing newer: never blocks
        pub.publish(np.zeros((), IMU))
        with pytest.raises(shmbus.Error) as e:
            sub.next_many_into(np.zeros(4, "<u8"))     # rows of 8 bytes, records of 32
        assert e.value.errno == errno.ENOBUFS
        rows = np.zeros((3, 64), np.uint8)             # 2-D: rows of 64 bytes
        assert sub.next_many_into(rows) == 1 and not rows[1:].any()
        with pytest.raises((BufferError, ValueError)):
            sub.next_many_into(np.zeros((4, 64), np.uint8)[:, :32])   # not contiguous


def test_next_into_reuses_the_callers_buffer(bus):
    with shmbus.Publisher(bus, capacity=64) as pub, shmbus.Subscriber(bus) as sub:
        buf = bytearray(16)
        assert sub.next_into(buf) is None and sub.read_latest_into(buf) is None
        pub.publish(b"abc")
        r = sub.next_into(buf)
        assert bytes(r.data) == b"abc" and buf[:3] == b"abc" and r.version == 1
        pub.publish(b"x" * 40)
        with pytest.raises(shmbus.Error) as e:
            sub.next_into(buf)
        assert e.value.errno == errno.ENOBUFS and e.value.needed == 40
        big = np.zeros(64, np.uint8)
        assert sub.next_into(big).version == 2   # nothing was consumed by the refusal
        assert bytes(big[:40]) == b"x" * 40
        assert sub.read_latest_into(big).version == 2
        with pytest.raises(BufferError):
            sub.next_into(b"read-only bytes")


def test_errors_map_errno(bus):
    with pytest.raises(FileNotFoundError) as e:
        shmbus.Subscriber(bus)
    ex = e.value
    assert isinstance(ex, shmbus.BusNotFound) and isinstance(ex, shmbus.Error)
    assert ex.errno == errno.ENOENT and ex.filename == bus and ex.call == "shmbus_sub_open"
    assert ex.strerror == shmbus.strerror(errno.ENOENT) and ex.strerror in str(ex)
    with pytest.raises(shmbus.InvalidName) as e:
        shmbus.Publisher("bad/name")
    assert e.value.errno == errno.EINVAL and isinstance(e.value, ValueError)
    with pytest.raises(shmbus.InvalidName) as e:
        shmbus.Subscriber("x" * 300)
    assert e.value.errno == errno.ENAMETOOLONG
    with pytest.raises(shmbus.Timeout) as e:
        shmbus.Subscriber(bus, wait_for_bus=True, timeout=0.05)
    assert isinstance(e.value, TimeoutError) and e.value.errno == errno.ETIMEDOUT
    with shmbus.Publisher(bus, capacity=8) as pub:
        with pytest.raises(shmbus.RecordTooLarge) as e:
            pub.publish(b"123456789")
        assert e.value.errno == errno.EMSGSIZE and pub.version == 0
        with pytest.raises(shmbus.PermissionDenied) as e:
            shmbus.Subscriber(bus, owner=os.getuid() + 1)
        assert isinstance(e.value, PermissionError)
        with shmbus.Subscriber(bus, owner=os.getuid()) as sub:
            assert not sub.wait(0)
        with pytest.raises(shmbus.Busy):
            shmbus.rm(bus)
        with pytest.raises(ValueError, match="type="):    # a schema names its type
            shmbus.Publisher(bus, schema="struct Imu { long x; };")
    with pytest.raises(ValueError):
        shmbus.Subscriber(bus).wait(-1)


def test_writer_closed_and_bus_replaced(bus):
    pub = shmbus.Publisher(bus, capacity=8)
    sub = shmbus.Subscriber(bus)
    pub.publish(b"last")
    pub.close()
    assert sub.wait(0) is True and sub.next().data == b"last"   # the latest value stays
    with pytest.raises(shmbus.WriterDied) as e:
        sub.wait(5)
    assert e.value.errno == errno.EOWNERDEAD
    assert sub.wait(0, through_death=True) is False
    assert list(sub) == []                                       # iteration ends
    shmbus.rm(bus)
    with pytest.raises(shmbus.BusReplaced) as e:
        sub.wait(0)
    assert e.value.errno == errno.ESTALE
    sub.close()


def test_closed_objects_raise_never_crash(bus):
    pub = shmbus.Publisher(bus, capacity=8)
    sub = shmbus.Subscriber(bus)
    loan = pub.reserve(4)
    with pytest.raises(BufferError):
        with pub.reserve(4) as mv:        # no close() while the slot's view is alive
            pub.close()
    with pytest.raises(ValueError):
        mv[0] = 1                         # the view was released with the block
    pub.close(), pub.close(), sub.close(), sub.close()
    assert pub.closed and sub.closed
    for call in (lambda: pub.publish(b"x"), lambda: pub.version, pub.info,
                 lambda: pub.reserve(1), lambda: loan.__enter__(), sub.next, sub.read_latest,
                 lambda: sub.wait(0), sub.fileno, sub.info, lambda: sub.seek("new"),
                 lambda: sub.next_into(bytearray(8)), lambda: sub.latest):
        with pytest.raises(shmbus.Closed) as e:
            call()
        assert isinstance(e.value, ValueError) and e.value.errno == errno.EBADF
    assert "closed" in repr(pub) and "closed" in repr(sub)


def test_admin_ls_stat_rm_readers(bus):
    with shmbus.Publisher(bus, capacity=100, slots=4, type="test.v1", mode=0o640) as pub:
        pub.publish(b"x")
        assert bus in shmbus.ls()
        st = shmbus.stat(bus)
        assert (st.type, st.slots, st.capacity, st.latest, st.mode) == ("test.v1", 4, 100, 1,
                                                                       0o640)
        assert st.writer_pid == os.getpid() and st.writer_alive and st == pub.info()
        with shmbus.Subscriber(bus) as sub:
            assert sub.info().latest == 1
            assert [r.pid for r in shmbus.readers(bus)] == [os.getpid()]
    shmbus.rm(bus)
    assert bus not in shmbus.ls()
    with pytest.raises(FileNotFoundError):
        shmbus.stat(bus)
    with pytest.raises(FileNotFoundError):
        shmbus.rm(bus)


def test_docstrings_and_stubs():
    assert "GIL" in shmbus.Subscriber.wait.__doc__
    assert "reserve" in shmbus.Publisher.__doc__ and "bytes" in shmbus.Subscriber.__doc__
    stub = os.path.join(os.path.dirname(shmbus.__file__), "__init__.pyi")
    assert os.path.exists(stub)
    with open(stub) as f:
        text = f.read()
    for name in shmbus.__all__:
        assert name in text, name


def test_reads_do_not_leak(bus):
    """10^6 reads (half next(), half read_latest()) keep the RSS flat."""
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    with shmbus.Publisher(bus, capacity=64) as pub, shmbus.Subscriber(bus) as sub:
        pub.publish(b"x" * 64)
        for _ in range(100_000):
            sub.read_latest()
        before = rss()
        for i in range(500_000):
            pub.publish(b"y" * (i % 64))
            sub.next()
            sub.read_latest()
        assert rss() - before < 4 << 20
