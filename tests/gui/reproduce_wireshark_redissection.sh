#!/usr/bin/env bash
# Reproduces, with nothing of spicecap but a 14-frame capture, the Wireshark 4.0 defect that
# docs/wireshark-live-redissection.md describes: re-dissecting a SPICE link-stage row while its channel
# still receives frames rewinds the SPICE dissector's conversation state, and every later frame decodes
# as a link-stage message. Not a CTest test (it asserts Wireshark's bug); run it by hand:
#   BUILD_DIR=build tests/gui/reproduce_wireshark_redissection.sh
#
# docs/captures/spice-inputs-link-stage.pcap: one SPICE inputs channel, TCP handshake (frames 1-3), link
# stage (4 client link, 5 server link reply, 6 auth selection, 7 ticket, 8 link result), then
# KEY_UP/MOUSE_MOTION/KEY_DOWN messages (9-14). Wireshark captures it live from a FIFO: frames 1-10, then
# Go to packet 5 (the person looks at the server's link reply: the row is dissected again), then 11-14.
source "$(dirname "$0")/lib.sh"
start_xvfb
capture="$SOURCE_DIR/docs/captures/spice-inputs-link-stage.pcap"
editcap -F pcap -r "$capture" "$WORK/part1.pcap" 1-10 >/dev/null
editcap -F pcap -r "$capture" "$WORK/part2.pcap" 11-14 >/dev/null
mkfifo "$WORK/feed"
start_wireshark -k -i "$WORK/feed"
exec 8>"$WORK/feed"
cat "$WORK/part1.pcap" >&8
wait_for_gui_frames 10
sleep 1  # let the packet list draw
keys ctrl+g
sleep 0.5
xdotool type --delay 50 "5"
keys Return
sleep 1
tail -c +25 "$WORK/part2.pcap" >&8  # the records without the file header
wait_for_gui_frames 14
exec 8>&-
sleep 1
echo "What the live packet list decoded (frame, re-dissection?, protocol, info, SPICE signature):"
awk -F'\t' '$1 >= 4' "$ORACLE_OUT" | sort -n -k1,1 -s | awk -F'\t' '!seen[$1 FS $2]++'
if python3 "$GUI_DIR/oracle_check.py" "$ORACLE_OUT" "$capture" >"$WORK/check.txt"; then
  cat "$WORK/check.txt"
  echo "NOT reproduced: this Wireshark decodes frames 11-14 right after the re-dissection of frame 5"
else
  cat "$WORK/check.txt"
  echo "REPRODUCED: frames 11-14 were decoded in the state a re-dissection of frame 5 left behind"
fi
