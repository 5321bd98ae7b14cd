#!/usr/bin/env python3
"""Compares what Wireshark's GUI dissected (dissection_oracle.lua's lines) with `tshark -r` of the capture.

usage: oracle_check.py ORACLE_LINES CAPTURE [CAPTURE ...] [--require-info REGEX ...]

The GUI's lines are split into captures at "#new-file" (a Restart starts a new one); the last non-empty
ones are paired with the CAPTURE files in order. For each pair:
  - every frame of the file was dissected by the GUI (its first pass saw them all);
  - every dissection the GUI performed of a frame, first pass and every re-dissection of its row, agrees
    with tshark's: the same SPICE signature (link-stage message or message types), and where the GUI had
    columns the same Protocol column, and for SPICE frames the same Info column;
  - with --require-info, some re-dissection (a row the packet list drew) has an Info matching REGEX;
  - with --forbid-info, no row shows a Protocol or Info matching REGEX.
Exit status 0 when all agree; the report names the first disagreements.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

ORACLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dissection_oracle.lua")


def parse(lines):
    """Oracle lines -> list of captures, each a list of (frame, visited, protocol, info, signature)."""
    captures = [[]]
    for line in lines:
        line = line.rstrip("\n")
        if line == "#new-file":
            captures.append([])
            continue
        parts = line.split("\t")
        if len(parts) != 5:
            continue
        number, visited, protocol, info, signature = parts
        captures[-1].append((int(number), visited == "true", protocol, info, signature))
    return [c for c in captures if c]


def reference(capture):
    with tempfile.NamedTemporaryFile("r", suffix=".oracle") as out:
        env = dict(os.environ, SPICECAP_ORACLE_OUT=out.name)
        subprocess.run(["tshark", "-n", "-r", capture, "-X", "lua_script:" + ORACLE], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        captures = parse(out.readlines())
    frames = {}
    for number, _, protocol, info, signature in (captures[-1] if captures else []):
        frames[number] = (protocol, info, signature)
    return frames


def check(gui, capture, require_info, forbid_info):
    ref = reference(capture)
    if not ref:
        return [f"tshark read no frames from {capture}"], {}
    problems = []
    first_pass = set()
    redissections = 0
    shown = collections.Counter()
    for number, visited, protocol, info, signature in gui:
        if number not in ref:
            continue  # a frame dumpcap had not yet written to the file when it was copied
        if not visited:
            first_pass.add(number)
        has_columns = protocol != "(protocol)"
        if visited:
            redissections += 1
        r_protocol, r_info, r_signature = ref[number]
        why = []
        if signature != r_signature:
            why.append(f"signature '{signature}' != tshark '{r_signature}'")
        if has_columns and protocol != r_protocol:
            why.append(f"protocol '{protocol}' != tshark '{r_protocol}'")
        if has_columns and r_protocol.startswith("Spice") and info != r_info:
            why.append(f"info '{info}' != tshark '{r_info}'")
        if has_columns:
            for regex in forbid_info:
                if re.search(regex, info) or re.search(regex, protocol):
                    why.append(f"shows '{protocol}' / '{info}' (matches '{regex}')")
        if why:
            problems.append(f"frame {number} ({'re-dissection' if visited else 'first pass'}): " + "; ".join(why))
        if has_columns:
            for regex in require_info:
                if re.search(regex, info):
                    shown[regex] += 1
    missing = sorted(set(ref) - first_pass)
    if missing:
        problems.append(f"{len(missing)} frames of the file were never dissected by the GUI (first: {missing[:5]})")
    for regex in require_info:
        if shown[regex] == 0:
            problems.append(f"no row the GUI drew shows Info matching '{regex}'")
    stats = {"frames": len(ref), "dissections": len(gui), "re-dissections": redissections}
    return problems, stats


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("oracle")
    parser.add_argument("captures", nargs="+")
    parser.add_argument("--require-info", action="append", default=[])
    parser.add_argument("--forbid-info", action="append", default=[])
    args = parser.parse_args()
    with open(args.oracle) as f:
        gui_captures = parse(f.readlines())
    if len(gui_captures) < len(args.captures):
        print(f"the GUI dissected {len(gui_captures)} captures, expected {len(args.captures)}")
        return 1
    failed = False
    for gui, capture in zip(gui_captures[-len(args.captures):], args.captures):
        problems, stats = check(gui, capture, args.require_info, args.forbid_info)
        print(f"{os.path.basename(capture)}: {stats}")
        for p in problems[:12]:
            print("  " + p)
        if len(problems) > 12:
            print(f"  ... and {len(problems) - 12} more")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
