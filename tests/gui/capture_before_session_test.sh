#!/usr/bin/env bash
# GUI case (b): the capture runs before a session starts (wireshark -k -i spice), then a demo session
# opens its channels live. Every dissection the live packet list performs must agree with `tshark -r`.
source "$(dirname "$0")/lib.sh"
gui_setup

start_wireshark -k -i spice
DEADLINE_S=20 poll_until "Wireshark to capture" capturing
wait_for_subscribers 1
"$SPICECAP" demo --duration 8 --quiet
wait_for_gui_frames 100
wait_for_gui_to_catch_up
stop_capture
no_dialog || fail "a dialog is open after a normal capture: $(other_windows)"
quit_wireshark
check_oracle --require-info 'MOUSE_MOTION' --require-info 'KEY_UP' --require-info 'STREAM_DATA'
pass "capture before the session: every row the live packet list drew decodes as tshark -r does"
