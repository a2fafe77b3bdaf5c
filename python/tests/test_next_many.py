"""Subscriber.next_many(n, dtype=None): records in batches into structured numpy arrays."""
import errno

import numpy as np
import pytest

import shmbus

IMU = np.dtype([("seq", "<u4"), ("t", "<f8"), ("acc", "<f4", (3,))], align=True)


def test_record_dtype_has_the_c_layout():
    dt = shmbus.record_dtype(64)
    assert dt.names == ("version", "timestamp_ns", "lost", "length", "data")
    assert [dt.fields[k][1] for k in dt.names] == [0, 8, 16, 24, 28]
    assert dt.fields["data"][0] == np.dtype(("u1", (64,))) and dt.itemsize == 96  # align=True
    typed = shmbus.record_dtype(0, payload=IMU)
    assert typed.fields["data"][0] == IMU and typed.fields["data"][1] == 32   # IMU's alignment


def test_default_rows_carry_the_record_info(bus):
    with shmbus.Publisher(bus, capacity=16, slots=16) as pub, shmbus.Subscriber(bus) as sub:
        sub.seek("new")
        for i in range(5):
            pub.publish(bytes([i + 1]) * (i + 1))   # lengths 1..5
        a = sub.next_many(3)
        assert a.dtype == shmbus.record_dtype(16) and len(a) == 3
        assert list(a["version"]) == [1, 2, 3] and list(a["length"]) == [1, 2, 3]
        assert list(a["lost"]) == [0, 0, 0]
        assert bytes(a["data"][2][:3]) == b"\x03\x03\x03"
        assert not a["data"][2][3:].any()                 # zero-filled after length
        ts = a["timestamp_ns"]
        assert ts[0] > 0 and all(ts[1:] >= ts[:-1])
        b = sub.next_many(10)                             # fewer than asked: a shorter array
        assert list(b["version"]) == [4, 5] and b.shape == (2,)
        assert sub.next_many(10).shape == (0,)            # nothing newer: never blocks
        assert sub.next_many(0).shape == (0,)
        # a record matches the one next() reads
        pub.publish(b"abc")
        pub.publish(b"abc")
        rec, row = sub.next(), sub.next_many(1)[0]
        assert row["version"] == rec.version + 1 and row["timestamp_ns"] >= rec.timestamp_ns
        assert bytes(row["data"][:row["length"]]) == rec.data


def test_lost_counts_a_lapped_reader(bus):
    with shmbus.Publisher(bus, capacity=8, slots=4) as pub, shmbus.Subscriber(bus) as sub:
        sub.seek("new")
        for i in range(20):
            pub.publish(i.to_bytes(8, "little"))
        a = sub.next_many(100)
        assert 1 <= len(a) <= 4 and a["version"][-1] == 20
        assert a["lost"].sum() + len(a) == 20            # every version read or counted lost
        assert a["lost"][0] > 0 and not a["lost"][1:].any()


def test_a_dtype_as_the_row(bus):
    with shmbus.Publisher(bus, capacity=IMU.itemsize, slots=16) as pub, \
            shmbus.Subscriber(bus) as sub:
        sub.seek("new")
        for i in range(6):
            s = np.zeros((), IMU)
            s["seq"], s["acc"] = i, (i, 2 * i, 9.81)
            pub.publish(s)
        a = sub.next_many(4, IMU)
        assert a.dtype == IMU and list(a["seq"]) == [0, 1, 2, 3]
        assert np.allclose(a["acc"][3], (3, 6, 9.81))
        spec = [("seq", "<u4"), ("t", "<f8"), ("acc", "<f4", (3,))]
        with pytest.raises(shmbus.Error) as e:            # not the C layout: numpy's own
            sub.next_many(1, spec)                        # (unaligned: 24 B < 32 B records)
        assert e.value.errno == errno.ENOBUFS and e.value.needed == 32
        b = sub.next_many(4, np.dtype(spec, align=True))  # an unhashable spec works too
        assert list(b["seq"]) == [4, 5]


def test_record_info_around_a_typed_payload(bus):
    dt = shmbus.record_dtype(0, payload=IMU)
    with shmbus.Publisher(bus, capacity=IMU.itemsize) as pub, shmbus.Subscriber(bus) as sub:
        sub.seek("new")
        s = np.zeros((), IMU)
        s["seq"] = 7
        pub.publish(s)
        a = sub.next_many(8, dt)
        assert len(a) == 1 and a["data"]["seq"][0] == 7 and a["version"][0] == 1
        assert a["length"][0] == IMU.itemsize
        # only some of the info fields: the others are simply not stored
        part = np.dtype([("version", "u8"), ("data", IMU)], align=True)
        pub.publish(s)
        b = sub.next_many(8, part)
        assert b["version"][0] == 2 and b["data"]["seq"][0] == 7
        bad = np.dtype([("version", ">u8"), ("data", IMU)])
        with pytest.raises(TypeError):
            sub.next_many(1, bad)                         # byte order the C loop cannot store


def test_a_record_longer_than_the_row(bus):
    with shmbus.Publisher(bus, capacity=64, slots=8) as pub, shmbus.Subscriber(bus) as sub:
        sub.seek("new")
        pub.publish(b"a" * 8)
        pub.publish(b"b" * 40)
        a = sub.next_many(4, np.dtype("V8"))              # the first fits, the second stops it
        assert len(a) == 1 and bytes(a[0]) == b"a" * 8
        with pytest.raises(shmbus.Error) as e:
            sub.next_many(4, np.dtype("V8"))
        assert e.value.errno == errno.ENOBUFS and e.value.needed == 40
        a = sub.next_many(4)                              # nothing consumed by the refusal
        assert list(a["length"]) == [40] and bytes(a["data"][0][:40]) == b"b" * 40


def test_errors_and_closed(bus):
    with shmbus.Publisher(bus, capacity=8) as pub:
        sub = shmbus.Subscriber(bus)
        with pytest.raises(ValueError):
            sub.next_many(-1)
        with pytest.raises(ValueError):                   # a field outside the row: refused
            sub._next_many_fill(np.zeros(2, "V8"), 0, 16, -1, -1, -1, -1)
        with pytest.raises(ValueError):
            sub._next_many_fill(np.zeros(2, "V8"), 0, 8, 4, -1, -1, -1)
        sub.close()
        with pytest.raises(shmbus.Closed):
            sub.next_many(1)
        pub.publish(b"x")


def test_many_batches_read_every_record_once(bus):
    """Batches against a writer publishing meanwhile: versions strictly increase, and read
    plus lost accounts for every version."""
    with shmbus.Publisher(bus, capacity=64, slots=64) as pub, shmbus.Subscriber(bus) as sub:
        sub.seek("new")
        got, lost, last = 0, 0, 0
        for i in range(20000):
            pub.publish(i.to_bytes(8, "little") * 8)
            if i % 37 == 0:
                a = sub.next_many(30)                 # slower than the writer: lapped at times
                if len(a):
                    assert a["version"][0] > last and (np.diff(a["version"].astype(np.int64)) > 0).all()
                    vers = a["data"][:, :8].copy().view("<u8")[:, 0] + 1
                    assert (vers == a["version"]).all()       # the bytes of that version
                    got, lost, last = got + len(a), lost + int(a["lost"].sum()), a["version"][-1]
        a = sub.next_many(100)
        got, lost = got + len(a), lost + int(a["lost"].sum())
        assert got + lost == 20000 and lost > 0
