#!/usr/bin/env bash
# GUI case (h): the options dialog's defaults, as Wireshark saves them. A person had earlier set Log level
# debug and turned the inputs channel off (preferences). In the dialog, Restore Defaults, then Save:
# the preferences must hold every channel on and Log level "message" (before the fix the channel boxes
# started unchecked and Log level did not go back), and a capture started with them subscribes to every
# channel.
source "$(dirname "$0")/lib.sh"
gui_setup
show_only_spicecap_interfaces
prefs="$XDG_CONFIG_HOME/wireshark/preferences"
cat >>"$prefs" <<PREFS
extcap.spice.loglevel: debug
extcap.spice.channelinputs: false
PREFS

start_wireshark
DEADLINE_S=20 poll_until "the welcome page's interface list" bash -c "tshark -D >/dev/null 2>&1"
sleep 2  # the welcome page fills its list after the window shows
click_welcome_row 1 gear
DEADLINE_S=10 poll_until "the SPICE options dialog" window_titled 'Interface Options: SPICE capture' >/dev/null
dialog=$(window_titled 'Interface Options: SPICE capture')
read -r width height < <(xdotool getwindowgeometry "$dialog" | sed -n 's/.*Geometry: \([0-9]*\)x\([0-9]*\).*/\1 \2/p')
screenshot "$dialog" gui-options-daemon.png 600
xdotool mousemove --window "$dialog" 80 $((height - 26)) click 1  # Restore Defaults (bottom left)
sleep 0.5
xdotool mousemove --window "$dialog" $((width - 224)) $((height - 24)) click 1  # Save (bottom right)
DEADLINE_S=10 poll_until "the dialog to close" no_dialog
DEADLINE_S=10 poll_until "Wireshark to save the preferences" grep -q "extcap.spice.channelmain" "$prefs"

for channel in main display inputs cursor playback record tunnel smartcard usbredir port webdav; do
  line=$(grep -E "^#?extcap\.spice\.channel$channel:" "$prefs") || fail "no preference for the $channel channel"
  grep -q ": true$" <<<"$line" || fail "the $channel channel is not on after Restore Defaults: '$line'"
done
grep -qE "^extcap\.spice\.loglevel: debug" "$prefs" && fail "Log level is still debug after Restore Defaults"
pass "Restore Defaults + Save: every channel on, Log level back to its default"

# A capture with what was saved: the extcap subscribes to every channel.
click_welcome_row 1 name 2
DEADLINE_S=20 poll_until "the capture to start" capturing
wait_for_subscribers 1
"$SPICECAP" status --json | python3 -c '
import json, sys
subs = json.load(sys.stdin)["subscribers"]
channels = subs[0]["channels"]
sys.exit(0 if channels in ([], None) or len(channels) == 11 else "subscribed to " + str(channels))' ||
  fail "the capture did not subscribe to every channel"
pass "the capture subscribes to every channel"
stop_capture
quit_wireshark
