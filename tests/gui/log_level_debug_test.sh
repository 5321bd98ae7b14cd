#!/usr/bin/env bash
# GUI case (g): Log level debug (the preference the options dialog saves). Before the fix every normal
# Stop raised a red "Error by extcap pipe" dialog holding the extcap's ordinary log lines (stderr). Now the
# lines go to the toolbar's Log window (and a log file when one is set), and Stop raises no dialog.
source "$(dirname "$0")/lib.sh"
gui_setup

background "$SPICECAP" demo --duration 20 --quiet
start_wireshark -o extcap.spice.loglevel:debug -k -i spice
wait_for_gui_frames 100
stop_capture
# A dialog would open as the capture ends; give it the time it took before the fix, and more.
for _ in $(seq 30); do no_dialog || fail "a dialog opened after Stop at log level debug: $(other_windows)"; sleep 0.1; done
pass "Stop at log level debug: no dialog"
quit_wireshark
