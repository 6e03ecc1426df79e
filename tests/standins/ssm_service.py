#!/usr/bin/env python3
"""A loopback stand-in of AWS Session Manager for tests: the SSM API (StartSession,
ResumeSession, TerminateSession over awsJson1.1) and the agent's side of the data channel over
WebSocket, written from the protocol's description, not from our client: the frame layout is
spelled out below (`framing`: the 120-byte header, its SHA-256 payload digest), as is the smux
v1 framing of multiplexed port sessions (`mux_send`). Shell sessions run a real shell in a pty;
port sessions connect to 127.0.0.1:portNumber (the "instance" is this machine). Faults on
demand: dropped, duplicated and reordered messages, a dropped socket, paused publication,
refused sessions, KMS, a stream URL where no WebSocket answers, and an agent that misbehaves
(--misbehave): stops reading once the session has started, floods output without ever reading,
closes every channel as soon as it is opened, or sends a frame larger than any client accepts
on every channel.

Prints one JSON line {"api": PORT, "ws": PORT} once listening; logs what happened as JSON lines
to --log."""

import argparse
import asyncio
import fcntl
import hashlib
import json
import os
import pty
import random
import signal
import struct
import subprocess
import termios
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from websockets.asyncio.server import serve

HL = 116
ARGS = None
LOOP = None
SESSIONS = {}
LOG_LOCK = threading.Lock()


def log(**event):
    if ARGS.log:
        # Wall-clock seconds, for tests that check how calls are spaced.
        event["t"] = time.time()
        with LOG_LOCK, open(ARGS.log, "a") as f:
            f.write(json.dumps(event) + "\n")


# --- framing ---------------------------------------------------------------------------

def uuid_wire(u):
    b = u.bytes
    return b[8:] + b[:8]


def encode(mtype, seq, flags, ptype, payload, mid=None):
    mid = mid or uuid.uuid4()
    return (struct.pack(">I", HL) + mtype.encode().ljust(32, b" ") + struct.pack(">I", 1)
            + struct.pack(">Q", int(time.time() * 1000)) + struct.pack(">q", seq)
            + struct.pack(">Q", flags) + uuid_wire(mid) + hashlib.sha256(payload).digest()
            + struct.pack(">I", ptype) + struct.pack(">I", len(payload)) + payload)


def decode(frame):
    """Strict, as the agent: a bad frame raises."""
    if len(frame) < HL + 4:
        raise ValueError("short frame")
    (hl,) = struct.unpack(">I", frame[:4])
    if hl != HL:
        raise ValueError(f"header length {hl}")
    mtype = frame[4:36].decode().strip(" \x00")
    (date,) = struct.unpack(">Q", frame[40:48])
    (seq,) = struct.unpack(">q", frame[48:56])
    wire = frame[64:80]
    mid = uuid.UUID(bytes=wire[8:] + wire[:8])
    digest = frame[80:112]
    (ptype, plen) = struct.unpack(">II", frame[112:120])
    payload = frame[120:]
    if len(payload) != plen:
        raise ValueError("payload length mismatch")
    if not mtype or date == 0:
        raise ValueError("empty type or date")
    if plen and hashlib.sha256(payload).digest() != digest:
        raise ValueError("digest mismatch")
    if mtype == "input_stream_data" and plen == 0:
        raise ValueError("empty payload")
    return {"type": mtype, "seq": seq, "id": mid, "ptype": ptype, "payload": payload}


def version(v):
    return tuple(int(p) if p.isdigit() else 0 for p in (v or "0").split("."))


# --- the agent's side of one session ---------------------------------------------------

