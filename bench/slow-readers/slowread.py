#!/usr/bin/env python3
"""Slow readers against bystanders: every 10 s two more connections GET /big and read 16 KiB each every 15 s (at most
16 connections, a 4 KiB receive buffer each); a bystander GETs /small every 2 s (20 s timeout). Prints each
bystander's status and time, then how many took over 2 s or failed.

Usage: slowread.py PORT SECONDS"""
import socket
import sys
import threading
import time

port, seconds = int(sys.argv[1]), float(sys.argv[2])
slow, stats, threads = [], [], []
start = time.time()
last_open, last_read = -99.0, 0.0


def bystander(at):
    began = time.time()
    try:
        conn = socket.create_connection(("127.0.0.1", port))
        conn.settimeout(20)
        conn.sendall(b"GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        result = conn.recv(200).split(b"\r\n")[0].decode()
        conn.close()
    except Exception as error:  # noqa: BLE001 - any failure is a failed bystander
        result = type(error).__name__
    stats.append((at, result, time.time() - began))


while time.time() - start < seconds:
    now = time.time() - start
    if now - last_open >= 10 and len(slow) < 16:
        for _ in range(2):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            slow.append(s)
        last_open = now
    if now - last_read >= 15:
        for s in slow:
            s.settimeout(0.2)
            try:
                s.recv(16384)
            except OSError:
                pass
        last_read = now
    thread = threading.Thread(target=bystander, args=(round(now, 1),))
    thread.start()
    threads.append(thread)
    time.sleep(2)
for thread in threads:
    thread.join()
for s in slow:
    s.close()
for at, result, took in sorted(stats):
    print(f"t={at:5.1f}s bystander {result:24s} {took:5.1f}s")
late = [took for _, result, took in stats if took > 2 or "200" not in result]
print(f"bystanders: {len(stats)}, slow(>2s) or failed: {len(late)}, max {max(t for _, _, t in stats):.1f}s")
