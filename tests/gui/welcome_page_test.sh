#!/usr/bin/env bash
# GUI case (a): the welcome page lists both interfaces. The other interfaces are hidden (preference
# capture.devices_hide) so ours are its first two rows; double-clicking each starts a capture whose window
# title names it: "SPICE capture" and "USB vsock capture" are there and usable as a person finds them.
source "$(dirname "$0")/lib.sh"
gui_setup
show_only_spicecap_interfaces
show_spicecap_toolbar

start_wireshark
screenshot_welcome() { screenshot "$MAIN_WID" gui-welcome.png 700; }
# Double-clicks welcome row $1 (again, while the page is still filling its list) until a capture runs.
start_from_row() {
  local deadline=$((SECONDS + 20))
  until capturing; do
    [ $SECONDS -lt $deadline ] || fail "double-clicking welcome row $1 started no capture (title: $(main_title))"
    click_welcome_row "$1" name 2
    sleep 1
  done
}
sleep 1
screenshot_welcome
start_from_row 1
main_title | grep -q "SPICE capture" || fail "row 1 started '$(main_title)', not SPICE capture"
pass "the welcome page lists SPICE capture: $(main_title)"
stop_capture
# Nothing was running: Wireshark says "No packets captured" (a dialog) and closes the empty file.
DEADLINE_S=10 poll_until "the 'No packets captured' note" bash -c "xdotool search --onlyvisible --pid $WS_PID | grep -vx $MAIN_WID >/dev/null"
dismiss_dialogs >/dev/null
main_title | grep -q 'Network Analyzer' || keys ctrl+w  # File > Close: back to the welcome page
DEADLINE_S=10 poll_until "the welcome page" bash -c "xdotool getwindowname $MAIN_WID | grep -q 'Network Analyzer'"
start_from_row 2
main_title | grep -q "USB vsock capture" || fail "row 2 started '$(main_title)', not USB vsock capture"
pass "the welcome page lists USB vsock capture: $(main_title)"
stop_capture
dismiss_dialogs >/dev/null
quit_wireshark
