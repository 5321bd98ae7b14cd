#!/usr/bin/env bash
# GUI case: remote capture. The person types the lab host into the Remote options (here the preferences
# the dialog saves) and captures: a session running on that host decodes in the live packet list as
# `tshark -r` decodes the file (the remote stream is paced for the live view), no dialog opens, and quitting
# leaves nothing on either host. Then the same host with its key unknown: one error dialog naming the host
# key, and Wireshark still answers. The remote host is an sshd and a user of this machine (tests/e2e/remote_lib.sh).
source "$(dirname "$0")/lib.sh"
source "$SOURCE_DIR/tests/e2e/remote_lib.sh"
trap 'set +e; gui_cleanup; remote_cleanup' EXIT
start_xvfb
install_extcap  # and no daemon on this machine: everything comes from the remote host
setup_remote_host
start_remote_daemon
start_remote_demo --session gui-remote --duration 12
demo=$LAST_PID
sleep 2  # the session runs when the capture starts: its link stages come first, then it goes on live

remote=(-o "extcap.spice.remotehost:$REMOTE_DEST" -o "extcap.spice.remoteidentity:$CLIENT_KEY")
start_wireshark "${remote[@]}" -o extcap.spice.history:60 -k -i spice
wait_for_gui_frames 50
DEADLINE_S=30 poll_until "the remote demo to end" bash -c "! kill -0 $demo 2>/dev/null"
wait_for_gui_to_catch_up
stop_capture
no_dialog || fail "a dialog is open after a remote capture: $(other_windows)"
quit_wireshark
wait_for_no_stray_remote_processes 5
check_oracle --require-info 'MOUSE_MOTION' --require-info 'KEY_DOWN' --require-info 'PING'
pass "remote capture: the running session on $REMOTE_DEST decodes in the live packet list as tshark -r does; nothing left behind"

# The host key unknown: an error dialog, and Wireshark still answers.
: >"$SSH_DIR/known_hosts"
start_wireshark "${remote[@]}" -k -i spice
DEADLINE_S=30 poll_until "an error dialog (windows: $(gui_windows | tr '\n' ' '))" bash -c "xdotool search --onlyvisible --pid $WS_PID | grep -vx $MAIN_WID >/dev/null"
pass "unknown host key: an error dialog opened: '$(other_windows | head -1 | cut -f2)'"
dismiss_dialogs >/dev/null
menu c Escape  # the Capture menu opens: the UI thread is free
DEADLINE_S=5 poll_until "the menu to close" no_dialog
quit_wireshark
wait_for_no_stray_remote_processes 5
pass "unknown host key: Wireshark answers afterwards, nothing left behind"
