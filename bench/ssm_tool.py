#!/usr/bin/env python3
"""Helpers for bench/ssm.sh: a TCP source (sends N bytes to each connection), an echo server,
a sink and a round-trip timer for a local port, and a minimal data-channel client that drives
the stand-in directly, for the stand-in's own ceiling without aws-runas."""

import asyncio
import json
import os
import socket
import statistics
import sys
import threading
import time
import urllib.request
import uuid

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "standins"))
import ssm_service as proto  # noqa: E402  (framing only)
import websockets  # noqa: E402

CHUNK = 1 << 16


def serve(kind, size=0):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    print(srv.getsockname()[1], flush=True)
    block = os.urandom(CHUNK)
    while True:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handle, args=(kind, conn, size, block), daemon=True).start()


def handle(kind, conn, size, block):
    try:
        if kind == "source":
            left = size
            while left > 0:
                n = min(left, CHUNK)
                conn.sendall(block[:n])
                left -= n
            conn.recv(1)
        else:
            while True:
                data = conn.recv(CHUNK)
                if not data:
                    break
                conn.sendall(data)
    except OSError:
        pass
    conn.close()


def sink(port, size):
    conn = socket.create_connection(("127.0.0.1", port))
    start = time.monotonic()
    got = 0
    while got < size:
        data = conn.recv(1 << 20)
        if not data:
            break
        got += len(data)
    elapsed = time.monotonic() - start
    conn.close()
    print(f"{size / elapsed / 1e6:.1f}" if got == size else "short")


def rtt(port, n):
    conn = socket.create_connection(("127.0.0.1", port))
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    for _ in range(n):
        start = time.monotonic()
        conn.sendall(b"x")
        conn.recv(1)
        samples.append(time.monotonic() - start)
    conn.close()
    print(f"{statistics.median(samples) * 1000:.3f}")


async def relay(api, target_port, size, rounds):
    body = {"Target": "i-0123456789abcdef0", "DocumentName": "AWS-StartPortForwardingSession",
            "Parameters": {"portNumber": [str(target_port)], "localPortNumber": ["0"]}}
    req = urllib.request.Request(f"http://127.0.0.1:{api}/", data=json.dumps(body).encode(), headers={
        "X-Amz-Target": "AmazonSSM.StartSession", "Content-Type": "application/x-amz-json-1.1"})
    started = json.load(urllib.request.urlopen(req))
    async with websockets.connect(started["StreamUrl"], max_size=1 << 20, ping_interval=None) as ws:
        await ws.send(json.dumps({"MessageSchemaVersion": "1.0", "RequestId": str(uuid.uuid4()),
                                  "TokenValue": started["TokenValue"], "ClientId": str(uuid.uuid4()),
                                  "ClientVersion": "1.0.0.0"}))
        seq = 0

        async def send(ptype, payload):
            nonlocal seq
            await ws.send(proto.encode("input_stream_data", seq, 0, ptype, payload))
            seq += 1

        got, start, samples, sent_at = 0, None, [], None
        async for frame in ws:
            m = proto.decode(frame)
            if m["type"] != "output_stream_data":
                continue
            body = json.dumps({"AcknowledgedMessageType": m["type"], "AcknowledgedMessageId": str(m["id"]),
                               "AcknowledgedMessageSequenceNumber": m["seq"], "IsSequentialMessage": True},
                              separators=(",", ":")).encode()
            await ws.send(proto.encode("acknowledge", 0, 3, 0, body))
            if m["ptype"] == 5:
                await send(6, json.dumps({"ClientVersion": "1.0.0.0", "ProcessedClientActions": [
                    {"ActionType": "SessionType", "ActionStatus": 1, "ActionResult": None, "Error": ""}],
                    "Errors": None}).encode())
            elif m["ptype"] == 7:
                start = time.monotonic()
                if rounds:
                    sent_at = time.monotonic()
                    await send(1, b"x")
            elif m["ptype"] == 1:
                got += len(m["payload"])
                if rounds:
                    samples.append(time.monotonic() - sent_at)
                    if len(samples) == rounds:
                        print(f"{statistics.median(samples) * 1000:.3f}")
                        return
                    sent_at = time.monotonic()
                    await send(1, b"x")
                elif got >= size:
                    print(f"{size / (time.monotonic() - start) / 1e6:.1f}")
                    return


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd in ("source", "echo"):
        serve(cmd, int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    elif cmd == "sink":
        sink(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "rtt":
        rtt(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "relay":
        asyncio.run(relay(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
