"""Threads, processes, asyncio and the C tools on one bus. No sleeps as synchronisation: the
readiness probe is the bus's reader registry (a subscriber asleep in a wait), and every wait
has a generous deadline."""
import asyncio
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import shmbus

DEADLINE = 60  # seconds: generous, only ever reached by a failure


def wait_until(cond, what):
    end = time.monotonic() + DEADLINE
    while not cond():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.001)  # a poll interval, not synchronisation: cond() decides


def asleep(bus, pid=None):
    pid = pid or os.getpid()
    return any(r.pid == pid and r.asleep for r in shmbus.readers(bus))


def test_wait_releases_the_gil(bus):
    with shmbus.Publisher(bus, capacity=8) as pub:
        sub = shmbus.Subscriber(bus)
        result = []
        t = threading.Thread(target=lambda: result.append(sub.wait(DEADLINE, mode="sleep")))
        t.start()
        # This thread runs Python code while the other sits in wait(): the GIL is free.
        wait_until(lambda: asleep(bus), "the waiting thread to sleep")
        assert sum(range(100_000)) == 4999950000
        with pytest.raises(RuntimeError):
            sub.next()                 # one Subscriber per thread, enforced, not a crash
        pub.publish(b"wake")
        t.join(DEADLINE)
        assert result == [True] and sub.next().data == b"wake"
        sub.close()


class Interrupted(Exception):
    pass


