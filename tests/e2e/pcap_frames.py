#!/usr/bin/python3
"""Lists the frames of pcap and pcapng files, one line each:

    <timestamp ns> <length> <sha256 of the bytes> drops=<epb_dropcount> comment=<opt_comment>

  pcap_frames.py FILE...               every frame of every file
  pcap_frames.py --blocks FILE         a pcapng file's section, interfaces and statistics as JSON

Two captures hold the same frames (and, in pcapng, the same comments and drop counts) when their sorted
listings are equal, whatever files they are split into. Classic pcap frames list drops=0 and no comment.
"""
import hashlib
import struct
import sys


def pcap_frames(path, data):
    magic = struct.unpack_from("<I", data, 0)[0]
    order, scale = {0xA1B23C4D: ("<", 1), 0xA1B2C3D4: ("<", 1000),
                    0x4D3CB2A1: (">", 1), 0xD4C3B2A1: (">", 1000)}[magic]
    at = 24
    while at + 16 <= len(data):
        seconds, fraction, captured, original = struct.unpack_from(order + "IIII", data, at)
        at += 16
        body = data[at:at + captured]
        if len(body) < captured:
            sys.exit("%s: the last frame is cut off" % path)
        at += captured
        yield seconds * 1_000_000_000 + fraction * scale, original, hashlib.sha256(body).hexdigest(), 0, ""


def options(data, at, end, order):
    while at + 4 <= end:
        code, length = struct.unpack_from(order + "HH", data, at)
        at += 4
        if code == 0:
            return
        yield code, data[at:at + length]
        at += (length + 3) & ~3


def pcapng_frames(path, data):
    order, at, resolutions = "<", 0, []
    while at + 12 <= len(data):
        block_type, total = struct.unpack_from(order + "II", data, at)
        if block_type == 0x0A0D0D0A:
            order = "<" if struct.unpack_from("<I", data, at + 8)[0] == 0x1A2B3C4D else ">"
            total = struct.unpack_from(order + "I", data, at + 4)[0]
            resolutions = []
        if total < 12 or at + total > len(data):
            sys.exit("%s: a block is cut off" % path)
        end = at + total - 4
        if block_type == 1:  # interface description: if_tsresol (9) sets the time unit
            scale = 1000
            for code, value in options(data, at + 16, end, order):
                if code == 9 and value[0] < 128:
                    scale = 10 ** (9 - value[0])
            resolutions.append(scale)
        elif block_type == 6:  # enhanced packet
            interface, high, low, captured, original = struct.unpack_from(order + "IIIII", data, at + 8)
            body = data[at + 28:at + 28 + captured]
            drops, comment = 0, ""
            for code, value in options(data, at + 28 + ((captured + 3) & ~3), end, order):
                if code == 1:
                    comment = value.decode("utf-8")
                elif code == 4:
                    drops = struct.unpack_from(order + "Q", value)[0]
            timestamp = ((high << 32) | low) * resolutions[interface]
            yield timestamp, original, hashlib.sha256(body).hexdigest(), drops, comment
        at += total


def describe(path):
    """The pcapng blocks other than packets: what a reader learns about the capture itself."""
    with open(path, "rb") as f:
        data = f.read()
    order, at = "<", 0
    text = lambda v: v.decode("utf-8", "replace")
    number = lambda v: struct.unpack_from(order + "Q", v)[0]
    timestamp = lambda v: (struct.unpack_from(order + "I", v)[0] << 32) | struct.unpack_from(order + "I", v, 4)[0]
    out = {"section": {}, "interfaces": [], "statistics": []}
    while at + 12 <= len(data):
        block_type, total = struct.unpack_from(order + "II", data, at)
        if block_type == 0x0A0D0D0A:
            order = "<" if struct.unpack_from("<I", data, at + 8)[0] == 0x1A2B3C4D else ">"
            total = struct.unpack_from(order + "I", data, at + 4)[0]
            names = {2: "hardware", 3: "os", 4: "application"}
            out["section"] = {names[c]: text(v) for c, v in options(data, at + 24, at + total - 4, order) if c in names}
        elif block_type == 1:
            link_type, _, snap = struct.unpack_from(order + "HHI", data, at + 8)
            interface = {"link_type": link_type, "snap_length": snap}
            for code, value in options(data, at + 16, at + total - 4, order):
                if code == 2: interface["name"] = text(value)
                elif code == 3: interface["description"] = text(value)
                elif code == 9: interface["tsresol"] = value[0]
                elif code == 11: interface["filter"] = text(value[1:])
            out["interfaces"].append(interface)
        elif block_type == 5:
            statistics = {"interface": struct.unpack_from(order + "I", data, at + 8)[0]}
            names = {4: "received", 5: "dropped", 6: "filter_accepted", 7: "os_dropped", 8: "delivered"}
            for code, value in options(data, at + 20, at + total - 4, order):
                if code == 1: statistics["comment"] = text(value)
                elif code == 2: statistics["start_ns"] = timestamp(value)
                elif code == 3: statistics["end_ns"] = timestamp(value)
                elif code in names: statistics[names[code]] = number(value)
            out["statistics"].append(statistics)
        at += total
    return out


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    if struct.unpack_from("<I", data, 0)[0] == 0x0A0D0D0A:
        yield from pcapng_frames(path, data)
    else:
        yield from pcap_frames(path, data)


def main():
    if sys.argv[1:2] == ["--blocks"]:
        import json
        print(json.dumps(describe(sys.argv[2]), indent=1, ensure_ascii=False))
        return
    for path in sys.argv[1:]:
        for timestamp, length, digest, drops, comment in frames(path):
            print(timestamp, length, digest, "drops=%d" % drops, "comment=" + comment)


if __name__ == "__main__":
    main()
