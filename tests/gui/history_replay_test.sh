#!/usr/bin/env bash
# GUI case (e): history replay. A whole demo session is over when the capture starts with 60 s of history
# (the Daemon > History option, saved as the preference extcap.spice.history): the daemon replays it, link
# stages first. Every dissection the live packet list performs must agree with `tshark -r`.
source "$(dirname "$0")/lib.sh"
gui_setup

read -r _ messages < <(demo_session history 400)
start_wireshark -o extcap.spice.history:60 -k -i spice
wait_for_gui_frames "$messages"
stop_capture
no_dialog || fail "a dialog is open after a normal capture: $(other_windows)"
quit_wireshark
check_oracle --require-info 'MOUSE_MOTION' --require-info 'KEY_DOWN' --require-info 'PING'
pass "history replay: $messages replayed messages decode in the live packet list as tshark -r does"
