"""bench/py_reader.py - the Python reader of bench/py_bench.c (issue 14's Python-against-C rows).

Started by py_bench (pinned to the readers' CPU), it reads one command per line on stdin and
answers on stdout, exactly as py_bench's own C reader does (py_bench.c: c_reader_serve()):

  lat BUS ACK MODE API SIZE TOTAL
      open BUS (cursor: new records only) and become the writer of the acknowledgement bus
      ACK; publish -1 on ACK (ready); then TOTAL times: wait (MODE: sleep, spin), read the
      record (API: next = sub.next(), into = sub.next_into(a reused bytearray)), stamp
      time.monotonic_ns() at once, check the record's number, keep t1 - t0 (t0: the first 8
      bytes, the writer's CLOCK_MONOTONIC), publish the number on ACK.
      Answer: "ok N\\n" and N int64 samples (ns, native order); or "err SENTENCE\\n".
  drain BUS API BATCH
      seek to the oldest record of BUS and read until nothing is left, timed with
      time.monotonic_ns(). API: next (a loop of sub.next()), next_many (sub.next_many(BATCH)
      into a structured numpy array, the default record_dtype), next_many_into
      (sub.next_many_into() into one preallocated array of BATCH rows of the capacity).
      Answer: "ok RECORDS NS\\n".
  quit

Only the shmbus package, struct and time are used on the measured paths.
"""
import struct
import sys
import time

import shmbus

mono = time.monotonic_ns
unpack_from = struct.unpack_from
pack = struct.pack
out = sys.stdout.buffer
subs = {}  # drain buses, opened once


def lat(bus, ack, mode, api, size, total):
    samples = [0] * total
    sub = shmbus.Subscriber(bus)
    sub.seek("new")
    pub = shmbus.Publisher(ack, capacity=16, slots=8, type="bench-ack")
    try:
        wait, publish = sub.wait, pub.publish
        if api == "into":
            buf = bytearray(size)
            into = sub.next_into
            read = lambda: into(buf)  # noqa: E731
        else:
            read = sub.next
        publish(pack("<q", -1))  # ready: subscribed, cursor set
        i = 0
        while i < total:
            wait(None, mode=mode)
            rec = read()
            if rec is None:
                continue
            t1 = mono()
            t0, seq = unpack_from("<qq", rec.data)
            if seq != i:
                raise RuntimeError(f"got record {seq}, expected {i}")
            samples[i] = t1 - t0
            publish(pack("<q", i))
            i += 1
    finally:
        pub.close()
        sub.close()
    return samples


def drain(bus, api, batch):
    sub = subs.get(bus)
    if sub is None:
        sub = subs[bus] = shmbus.Subscriber(bus)
    sub.seek("oldest")
    n = 0
    if api == "next":
        nxt = sub.next
        t0 = mono()
        while nxt() is not None:
            n += 1
        t1 = mono()
    elif api == "next_many":
        many = sub.next_many
        t0 = mono()
        while True:
            k = len(many(batch))
            if not k:
                break
            n += k
        t1 = mono()
    elif api == "next_many_into":
        import numpy as np
        arr = np.empty((batch, sub.capacity), np.uint8)
        into = sub.next_many_into
        t0 = mono()
        while True:
            k = into(arr)
            if not k:
                break
            n += k
        t1 = mono()
    else:
        raise ValueError(f"unknown drain api {api!r}")
    return n, t1 - t0


def main():
    out.write(f"ready python {sys.version.split()[0]} shmbus {shmbus.__version__}\n".encode())
    out.flush()
    for line in sys.stdin.buffer:
        w = line.decode().split()
        if not w:
            continue
        try:
            if w[0] == "quit":
                break
            if w[0] == "lat":
                s = lat(w[1], w[2], w[3], w[4], int(w[5]), int(w[6]))
                out.write(f"ok {len(s)}\n".encode() + struct.pack(f"={len(s)}q", *s))
            elif w[0] == "drain":
                n, ns = drain(w[1], w[2], int(w[3]))
                out.write(f"ok {n} {ns}\n".encode())
            else:
                out.write(f"err unknown command {w[0]}\n".encode())
        except Exception as e:  # the driver prints the sentence and stops
            out.write(f"err {type(e).__name__}: {e}\n".replace("\n", " ").strip().encode() + b"\n")
        out.flush()
    for s in subs.values():
        s.close()


if __name__ == "__main__":
    main()
