#!/usr/bin/env bash
# GUI case (f): SPICE capture with no spicecapd. Before the fix Wireshark froze: its UI thread waited
# forever to open the toolbar pipe the extcap never opened, and dumpcap and the extcap stayed zombies.
# Now: an error dialog within 2 s of the capture's start, Wireshark still answers (a menu opens), nothing left.
source "$(dirname "$0")/lib.sh"
start_xvfb
install_extcap  # and no daemon

start_wireshark -k -i spice
# The capture starts once Wireshark has looked at its interfaces: dumpcap creates the capture file.
DEADLINE_S=30 poll_until "the capture to start" bash -c "ls $WORK/tmp/wireshark_*.pcapng >/dev/null 2>&1"
DEADLINE_S=2 poll_until "an error dialog (windows: $(gui_windows | tr '\n' ' '))" bash -c "xdotool search --onlyvisible --pid $WS_PID | grep -vx $MAIN_WID >/dev/null"
dialog=$(other_windows | head -1 | cut -f1)
pass "an error dialog opened: '$(xdotool getwindowname "$dialog")'"
screenshot "$MAIN_WID" gui-daemon-down.png 700
# Wireshark follows our error with its own "No packets captured" note.
dismiss_dialogs >/dev/null
menu c Escape  # the Capture menu opens: the UI thread is free
DEADLINE_S=5 poll_until "the menu to close" no_dialog
pass "Wireshark answers: the Capture menu opens and closes"
children=$(ps -o pid=,stat=,args= --ppid "$WS_PID" || true)
! grep -q '^ *[0-9]* Z' <<<"$children" || fail "zombie children of Wireshark: $children"
# The welcome page's interface statistics child (dumpcap -S) may run; no capture may.
! grep -v 'dumpcap -S' <<<"$children" | grep -q 'spicecap-extcap\|dumpcap' || fail "capture children still run: $children"
quit_wireshark
pass "no zombie, no capture process left"
