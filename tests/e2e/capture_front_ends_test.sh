#!/usr/bin/env bash
# The extcap and `spicecap record` are two front ends over one capture pipeline: on the same sessions they
# write the same frames. Two SPICE producers and two USB vsock producers (both on link 0) play at once while
# both front ends capture; the extcap's SPICE stream must equal the union of record's per-channel files
# frame for frame (timestamps, lengths, bytes, pcapng comments and drop counts), and its USB vsock stream
# must equal usbvsock.pcapng.
# (Before the shared pipeline, record numbered two producers' vsock links alike and ignored vsock drops.)
source "$(dirname "$0")/lib.sh"

FRAMES="$SOURCE_DIR/tests/e2e/pcap_frames.py"
start_daemon

# The extcap as Wireshark runs it, writing to a plain file instead of a FIFO.
background "$EXTCAP" --capture --extcap-interface spice --fifo "$WORK/extcap-spice.pcapng" --handshake
spice_pid=$LAST_PID
background "$EXTCAP" --capture --extcap-interface usbvsock --fifo "$WORK/extcap-vsock.pcapng"
vsock_pid=$LAST_PID
background "$SPICECAP" record "$WORK/rec"
record_pid=$LAST_PID
wait_for_subscribers 4   # two extcaps, record's SPICE and USB vsock subscriptions

"$SPICECAP" demo --session one --messages 150 --rate 1000 --quiet &
one=$!
"$SPICECAP" demo --session two --messages 150 --rate 1000 --quiet &
two=$!
"$SPICECAP" demo --vsock --session three --messages 16 --rate 400 --quiet &
three=$!
"$SPICECAP" demo --vsock --session four --messages 16 --rate 400 --quiet &
four=$!
wait "$one" "$two" "$three" "$four" || fail "a demo failed"

# Stop only when every subscriber has been sent everything and every output stopped growing (the front
# ends write as they read; a signal ends them without reading what is still in their sockets).
backlog() {
  "$SPICECAP" status --json 2>/dev/null | /usr/bin/python3 -c 'import json, sys
print(sum(s["backlog_bytes"] for s in json.load(sys.stdin)["subscribers"]))'
}
outputs_size() { du -bc "$WORK"/extcap-*.pcapng "$WORK"/rec/*.pcapng 2>/dev/null | tail -n 1; }
deadline=$((SECONDS + 20))
previous=""
while :; do
  now="$(backlog) $(outputs_size)"
  [ "${now%% *}" = 0 ] && [ "$now" = "$previous" ] && break
  [ $SECONDS -lt $deadline ] || fail "the front ends did not catch up with the daemon ($now)"
  previous=$now
  sleep 0.5
done
kill -TERM "$spice_pid" "$vsock_pid"
kill -INT "$record_pid"
wait "$spice_pid" || fail "the SPICE extcap did not exit cleanly"
wait "$vsock_pid" || fail "the USB vsock extcap did not exit cleanly"
wait "$record_pid" || fail "spicecap record did not exit cleanly"

/usr/bin/python3 "$FRAMES" "$WORK/extcap-spice.pcapng" | sort >"$WORK/extcap-spice.frames"
find "$WORK/rec" -name '*.pcapng' ! -name usbvsock.pcapng -print0 | xargs -0 /usr/bin/python3 "$FRAMES" |
  sort >"$WORK/record-spice.frames"
spice_frames=$(wc -l <"$WORK/extcap-spice.frames")
[ "$spice_frames" -gt 300 ] || fail "the SPICE extcap wrote only $spice_frames frames"
diff -q "$WORK/extcap-spice.frames" "$WORK/record-spice.frames" >/dev/null ||
  fail "record's per-channel files and the extcap's SPICE capture differ: $(diff "$WORK/extcap-spice.frames" "$WORK/record-spice.frames" | head -5)"
# Both front ends named each channel's producer on its first frame (two sessions x four channels).
announced=$(grep -c 'comment=spicecap-demo pid [0-9]* · session \(one\|two\) · ' "$WORK/extcap-spice.frames" || true)
[ "$announced" -eq 8 ] || fail "$announced frames name their producer, not one per channel of each session (8)"
pass "SPICE: the extcap and record wrote the same $spice_frames frames, comments included"

/usr/bin/python3 "$FRAMES" "$WORK/extcap-vsock.pcapng" | sort >"$WORK/extcap-vsock.frames"
/usr/bin/python3 "$FRAMES" "$WORK/rec/usbvsock.pcapng" | sort >"$WORK/record-vsock.frames"
vsock_frames=$(wc -l <"$WORK/extcap-vsock.frames")
[ "$vsock_frames" -gt 40 ] || fail "the USB vsock extcap wrote only $vsock_frames frames"
diff -q "$WORK/extcap-vsock.frames" "$WORK/record-vsock.frames" >/dev/null ||
  fail "record's usbvsock.pcapng and the extcap's USB vsock capture differ: $(diff "$WORK/extcap-vsock.frames" "$WORK/record-vsock.frames" | head -5)"
# Two producers' link 0 must stay two links.
links=$(tshark -X "lua_script:$SOURCE_DIR/packaging/wireshark/usb_vsock.lua" -r "$WORK/rec/usbvsock.pcapng" \
  -T fields -e usbvsock.link 2>/dev/null | sort -u | wc -l)
[ "$links" -eq 2 ] || fail "usbvsock.pcapng holds $links USB links, not the two producers' two"
pass "USB vsock: the extcap and record wrote the same $vsock_frames frames, two producers on two links"
