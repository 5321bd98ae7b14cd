#!/usr/bin/python3
"""Counts what Wireshark's SPICE dissector (through tshark) decodes in a capture, for the end-to-end tests.

  spice_message_counts.py count FILE [--decode-port PORT]   prints JSON {"display:0 s2c 302": n, ...}
  spice_message_counts.py compare NAME_A A.json NAME_B B.json

count: every SPICE data message tshark decodes, keyed by channel (type:id, from the client's link message
of its TCP stream), direction (c2s = from the stream's client port) and message type; plus
"CHANNEL link" = 1 per client link message seen. --decode-port makes tshark decode that TCP port as SPICE
(a real server port such as 59xx may otherwise go to the VNC dissector).

compare: prints one table row per key with both counts and exits 1 if any differs.
"""
import collections
import json
import subprocess
import sys

CHANNEL_NAMES = {1: "main", 2: "display", 3: "inputs", 4: "cursor", 5: "playback", 6: "record",
                 7: "tunnel", 8: "smartcard", 9: "usbredir", 10: "port", 11: "webdav"}


def tshark_fields(path, decode_port, display_filter, fields):
    cmd = ["tshark", "-r", path, "-n", "-Y", display_filter, "-T", "fields", "-E", "occurrence=a",
           "-E", "aggregator=,", "-E", "separator=\t"]
    if decode_port:
        cmd += ["-d", "tcp.port==%d,spice" % decode_port]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def count(path, decode_port):
    streams = {}  # tcp.stream -> (client port, channel name)
    counts = collections.Counter()
    for stream, src, ctype, cid in tshark_fields(path, decode_port, "spice.link_client",
                                                 ["tcp.stream", "tcp.srcport", "spice.channel_type",
                                                  "spice.channel_id"]):
        name = "%s:%s" % (CHANNEL_NAMES.get(int(ctype.split(",")[0]), "type" + ctype), cid.split(",")[0])
        streams[stream] = (src, name)
        counts[name + " link"] += 1
    for stream, src, types in tshark_fields(path, decode_port, "spice.message_type",
                                            ["tcp.stream", "tcp.srcport", "spice.message_type"]):
        if stream not in streams:
            counts["(no link stage) %s" % stream] += 1
            continue
        client_port, name = streams[stream]
        direction = "c2s" if src == client_port else "s2c"
        for t in types.split(","):
            counts["%s %s %s" % (name, direction, t)] += 1
    return dict(sorted(counts.items()))


def compare(name_a, a, name_b, b):
    keys = sorted(set(a) | set(b))
    width = max(len(k) for k in keys) if keys else 10
    print("%-*s %10s %10s" % (width, "channel direction type", name_a, name_b))
    differ = 0
    for k in keys:
        mark = "" if a.get(k, 0) == b.get(k, 0) else "   <-- differs"
        differ += bool(mark)
        print("%-*s %10d %10d%s" % (width, k, a.get(k, 0), b.get(k, 0), mark))
    return differ


def main(argv):
    if len(argv) >= 2 and argv[0] == "count":
        port = int(argv[3]) if len(argv) >= 4 and argv[2] == "--decode-port" else 0
        json.dump(count(argv[1], port), sys.stdout, indent=1)
        print()
        return 0
    if len(argv) == 5 and argv[0] == "compare":
        with open(argv[2]) as fa, open(argv[4]) as fb:
            differ = compare(argv[1], json.load(fa), argv[3], json.load(fb))
        if differ:
            print("%d counts differ" % differ, file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