class Session:
    def __init__(self, sid, target, document, params):
        self.id = sid
        self.target = target
        self.document = document
        self.params = params
        self.token = uuid.uuid4().hex
        self.kind = "port" if document in ("AWS-StartPortForwardingSession", "AWS-StartSSHSession") else "shell"
        self.ws = None
        self.out_seq = 0
        self.unacked = {}  # seq -> [frame, sent]
        self.expected = 0
        self.early = {}
        self.started = False
        self.ready = False
        self.closed = False
        self.held = None  # a frame held back to reorder
        self.sent_data = 0
        self.dropped_socket = False
        self.paused_once = False
        self.conn = None  # (reader, writer) to the target port
        self.pump = None
        self.master = None
        self.proc = None
        self.can_send = asyncio.Event()
        self.can_send.set()
        self.received = 0
        self.mux = False
        self.mux_in = b""
        self.streams = {}  # smux stream id -> {"writer", "pending", "fin"}
        # --misbehave stop-reading / flood: the data channel is no longer read.
        self.deaf = asyncio.Event()

    # sending
    async def transmit(self, frame, faulty):
        ws = self.ws
        if ws is None:
            return
        try:
            if faulty and ARGS.drop and random.random() < ARGS.drop:
                log(event="fault", session=self.id, kind="drop")
                return
            if faulty and ARGS.reorder and self.held is None and random.random() < ARGS.reorder:
                log(event="fault", session=self.id, kind="reorder")
                self.held = frame
                return
            if faulty and ARGS.corrupt and random.random() < ARGS.corrupt:
                # A flipped payload bit: the digest no longer matches, the client must drop it
                # unacknowledged, and the retransmission repairs it.
                log(event="fault", session=self.id, kind="corrupt")
                await ws.send(frame[:-1] + bytes([frame[-1] ^ 1]))
                return
            await ws.send(frame)
            if faulty and ARGS.dup and random.random() < ARGS.dup:
                log(event="fault", session=self.id, kind="dup")
                await ws.send(frame)
            if self.held is not None:
                held, self.held = self.held, None
                await ws.send(held)
        except Exception:
            pass

    async def send_data(self, ptype, payload, flags=0):
        seq = self.out_seq
        self.out_seq += 1
        frame = encode("output_stream_data", seq, flags, ptype, payload)
        self.unacked[seq] = [frame, time.monotonic()]
        if len(self.unacked) >= ARGS.window:
            self.can_send.clear()
        await self.transmit(frame, True)
        self.sent_data += 1
        if ARGS.drop_socket_after and not self.dropped_socket and self.sent_data >= ARGS.drop_socket_after:
            self.dropped_socket = True
            log(event="socket_dropped", session=self.id)
            ws, self.ws = self.ws, None
            ws.transport.abort()

    async def ack(self, msg):
        body = json.dumps({"AcknowledgedMessageType": msg["type"],
                           "AcknowledgedMessageId": str(msg["id"]),
                           "AcknowledgedMessageSequenceNumber": msg["seq"],
                           "IsSequentialMessage": True}, separators=(",", ":")).encode()
        await self.transmit(encode("acknowledge", 0, 3, 0, body), ARGS.drop_acks)

    async def close_channel(self, output=""):
        if self.closed:
            return
        self.closed = True
        log(event="channel_closed", session=self.id, output=output)
        body = json.dumps({"MessageId": str(uuid.uuid4()), "CreatedDate": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "DestinationId": self.target, "SessionId": self.id, "MessageType": "channel_closed",
                           "SchemaVersion": 1, "Output": output}).encode()
        if self.ws is not None:
            try:
                await self.ws.send(encode("channel_closed", 0, 0, 0, body))
            except Exception:
                pass
        self.stop()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.conn:
            self.conn[1].close()
            self.conn = None

    async def retransmitter(self):
        while not self.closed:
            await asyncio.sleep(0.1)
            now = time.monotonic()
            for seq in sorted(self.unacked)[:200]:
                entry = self.unacked.get(seq)
                if entry and now - entry[1] > 0.2:
                    entry[1] = now
                    await self.transmit(entry[0], False)

    # session start
    async def begin(self):
        self.started = True
        asyncio.create_task(self.retransmitter())
        # As the agent: shells shake hands only with KMS or as NonInteractiveCommands.
        if self.kind == "port" or ARGS.kms or ARGS.session_type != "Standard_Stream":
            actions = []
            if self.kind == "port":
                props = {"portNumber": self.params.get("portNumber", ["22"])[0]}
                if self.document == "AWS-StartPortForwardingSession":
                    props.update(type="LocalPortForwarding",
                                 localPortNumber=self.params.get("localPortNumber", ["0"])[0])
                actions.append({"ActionType": "SessionType",
                                "ActionParameters": {"SessionType": "Port", "Properties": props}})
            else:
                actions.append({"ActionType": "SessionType",
                                "ActionParameters": {"SessionType": ARGS.session_type, "Properties": None}})
            if ARGS.kms:
                actions.append({"ActionType": "KMSEncryption",
                                "ActionParameters": {"KMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/k"}})
            # By default the newest agent version whose port sessions AWS's client runs
            # without smux multiplexing; --agent-version above it turns multiplexing on.
            body = json.dumps({"AgentVersion": ARGS.agent_version, "RequestedClientActions": actions}).encode()
            await self.send_data(5, body, flags=1)
        elif ARGS.misbehave in ("stop-reading", "flood"):
            self.misbehave()
        else:
            await self.start_shell()

    def misbehave(self):
        """Once the session has started: the channel is no longer read, and with flood, output
        is sent as fast as the socket takes it, without regard for acknowledgements."""
        log(event="deaf", session=self.id)
        self.deaf.set()
        asyncio.create_task(self.watch_unread())
        if ARGS.misbehave == "flood":
            asyncio.create_task(self.flood())

    async def flood(self):
        ws = self.ws
        while not self.closed and ws is not None and self.ws is ws:
            # One-byte payloads: many frames, hence many acknowledgements from the client,
            # for little terminal output.
            frame = encode("output_stream_data", self.out_seq, 0, 1, b".")
            self.out_seq += 1
            try:
                await ws.send(frame)
            except Exception:
                return

    async def watch_unread(self):
        """Logs peer_stuck once what the client sent us (more than a few acknowledgements) has
        stopped growing in our unread socket buffer for a second: the client's writes are
        then waiting on a full socket."""
        ws = self.ws
        try:
            fd = ws.transport.get_extra_info("socket").fileno()
        except Exception:
            return
        last, since = -1, time.monotonic()
        while not self.closed and self.ws is ws:
            await asyncio.sleep(0.1)
            try:
                (unread,) = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))
            except OSError:
                return
            if unread != last:
                last, since = unread, time.monotonic()
            elif unread >= 32 << 10 and time.monotonic() - since > 1:
                log(event="peer_stuck", session=self.id, unread=unread)
                return

    async def start_shell(self):
        self.ready = True
        master, slave = pty.openpty()
        env = dict(os.environ, PS1="remote$ ", TERM="xterm", HISTFILE="/dev/null")
        self.proc = subprocess.Popen(["bash", "--norc", "--noprofile", "-i"], stdin=slave, stdout=slave,
                                     stderr=slave, start_new_session=True, env=env, cwd="/",
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.master = master
        self.pump = asyncio.create_task(self.pump_pty())

    async def pump_pty(self):
        loop = asyncio.get_running_loop()
        while True:
            await self.can_send.wait()
            try:
                data = await loop.run_in_executor(None, os.read, self.master, 1024)
            except OSError:
                data = b""
            if not data:
                break
            await self.send_data(1, data)
        code = await loop.run_in_executor(None, self.proc.wait)
        # The agent sends the status only in NonInteractiveCommands sessions (with separate
        # output streams), as this text; an interactive shell's status is not sent at all.
        if ARGS.session_type == "NonInteractiveCommands":
            await self.send_data(12, f"EXIT_CODE: {code}".encode())
        await self.wait_acked()
        await self.close_channel()

    async def wait_acked(self):
        for _ in range(100):
            if not self.unacked or self.ws is None:
                return
            await asyncio.sleep(0.05)

    async def connect_target(self):
        port = int(self.params.get("portNumber", ["22"])[0])
        try:
            self.conn = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            log(event="connect_failed", session=self.id, port=port)
            self.conn = None
            await self.send_data(10, struct.pack(">I", 3))
            return
        log(event="connected", session=self.id, port=port)
        self.pump = asyncio.create_task(self.pump_target(self.conn))

    async def pump_target(self, conn):
        reader = conn[0]
        while True:
            await self.can_send.wait()
            try:
                data = await reader.read(1024)
            except OSError:
                data = b""
            if not data:
                break
            await self.send_data(1, data)

    # receiving
    async def on_frame(self, frame):
        if ARGS.lose_incoming and random.random() < ARGS.lose_incoming:
            # Lost on the way in: never seen, never acknowledged; the client must resend it.
            log(event="fault", session=self.id, kind="lose_incoming")
            return
        try:
            msg = decode(frame)
        except ValueError as e:
            log(event="bad_frame", session=self.id, error=str(e))
            return
        if msg["type"] == "acknowledge":
            ack = json.loads(msg["payload"])
            self.unacked.pop(ack["AcknowledgedMessageSequenceNumber"], None)
            if len(self.unacked) < ARGS.window // 2:
                self.can_send.set()
            return
        if msg["type"] != "input_stream_data":
            log(event="unknown_type", session=self.id, type=msg["type"])
            return
        seq = msg["seq"]
        if seq < self.expected or seq in self.early:
            log(event="duplicate", session=self.id, seq=seq)
            await self.ack(msg)
            return
        await self.ack(msg)
        self.early[seq] = msg
        while self.expected in self.early:
            m = self.early.pop(self.expected)
            self.expected += 1
            await self.process(m)

    async def process(self, msg):
        ptype, payload = msg["ptype"], msg["payload"]
        self.received += 1
        if ARGS.pause_after and not self.paused_once and self.received >= ARGS.pause_after:
            self.paused_once = True
            asyncio.create_task(self.pause_publication())
        if ptype == 6:
            response = json.loads(payload)
            log(event="handshake_response", session=self.id, response=response)
            if any(a.get("ActionStatus") != 1 for a in response.get("ProcessedClientActions") or []):
                await self.close_channel("handshake declined")
                return
            await self.send_data(7, json.dumps({"HandshakeTimeToComplete": 1000000,
                                                "CustomerMessage": ""}).encode())
            if self.kind == "port":
                self.ready = True
                # As the agent: multiplex when both sides are new enough, for port forwarding.
                self.mux = (version(ARGS.agent_version) > version("3.0.196.0")
                            and version(response.get("ClientVersion")) >= version("1.1.70")
                            and self.document == "AWS-StartPortForwardingSession")
                log(event="mode", session=self.id, mux=self.mux)
                if ARGS.misbehave in ("stop-reading", "flood"):
                    self.misbehave()
                elif not self.mux:
                    await self.connect_target()
            elif ARGS.misbehave in ("stop-reading", "flood"):
                self.misbehave()
            else:
                await self.start_shell()
        elif ptype == 3:
            size = json.loads(payload)
            log(event="size", session=self.id, cols=size["cols"], rows=size["rows"])
            if self.master is not None:
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", size["rows"], size["cols"], 0, 0))
        elif ptype == 10:
            (value,) = struct.unpack(">I", payload)
            log(event="flag", session=self.id, value=value)
            if value == 1 and self.conn:
                self.conn[1].close()
                self.conn = None
            elif value == 2:
                await self.close_channel()
        elif ptype == 1:
            if not self.ready:
                log(event="data_before_handshake", session=self.id)
                return
            if self.kind == "shell":
                os.write(self.master, payload)
            elif self.mux:
                await self.mux_input(payload)
            else:
                if self.conn is None:
                    await self.connect_target()
                if self.conn is not None:
                    self.conn[1].write(payload)
                    await self.conn[1].drain()

    # smux v1: 8-byte header (version 1, command, length LE16, stream LE32)
    async def mux_send(self, cmd, sid, data=b""):
        frame = struct.pack("<BBHI", 1, cmd, len(data), sid) + data
        # The agent's smux writes reach the data channel through a pipe read in 1 KiB pieces:
        # frames are cut anywhere.
        self.mux_out = getattr(self, "mux_out", b"") + frame
        while self.mux_out:
            piece, self.mux_out = self.mux_out[:1024], self.mux_out[1024:]
            await self.send_data(1, piece)

    async def mux_input(self, payload):
        self.mux_in += payload
        while len(self.mux_in) >= 8:
            ver, cmd, length, sid = struct.unpack("<BBHI", self.mux_in[:8])
            if ver != 1:
                log(event="bad_smux", session=self.id)
                self.mux_in = b""
                return
            if len(self.mux_in) < 8 + length:
                return
            data, self.mux_in = self.mux_in[8:8 + length], self.mux_in[8 + length:]
            if cmd == 0:
                self.streams[sid] = {"writer": None, "pending": [], "fin": False}
                asyncio.create_task(self.mux_open(sid))
            elif cmd == 2 and sid in self.streams:
                st = self.streams[sid]
                if st["writer"] is None:
                    st["pending"].append(data)
                else:
                    st["writer"].write(data)
                    await st["writer"].drain()
            elif cmd == 1 and sid in self.streams:
                st = self.streams[sid]
                if st["writer"] is None:
                    st["fin"] = True
                else:
                    st["writer"].close()
                    del self.streams[sid]
            elif cmd == 3:
                log(event="smux_nop", session=self.id)

    async def mux_open(self, sid):
        port = int(self.params.get("portNumber", ["22"])[0])
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await self.send_data(10, struct.pack(">I", 3))
            await self.mux_send(1, sid)
            return
        st = self.streams.get(sid)
        log(event="stream_open", session=self.id, stream=sid, open=len(self.streams))
        for data in st["pending"]:
            writer.write(data)
        st["writer"] = writer
        if st["fin"]:
            writer.close()
            del self.streams[sid]
        while True:
            await self.can_send.wait()
            try:
                data = await reader.read(1000)
            except OSError:
                data = b""
            if not data:
                break
            await self.mux_send(2, sid, data)
        await self.mux_send(1, sid)

    async def pause_publication(self):
        log(event="paused", session=self.id)
        await self.transmit(encode("pause_publication", 0, 0, 0, b""), False)
        await asyncio.sleep(0.5)
        await self.transmit(encode("start_publication", 0, 0, 0, b""), False)


async def data_channel(ws):
    path = ws.request.path
    sid = path.split("?")[0].rstrip("/").split("/")[-1]
    session = SESSIONS.get(sid)
    try:
        opening = json.loads(await asyncio.wait_for(ws.recv(), 10))
    except Exception:
        return
    if session is None or session.closed or opening.get("TokenValue") != session.token:
        log(event="bad_token", session=sid)
        await ws.close(1008, "bad token")
        return
    log(event="dialled", session=sid, client_version=opening.get("ClientVersion"))
    if ARGS.misbehave == "close":
        log(event="closed_at_once", session=sid)
        await ws.close(1011, "going away")
        return
    if ARGS.misbehave == "oversized":
        # Past the 1 MiB a client takes in one message (AWS's sends 1 KiB payloads).
        log(event="oversized", session=sid)
        await ws.send(encode("output_stream_data", 0, 0, 1, b"x" * ((1 << 20) + 1024)))
        await ws.wait_closed()
        return
    session.ws = ws
    if not session.started:
        await session.begin()
    else:
        for seq in sorted(session.unacked):
            await session.transmit(session.unacked[seq][0], False)
    try:
        if not session.deaf.is_set():
            async for frame in ws:
                if isinstance(frame, bytes):
                    await session.on_frame(frame)
                if session.deaf.is_set():
                    break
        if session.deaf.is_set():
            # Never read again: the client's frames fill our socket buffer, then its own.
            await ws.wait_closed()
    except Exception:
        pass
    if session.ws is ws:
        session.ws = None


# --- the SSM API -----------------------------------------------------------------------

class Api(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message):
        self.reply(status, {"__type": code, "message": message})

    def do_POST(self):
        action = self.headers.get("X-Amz-Target", "").split(".")[-1]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        log(api=action, body=body, signed=self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256"))
        if action == "StartSession":
            target = body.get("Target", "")
            if ARGS.deny:
                return self.error(400, "AccessDeniedException",
                                  f"User is not authorized to perform: ssm:StartSession on resource: {target}")
            if target in ARGS.offline:
                return self.error(400, "TargetNotConnected", f"{target} is not connected.")
            sid = f"runas-{uuid.uuid4().hex[:17]}"
            session = Session(sid, target, body.get("DocumentName"), body.get("Parameters") or {})
            SESSIONS[sid] = session
            port = ARGS.hangup_port if ARGS.bad_stream_url else ARGS.ws_port
            url = f"ws://127.0.0.1:{port}/v1/data-channel/{sid}?role=publish_subscribe"
            log(event="token", session=sid, token=session.token)
            return self.reply(200, {"SessionId": sid, "TokenValue": session.token, "StreamUrl": url})
        session = SESSIONS.get(body.get("SessionId", ""))
        if action == "ResumeSession":
            if session is None or session.closed:
                return self.reply(200, {"SessionId": body.get("SessionId"), "TokenValue": None})
            session.token = uuid.uuid4().hex
            log(event="token", session=session.id, token=session.token)
            return self.reply(200, {"SessionId": session.id, "TokenValue": session.token,
                                    "StreamUrl": f"ws://127.0.0.1:{ARGS.ws_port}/v1/data-channel/{session.id}"})
        if action == "TerminateSession":
            if session is not None:
                asyncio.run_coroutine_threadsafe(session.close_channel(), LOOP)
            return self.reply(200, {"SessionId": body.get("SessionId")})
        return self.error(400, "UnknownOperationException", action)


async def hang_up(reader, writer):
    """Where --bad-stream-url points: reads the WebSocket upgrade request, and hangs up
    without an answer."""
    try:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    except Exception:
        pass
    log(event="hung_up")
    writer.close()


async def main():
    global LOOP
    LOOP = asyncio.get_running_loop()
    hangup = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    ARGS.hangup_port = hangup.sockets[0].getsockname()[1]
    async with serve(data_channel, "127.0.0.1", 0, max_size=1 << 20, ping_interval=None) as server:
        ARGS.ws_port = server.sockets[0].getsockname()[1]
        api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
        threading.Thread(target=api.serve_forever, daemon=True).start()
        print(json.dumps({"api": api.server_address[1], "ws": ARGS.ws_port}), flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--log")
    p.add_argument("--drop", type=float, default=0.0)
    p.add_argument("--dup", type=float, default=0.0)
    p.add_argument("--reorder", type=float, default=0.0)
    p.add_argument("--corrupt", type=float, default=0.0)
    p.add_argument("--lose-incoming", type=float, default=0.0)
    p.add_argument("--drop-acks", action="store_true")
    p.add_argument("--drop-socket-after", type=int, default=0)
    p.add_argument("--pause-after", type=int, default=0)
    p.add_argument("--window", type=int, default=2000)
    p.add_argument("--deny", action="store_true")
    p.add_argument("--offline", action="append", default=[])
    p.add_argument("--kms", action="store_true")
    p.add_argument("--session-type", default="Standard_Stream",
                   choices=["Standard_Stream", "InteractiveCommands", "NonInteractiveCommands"])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--agent-version", default="3.0.196.0")
    p.add_argument("--bad-stream-url", action="store_true")
    p.add_argument("--misbehave", choices=["stop-reading", "flood", "close", "oversized"])
    ARGS = p.parse_args()
    random.seed(ARGS.seed)
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
