#!/usr/bin/env bash
# GUI case (e): history replay. One demo session is over and a second one runs when the capture starts
# with 60 s of history (the Daemon > History option, saved as the preference extcap.spice.history): the
# daemon replays both from their link stages on, then the running one goes on live. Every dissection the
# live packet list performs must agree with `tshark -r`.
source "$(dirname "$0")/lib.sh"
gui_setup

read -r _ messages < <(demo_session finished 300)
background "$SPICECAP" demo --session running --duration 12 --quiet
demo=$LAST_PID
sleep 3  # the running session has history of its own when the capture starts
start_wireshark -o extcap.spice.history:60 -k -i spice
wait_for_gui_frames "$messages"
DEADLINE_S=30 poll_until "the running demo to end" bash -c "! kill -0 $demo 2>/dev/null"
wait_for_gui_to_catch_up
stop_capture
no_dialog || fail "a dialog is open after a normal capture: $(other_windows)"
quit_wireshark
check_oracle --require-info 'MOUSE_MOTION' --require-info 'KEY_DOWN' --require-info 'PING'
pass "history replay: a finished and a running session decode in the live packet list as tshark -r does"
