#!/usr/bin/env bash
# GUI case (c): Wireshark started 4 s into a running session, capture started with Capture > Start, as a
# person does (issue 12's first report). Every dissection the live packet list performs, first pass and
# every redraw of a row, must agree with `tshark -r` of the saved file: inputs messages are MOUSE_MOTION and
# KEY_DOWN, never "Client authentication method selection".
source "$(dirname "$0")/lib.sh"
gui_setup
show_spicecap_toolbar

background "$SPICECAP" demo --duration 14 --quiet
sleep 4  # the point of the test: the session is 4 s old when Wireshark attaches
start_wireshark -i spice
start_capture
demo=$LAST_PID
wait_for_gui_frames 100
screenshot "$MAIN_WID" gui-late-attach.png 800 1380x440+0+0  # menus, toolbar, the live packet list
DEADLINE_S=30 poll_until "the demo to end" bash -c "! kill -0 $demo 2>/dev/null"
wait_for_gui_to_catch_up
if [ -n "$SCREENSHOTS" ]; then
  # The toolbar's Log button (right end of the toolbar row) opens the capture's log.
  xdotool mousemove --window "$MAIN_WID" 1330 106 click 1
  DEADLINE_S=10 poll_until "the Log window" window_titled 'Log$' >/dev/null
  log_window=$(window_titled 'Log$')
  screenshot "$log_window" gui-log-window.png 600
  KEYS_WINDOW=$log_window keys Escape
fi
stop_capture
no_dialog || fail "a dialog is open after a normal capture: $(other_windows)"
quit_wireshark
check_oracle --require-info 'MOUSE_MOTION' --require-info 'KEY_DOWN' --require-info 'DRAW_COPY'
pass "late attach: every row the live packet list drew decodes as tshark -r does"
