#!/usr/bin/env python3
"""watch.py BUS... - one asyncio program watching several buses at once: prints every record
of each (bus, version, text) as it arrives; ends when every writer is gone."""
import asyncio
import sys

import shmbus


async def watch(name):
    loop = asyncio.get_running_loop()
    # Opening may wait for the bus to appear: off the loop, in a thread (the GIL is released).
    sub = await loop.run_in_executor(
        None, lambda: shmbus.Subscriber(name, wait_for_bus=True, timeout=60))
    with sub:
        async for rec in sub.aiter():         # the loop sleeps on sub.fileno()
            print(f"{name} v{rec.version}: {bytes(rec.data).decode(errors='replace')}",
                  flush=True)


async def main(names):
    await asyncio.gather(*(watch(n) for n in names))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: watch.py BUS...")
    asyncio.run(main(sys.argv[1:]))
