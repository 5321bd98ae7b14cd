#!/usr/bin/python3
"""Lists the frames of classic pcap files, one line each: "<timestamp ns> <length> <sha256 of the bytes>".

  pcap_frames.py FILE...     every frame of every file (nanosecond or microsecond pcap)

Two captures hold the same frames when their sorted listings are equal, whatever files they are split into.
"""
import hashlib
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack_from("<I", data, 0)[0]
    if magic == 0xA1B23C4D:
        order, scale = "<", 1
    elif magic == 0xA1B2C3D4:
        order, scale = "<", 1000
    elif magic == 0x4D3CB2A1:
        order, scale = ">", 1
    elif magic == 0xD4C3B2A1:
        order, scale = ">", 1000
    else:
        sys.exit("%s: not a classic pcap file (magic %#x)" % (path, magic))
    at = 24
    while at + 16 <= len(data):
        seconds, fraction, captured, original = struct.unpack_from(order + "IIII", data, at)
        at += 16
        body = data[at:at + captured]
        if len(body) < captured:
            sys.exit("%s: the last frame is cut off" % path)
        at += captured
        yield seconds * 1_000_000_000 + fraction * scale, original, hashlib.sha256(body).hexdigest()


def main():
    for path in sys.argv[1:]:
        for timestamp, length, digest in frames(path):
            print(timestamp, length, digest)


if __name__ == "__main__":
    main()