def test_signals_interrupt_a_wait(bus):
    """A signal handler's exception (Ctrl-C's KeyboardInterrupt) ends a wait for ever."""
    def handler(signum, frame):
        raise Interrupted()
    old = signal.signal(signal.SIGUSR1, handler)
    try:
        with shmbus.Publisher(bus, capacity=8), shmbus.Subscriber(bus) as sub:
            def kick():
                wait_until(lambda: asleep(bus), "the main thread to sleep")
                os.kill(os.getpid(), signal.SIGUSR1)
            t = threading.Thread(target=kick)
            t.start()
            with pytest.raises(Interrupted):
                sub.wait(None, mode="sleep")
            t.join(DEADLINE)
            assert sub.wait(0) is False     # still usable
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_publisher_shared_by_threads_is_serialised(bus):
    """Not the contract (one writer thread), but not a crash either: calls hold the GIL."""
    n, per = 4, 500
    with shmbus.Publisher(bus, capacity=8, slots=4096) as pub, shmbus.Subscriber(bus) as sub:
        threads = [threading.Thread(target=lambda: [pub.publish(b"12345678")
                                                    for _ in range(per)]) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(DEADLINE)
        got = list(iter(sub.next, None))
        assert pub.version == n * per and [r.version for r in got] == list(range(1, n * per + 1))


def test_close_from_another_thread_ends_the_wait(bus):
    with shmbus.Publisher(bus, capacity=8):
        sub = shmbus.Subscriber(bus)
        errors = []

        def waiter():
            try:
                sub.wait(None, mode="sleep")
            except shmbus.Error as e:
                errors.append(e)
        t = threading.Thread(target=waiter)
        t.start()
        wait_until(lambda: asleep(bus), "the waiting thread to sleep")
        sub.close()
        t.join(DEADLINE)
        assert not t.is_alive() and isinstance(errors[0], shmbus.Closed) and sub.closed


def test_many_subscribers_in_many_threads(bus):
    n, count = 4, 200
    with shmbus.Publisher(bus, capacity=8, slots=1024) as pub:
        subs = [shmbus.Subscriber(bus) for _ in range(n)]
        got = [[] for _ in range(n)]

        def read(i):
            for rec in subs[i]:
                got[i].append(int.from_bytes(rec.data, "little"))
        threads = [threading.Thread(target=read, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for i in range(count):
            pub.publish(i.to_bytes(8, "little"))
    for t in threads:
        t.join(DEADLINE)
    for g in got:
        assert g == list(range(count))
    for s in subs:
        s.close()


WRITER = """
import sys, shmbus
name, n = sys.argv[1], int(sys.argv[2])
with shmbus.Publisher(name, capacity=16, slots=1024) as pub:
    for i in range(n):
        pub.publish(i.to_bytes(8, "little") * 2)
"""

READER = """
import sys, shmbus
with shmbus.Subscriber(sys.argv[1], wait_for_bus=True, timeout=60) as sub:
    sub.seek("oldest")
    print(",".join(str(int.from_bytes(r.data[:8], "little")) for r in sub))
"""


def test_writer_and_reader_in_two_processes(bus, child_env):
    # A Python writer in a child, this process reads every record.
    n = 300
    w = subprocess.Popen([sys.executable, "-c", WRITER, bus, str(n)], env=child_env)
    with shmbus.Subscriber(bus, wait_for_bus=True, timeout=DEADLINE) as sub:
        sub.seek("oldest")
        got = [int.from_bytes(r.data[:8], "little") for r in sub]  # ends at the close
    assert w.wait(DEADLINE) == 0
    assert got == list(range(n))


def test_reader_child_writer_here(bus, child_env):
    n = 300
    r = subprocess.Popen([sys.executable, "-c", READER, bus], env=child_env,
                         stdout=subprocess.PIPE, text=True)
    with shmbus.Publisher(bus, capacity=16, slots=1024) as pub:
        for i in range(n):
            pub.publish(i.to_bytes(8, "little") * 2)
    out, _ = r.communicate(timeout=DEADLINE)
    assert r.returncode == 0 and out.strip() == ",".join(map(str, range(n)))


KEEP_PUBLISHING = """
import sys, shmbus
with shmbus.Publisher(sys.argv[1], capacity=8, slots=8) as pub:
    pub.publish(b"first")
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    sys.stdin.readline()           # until killed
"""


def test_reader_across_writer_sigkill_and_restart(bus, child_env):
    def start():
        p = subprocess.Popen([sys.executable, "-c", KEEP_PUBLISHING, bus], env=child_env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline() == "ready\n"
        return p
    w = start()
    with shmbus.Subscriber(bus) as sub:
        assert sub.next().version == 1
        w.send_signal(signal.SIGKILL)
        w.wait(DEADLINE)
        with pytest.raises(shmbus.WriterDied):
            sub.wait(DEADLINE)          # noticed within 100 ms of the death
        assert shmbus.stat(bus).writer_alive is False
        w2 = start()                    # the next writer adopts the bus: versions go on
        try:
            assert sub.wait(DEADLINE, through_death=True) is True
            rec = sub.next()
            assert (rec.version, rec.data) == (2, b"first")
        finally:
            w2.kill()
            w2.wait(DEADLINE)


def tool(name):
    d = os.environ.get("SHMBUS_TOOLS")
    if not d:
        pytest.skip("SHMBUS_TOOLS (the built shmpub/shmsub) not set: run through Bazel")
    return os.path.join(d, name)


def test_c_writer_python_reader(bus):
    subprocess.run([tool("shmpub"), bus, "-m", "from C", "--mode", "0600"], check=True,
                   timeout=DEADLINE)
    with shmbus.Subscriber(bus) as sub:
        rec = sub.read_latest()
        assert rec.data == b"from C" and rec.version == 1


def test_python_writer_c_reader(bus):
    with shmbus.Publisher(bus, capacity=32) as pub:
        r = subprocess.Popen([tool("shmsub"), bus, "--all", "-C", "3", "--wait-for-bus",
                              "--new"], stdout=subprocess.PIPE, text=True)
        # shmsub --new reads only what comes after it starts: wait until it sleeps.
        wait_until(lambda: r.poll() is not None or asleep(bus, r.pid), "shmsub to sleep")
        for m in (b"a", b"bb", b"ccc"):
            pub.publish(m)
        out, _ = r.communicate(timeout=DEADLINE)
    assert r.returncode == 0 and out.split() == ["a", "bb", "ccc"]


def test_asyncio_aiter(bus):
    async def main():
        pub = shmbus.Publisher(bus, capacity=8, slots=64)
        sub = shmbus.Subscriber(bus)
        ticks = 0

        async def ticker():            # the loop is never blocked by the subscriber
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)
        tk = asyncio.create_task(ticker())
        loop = asyncio.get_running_loop()
        got = []
        loop.call_soon(pub.publish, b"r1")
        async for rec in sub.aiter():
            got.append(rec.data)
            if len(got) == 1:
                loop.call_soon(pub.publish, b"r2")
            elif len(got) == 2:
                loop.call_soon(pub.close)  # the writer goes: the iteration ends
        tk.cancel()
        sub.close()
        return got, ticks
    got, ticks = asyncio.run(asyncio.wait_for(main(), DEADLINE))
    assert got == [b"r1", b"r2"] and ticks > 0


def test_asyncio_three_buses(bus):
    names = [bus, bus + ".b", bus + ".c"]

    async def watch(name, out):
        with shmbus.Subscriber(name) as sub:
            async for rec in sub.aiter():
                out.append((name, rec.data))

    async def main():
        pubs = [shmbus.Publisher(n, capacity=8) for n in names]
        out = []
        tasks = [asyncio.create_task(watch(n, out)) for n in names]
        # Whether a watcher opens before or after the close, it gets the latest record.
        for i, p in enumerate(pubs):
            p.publish(bytes([i]))
            p.close()
        await asyncio.gather(*tasks)
        return sorted(out)
    try:
        out = asyncio.run(asyncio.wait_for(main(), DEADLINE))
        assert out == sorted((n, bytes([i])) for i, n in enumerate(names))
    finally:
        for n in names[1:]:
            try:
                shmbus.rm(n, force=True)
            except shmbus.BusNotFound:
                pass
