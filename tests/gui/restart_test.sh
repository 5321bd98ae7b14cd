#!/usr/bin/env bash
# GUI case (d): Capture > Restart during a session. The restarted capture is a new subscriber (late
# attach) in a packet list that starts over; before the fix its inputs messages showed as "TCP segment of
# a reassembled PDU" until View > Reload. Both captures must decode in the live list as tshark -r does.
source "$(dirname "$0")/lib.sh"
gui_setup

background "$SPICECAP" demo --duration 16 --quiet
demo=$LAST_PID
sleep 1
start_wireshark -k -i spice
DEADLINE_S=20 poll_until "Wireshark to capture" capturing
wait_for_gui_frames 150
# Wireshark deletes the first temporary file when it restarts: keep what it had written so far.
first=$(capture_files | tail -1)
cp "$first" "$WORK/before-restart.pcapng"
restart_capture
DEADLINE_S=20 poll_until "the restarted capture's file" bash -c "ls $WORK/tmp/wireshark_*.pcapng 2>/dev/null | grep -vxF '$first' >/dev/null"
DEADLINE_S=20 poll_until "the restarted capture to show frames" bash -c "awk '/^#new-file/{n=0} !/^#/{n++} END{exit !(n >= 300)}' $ORACLE_OUT"
DEADLINE_S=30 poll_until "the demo to end" bash -c "! kill -0 $demo 2>/dev/null"
wait_for_gui_to_catch_up
stop_capture
no_dialog || fail "a dialog is open after a normal capture: $(other_windows)"
quit_wireshark
python3 "$GUI_DIR/oracle_check.py" "$ORACLE_OUT" "$WORK/before-restart.pcapng" "$(capture_files | tail -1)" \
  --require-info 'MOUSE_MOTION' --require-info 'KEY_DOWN' || fail "the GUI decoded differently from tshark -r"
pass "restart: both captures decode in the live packet list as tshark -r does"
