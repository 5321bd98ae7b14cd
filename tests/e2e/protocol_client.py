#!/usr/bin/env python3
"""Producers and a subscriber for the fault tests, written from docs/protocol.md alone (no spicecap code),
so the daemon is driven the way a program in another language would drive it.

  protocol_client.py flood --bytes N --payload-bytes P
      one producer sending N bytes of SPICE display records as fast as the socket takes them
  protocol_client.py subscribe --expect-records N --slow-seconds S --read-rate BYTES_PER_S
      a subscriber (all SPICE channels) that reads at most BYTES_PER_S for S seconds, then at full speed
      until it has accounted for N records, received or reported in DROP notices
  protocol_client.py churn --producers K --rounds R --records M
      R rounds of K producers that connect at once, say HELLO, open a channel, send M records and hang up

The socket is $SPICECAP_SOCKET. Each prints one line of results; a protocol error exits with status 1.
"""
import argparse
import json
import os
import socket
import struct
import sys
import time

FRAME_HELLO, FRAME_REPLY, FRAME_RECORD, FRAME_EVENT, FRAME_DROP = 1, 2, 3, 4, 5
KIND_SPICE = 1
CHANNEL_DISPLAY = 2
DIRECTION_SERVER_TO_CLIENT = 1
RECORD_HEADER = struct.Struct("<BBBBIQI")  # kind, direction, channel_type, channel_id, session, timestamp_ns, flags
DROP_COUNTS = struct.Struct("<QQ")  # records, bytes


def frame(frame_type, body):
    """u32 little-endian length of type + body, u8 type, body."""
    return struct.pack("<IB", len(body) + 1, frame_type) + body


def json_frame(frame_type, obj):
    return frame(frame_type, json.dumps(obj).encode())


def record_frame(payload, channel_type=CHANNEL_DISPLAY):
    # Session 0 and timestamp 0: the daemon fills both in.
    header = RECORD_HEADER.pack(KIND_SPICE, DIRECTION_SERVER_TO_CLIENT, channel_type, 0, 0, 0, 0)
    return frame(FRAME_RECORD, header + payload)


class FrameReader:
    """Cuts frames out of a socket's byte stream."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = bytearray()

    def fill(self, max_bytes=1 << 20):
        chunk = self.sock.recv(max_bytes)
        if not chunk:
            raise EOFError("spicecapd closed the connection")
        self.buffer += chunk
        return len(chunk)

    def next_frame(self):
        """The next complete frame as (type, body), or None if more bytes are needed."""
        if len(self.buffer) < 5:
            return None
        length = struct.unpack_from("<I", self.buffer)[0]
        if len(self.buffer) < 4 + length:
            return None
        frame_type = self.buffer[4]
        body = bytes(self.buffer[5:4 + length])
        del self.buffer[:4 + length]
        return frame_type, body

    def read_frame(self):
        while True:
            f = self.next_frame()
            if f is not None:
                return f
            self.fill()


def connect(hello):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(os.environ["SPICECAP_SOCKET"])
    sock.sendall(json_frame(FRAME_HELLO, dict(version=1, **hello)))
    reader = FrameReader(sock)
    frame_type, body = reader.read_frame()
    reply = json.loads(body)
    if frame_type != FRAME_REPLY or not reply.get("ok"):
        raise RuntimeError(f"HELLO refused: {reply}")
    return sock, reader


def channel_opened(channel_type=CHANNEL_DISPLAY):
    return json_frame(FRAME_EVENT, {"event": "channel_opened", "kind": "spice", "channel_type": channel_type,
                                    "channel_id": 0, "header": "mini"})


def flood(args):
    sock, _ = connect({"role": "producer", "name": "flood", "pid": os.getpid(), "session": "flood"})
    sock.sendall(channel_opened())
    records = args.bytes // args.payload_bytes
    # A mini-header SPICE message (type 304 DRAW_COPY, size) followed by filler, repeated: one buffer of
    # 16 frames is sent again and again, so Python is never the bottleneck.
    body = bytes([i & 0xFF for i in range(args.payload_bytes - 6)])
    payload = struct.pack("<HI", 304, len(body)) + body
    batch = record_frame(payload) * 16
    start = time.monotonic()
    sent = 0
    while sent + 16 <= records:
        sock.sendall(batch)
        sent += 16
    for _ in range(records - sent):
        sock.sendall(record_frame(payload))
        sent += 1
    seconds = time.monotonic() - start
    sock.close()
    print(f"flood: sent {sent} records, {sent * len(payload)} bytes in {seconds:.1f} s "
          f"({sent * len(payload) / seconds / 2**20:.0f} MiB/s)")


def subscribe(args):
    sock, reader = connect({"role": "subscriber", "kind": "spice"})
    received = dropped = dropped_bytes = 0
    slow_until = time.monotonic() + args.slow_seconds
    deadline = slow_until + args.timeout
    print("subscribed", flush=True)
    while received + dropped < args.expect_records:
        if time.monotonic() > deadline:
            print(f"subscribe: timed out with {received} received + {dropped} dropped of {args.expect_records}")
            sys.exit(1)
        slow = time.monotonic() < slow_until
        reader.fill(4096 if slow else 1 << 20)
        if slow:
            time.sleep(4096 / args.read_rate)
        while (f := reader.next_frame()) is not None:
            frame_type, body = f
            if frame_type == FRAME_RECORD:
                received += 1
            elif frame_type == FRAME_DROP:
                records, nbytes = DROP_COUNTS.unpack_from(body, RECORD_HEADER.size)
                dropped += records
                dropped_bytes += nbytes
    print(f"subscribe: {received} records received, {dropped} dropped ({dropped_bytes} bytes) "
          f"of {args.expect_records}")
    if received + dropped != args.expect_records:
        sys.exit(1)


def churn(args):
    payload = struct.pack("<HI", 4, 12) + bytes(12)  # a mini-header PING
    records = b"".join(record_frame(payload) for _ in range(args.records))
    accepted = 0
    for _ in range(args.rounds):
        producers = []
        for i in range(args.producers):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(os.environ["SPICECAP_SOCKET"])
            sock.sendall(json_frame(FRAME_HELLO, {"version": 1, "role": "producer", "name": "churn",
                                                  "pid": os.getpid(), "session": f"churn-{i}"}))
            producers.append(sock)
        for sock in producers:
            frame_type, body = FrameReader(sock).read_frame()
            if frame_type != FRAME_REPLY or not json.loads(body).get("ok"):
                raise RuntimeError(f"HELLO refused: {body!r}")
            accepted += 1
            sock.sendall(channel_opened() + records)
        for sock in producers:
            sock.close()
    print(f"churn: {accepted} producers accepted in {args.rounds} rounds of {args.producers}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("flood")
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--payload-bytes", type=int, default=256 * 1024)
    p = commands.add_parser("subscribe")
    p.add_argument("--expect-records", type=int, required=True)
    p.add_argument("--slow-seconds", type=float, default=0)
    p.add_argument("--read-rate", type=float, default=1 << 20)
    p.add_argument("--timeout", type=float, default=60, help="seconds allowed after the slow part")
    p = commands.add_parser("churn")
    p.add_argument("--producers", type=int, default=200)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--records", type=int, default=3)
    args = parser.parse_args()
    {"flood": flood, "subscribe": subscribe, "churn": churn}[args.command](args)


if __name__ == "__main__":
    main()
