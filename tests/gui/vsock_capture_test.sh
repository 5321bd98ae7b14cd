#!/usr/bin/env bash
# GUI case (i): USB vsock capture in the GUI. The Lua dissector (installed by `spicecap install` into the
# personal plugin folder) decodes every transfer in the live packet list as tshark -r does, and no Lua
# error shows: neither a dialog nor a "Lua Error" in a row.
source "$(dirname "$0")/lib.sh"
gui_setup

start_wireshark -k -i usbvsock
DEADLINE_S=20 poll_until "Wireshark to capture" capturing
wait_for_subscribers 1
"$SPICECAP" demo --vsock --duration 4 --quiet
wait_for_gui_frames 50
stop_capture
no_dialog || fail "a dialog is open after a USB vsock capture: $(other_windows)"
quit_wireshark
check_oracle --require-info 'Data [0-9]+:[0-9]+ . [0-9]+:[0-9]+ len=' --require-info 'Sync' --forbid-info 'Lua Error|Malformed'
pass "USB vsock capture decodes in the GUI, no Lua error"
