#!/usr/bin/env bash
# A live capture through Wireshark's own machinery: `tshark -i spice` (our extcap, registered with
# `spicecap install`) while a producer plays a scripted SPICE session on main, display, inputs and cursor
# with a 5 MiB display message. Checks what a user would look at in Wireshark: every message decoded as
# SPICE on the right channel with its name, nothing malformed, nothing VNC, Follow TCP Stream of the
# display channel equal to the bytes sent, the 5 MiB message reassembled whole; and SIGINT to tshark
# leaves no extcap process behind.
source "$(dirname "$0")/lib.sh"

start_daemon
install_extcap
pcap="$WORK/live.pcapng"
background tshark -i spice -a duration:60 -w "$pcap"
tshark_pid=$LAST_PID
wait_for_file "$pcap" 10
wait_for_subscribers 1

"$BUILD_DIR/tests/e2e/scripted_producer" "$WORK" 300 300 || fail "the scripted producer failed"
sleep 1
kill -INT "$tshark_pid"
wait "$tshark_pid" || true
sleep 1
extcap_path="$(personal_extcap_dir)/spicecap-extcap"
if pgrep -f "$extcap_path" >/dev/null; then fail "spicecap-extcap still runs 1 s after tshark stopped"; fi
pass "tshark stopped: no spicecap-extcap process left"

# Every message on its channel, decoded as SPICE.
tshark -r "$pcap" -Y "$SPICE_MESSAGES" -T fields -e _ws.col.Protocol -e _ws.col.Info >"$WORK/decoded.tsv" 2>/dev/null
while read -r channel sent; do
  upper=$(tr '[:lower:]' '[:upper:]' <<<"$channel")
  got=$(grep -c "^Spice $upper	" "$WORK/decoded.tsv" || true)
  [ "$got" -eq "$sent" ] || fail "$channel: $sent messages sent, $got decoded as SPICE"
  pass "$channel: all $sent messages decoded as SPICE"
done <"$WORK/counts.txt"

for name in "MAIN	Server INIT" "MAIN	Server CHANNELS_LIST" "MAIN	Server PING" "MAIN	Client PONG" \
            "DISPLAY	Server SURFACE_CREATE" "DISPLAY	Server DRAW_COPY" "DISPLAY	Server STREAM_CREATE" \
            "DISPLAY	Server STREAM_DATA" "INPUTS	Client KEY_DOWN" "INPUTS	Client KEY_UP" \
            "INPUTS	Client MOUSE_MOTION" "CURSOR	Server INIT" "CURSOR	Server SET" "CURSOR	Server MOVE" \
            "MAIN	Client link message" "DISPLAY	Server ticket"; do
  grep -q "^Spice $name" "$WORK/decoded.tsv" || fail "no '$name' was decoded"
done
pass "every message type of the session is named by Wireshark's SPICE dissector"

bad=$(tshark -r "$pcap" -Y '_ws.malformed || vnc || _ws.expert.severity == "Error" || spice.unknown_bytes || spice.unknown_message || spice.unknown_channel' 2>/dev/null | wc -l)
[ "$bad" -eq 0 ] || fail "$bad frames are malformed, VNC or carry an error"
pass "no malformed, VNC or error frames"

# Follow TCP Stream of the display channel gives back exactly the bytes sent, both ways.
stream=$(tshark -r "$pcap" -Y "tcp.port == 10002" -T fields -e tcp.stream 2>/dev/null | sed -n 1p)  # sed reads to the end: no SIGPIPE for tshark under pipefail
[ -n "$stream" ] || fail "no display stream (client port 10002)"
tshark -r "$pcap" -qz "follow,tcp,raw,$stream" 2>/dev/null >"$WORK/follow.txt"
# Node 0 is the client (it sent the SYN); server lines are indented with a tab.
awk '/^=+$/{n++; next} n==1 && /^[0-9a-f]+$/' "$WORK/follow.txt" | tr -d '\n' >"$WORK/follow.c2s.hex"
awk '/^=+$/{n++; next} n==1 && /^\t[0-9a-f]+$/{sub(/^\t/, ""); print}' "$WORK/follow.txt" | tr -d '\n' >"$WORK/follow.s2c.hex"
xxd -p "$WORK/display.c2s.bin" | tr -d '\n' >"$WORK/sent.c2s.hex"
xxd -p "$WORK/display.s2c.bin" | tr -d '\n' >"$WORK/sent.s2c.hex"
cmp -s "$WORK/follow.c2s.hex" "$WORK/sent.c2s.hex" || fail "Follow TCP Stream (client to server) differs from the bytes sent"
cmp -s "$WORK/follow.s2c.hex" "$WORK/sent.s2c.hex" || fail "Follow TCP Stream (server to client) differs from the bytes sent"
pass "Follow TCP Stream of display equals the $(stat -c %s "$WORK/display.s2c.bin") + $(stat -c %s "$WORK/display.c2s.bin") bytes sent"

# The 5 MiB DRAW_COPY comes back whole from TCP reassembly.
big=$(tshark -r "$pcap" -Y "($SPICE_MESSAGES) && tcp.reassembled.length > 5242880" -T fields -e tcp.reassembled.length -e _ws.col.Info 2>/dev/null)
grep -q "Server DRAW_COPY" <<<"$big" || fail "the 5 MiB display message was not reassembled: '$big'"
pass "5 MiB DRAW_COPY reassembled whole ($(cut -f1 <<<"$big" | head -n1) bytes)"
