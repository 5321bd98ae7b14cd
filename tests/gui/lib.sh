# Shared setup of the GUI tests: the end-to-end tests' private HOME, XDG folders and daemon socket
# (tests/e2e/lib.sh), plus an Xvfb display of their own, Debian's wireshark-qt with the dissection oracle
# (dissection_oracle.lua) and helpers that drive it with xdotool and wait on conditions with deadlines.
#
# Windows are found by their process and title (xdotool search), never by pixels; what Wireshark
# decoded is read from the oracle's lines, not from the screen.
# shellcheck source=../e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

GUI_DIR="$SOURCE_DIR/tests/gui"
for tool in wireshark Xvfb xdotool xdpyinfo import convert python3; do
  command -v "$tool" >/dev/null || fail "the GUI tests need $tool: run tools/install-deps.sh"
done
ORACLE_OUT="$WORK/oracle.lines"
WS_PID=""
MAIN_WID=""
XVFB_PID=""
TEST_NAME=$(basename "$0" .sh)
# SPICECAP_GUI_SCREENSHOTS=DIR: the tests that illustrate docs/extcap.md save their pictures there.
SCREENSHOTS=${SPICECAP_GUI_SCREENSHOTS:-}

gui_cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -n "${DISPLAY:-}" ]; then
    local keep="$BUILD_DIR/gui-failures/$TEST_NAME"
    mkdir -p "$keep"
    import -window root "$keep/screen.png" 2>/dev/null || true
    cp "$ORACLE_OUT" "$WORK"/*.log "$keep/" 2>/dev/null || true
    cp "$WORK"/tmp/*.pcapng "$keep/" 2>/dev/null || true
    echo "--- screen, oracle lines, logs and captures kept in $keep" >&2
  fi
  [ -n "$WS_PID" ] && kill "$WS_PID" 2>/dev/null
  if [ -n "$XVFB_PID" ]; then
    kill "$XVFB_PID" 2>/dev/null
    wait "$XVFB_PID" 2>/dev/null || true  # its display number is free again when the next test starts
  fi
  return "$status"
}
trap 'set +e; gui_cleanup; cleanup' EXIT

# Waits until command "$@" succeeds, for at most $DEADLINE_S seconds (default 10); fails with $WHAT.
poll_until() {
  local seconds=${DEADLINE_S:-10} what=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then
      [ -z "$WS_PID" ] || what+="; Wireshark's windows: $(gui_windows | tr '\t\n' ': ')"
      fail "timed out after ${seconds} s waiting for $what"
    fi
    sleep 0.1
  done
}

# An X server of the test's own: SPICECAP_GUI_DISPLAY=N picks :N, else Xvfb picks a free number.
start_xvfb() {
  local fd_file="$WORK/xvfb.display"
  if [ -n "${SPICECAP_GUI_DISPLAY:-}" ]; then
    Xvfb ":$SPICECAP_GUI_DISPLAY" -screen 0 1600x1000x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
    XVFB_PID=$!
    export DISPLAY=":$SPICECAP_GUI_DISPLAY"
  else
    Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$fd_file" >"$WORK/xvfb.log" 2>&1 &
    XVFB_PID=$!
    DEADLINE_S=10 poll_until "Xvfb to pick a display" test -s "$fd_file"
    export DISPLAY=":$(tr -dc '0-9' <"$fd_file")"
  fi
  DEADLINE_S=10 poll_until "the X server on $DISPLAY" xdpyinfo -display "$DISPLAY" >/dev/null 2>&1
}

# Wireshark shows the extcap's toolbar (status, Log button) when the recent file says so.
WELCOME_OFFSET=0
show_spicecap_toolbar() {
  WELCOME_OFFSET=33  # the toolbar pushes the welcome page down
  mkdir -p "$XDG_CONFIG_HOME/wireshark"
  echo "gui.interface_toolbar_show: spicecap" >>"$XDG_CONFIG_HOME/wireshark/recent"
}

# Visible top-level windows of Wireshark: "WINDOW_ID<TAB>TITLE" lines.
gui_windows() {
  local w
  for w in $(xdotool search --onlyvisible --pid "$WS_PID" 2>/dev/null); do
    printf '%s\t%s\n' "$w" "$(xdotool getwindowname "$w" 2>/dev/null)"
  done
}

# Prints the id of a visible Wireshark window whose title matches the extended regex $1 (none: fails).
window_titled() { gui_windows | awk -F'\t' -v re="$1" '$2 ~ re {print $1; found=1; exit} END{exit !found}'; }

# Windows other than the main window (dialogs), as "ID<TAB>TITLE" lines.
other_windows() { gui_windows | awk -F'\t' -v main="$MAIN_WID" '$1 != main'; }
no_dialog() { [ -z "$(other_windows)" ]; }

# Hides every capture interface but ours from the welcome page (the preference capture.devices_hide), so
# that "SPICE capture" and "USB vsock capture" are its first two rows on any machine.
show_only_spicecap_interfaces() {
  local hide
  hide=$(tshark -D 2>/dev/null | sed -E 's/^[0-9]+\. ([^ ]+).*/\1/' | grep -vx -e spice -e usbvsock | paste -sd, -)
  mkdir -p "$XDG_CONFIG_HOME/wireshark"
  echo "capture.devices_hide: $hide" >>"$XDG_CONFIG_HOME/wireshark/preferences"
}
# Window-relative position of welcome-page row $1 (1 = SPICE capture, 2 = USB vsock capture) in the
# 1380x850 main window: x of the interface name (or of the options gear with $2 = gear), y of the row.
WELCOME_ROW_Y=(0 238 256)
click_welcome_row() {
  local x=266
  [ "${2:-}" = gear ] && x=178
  xdotool mousemove --window "$MAIN_WID" "$x" $((WELCOME_ROW_Y[$1] + WELCOME_OFFSET)) click --repeat "${3:-1}" 1
}

# Starts wireshark with the oracle and arguments "$@"; waits for its main window and sizes it.
start_wireshark() {
  mkdir -p "$WORK/tmp"
  : >"$ORACLE_OUT"
  env SPICECAP_ORACLE_OUT="$ORACLE_OUT" TMPDIR="$WORK/tmp" \
    wireshark -o gui.ask_unsaved:FALSE -X "lua_script:$GUI_DIR/dissection_oracle.lua" "$@" \
    >"$WORK/wireshark.log" 2>&1 &
  WS_PID=$!
  DEADLINE_S=30 poll_until "Wireshark's main window" window_titled '.' >/dev/null
  MAIN_WID=$(window_titled '.')
  xdotool windowsize "$MAIN_WID" 1380 850
}

# Types keys "$@" into the main window (XTEST, after giving it the input focus: Qt ignores synthetic
# key events for menus and shortcuts, and Xvfb has no window manager to focus anything).
keys() {
  xdotool windowfocus "${KEYS_WINDOW:-$MAIN_WID}" 2>/dev/null || true
  xdotool key --delay 50 "$@"
}

main_title() { xdotool getwindowname "$MAIN_WID" 2>/dev/null; }
capturing() { main_title | grep -q '^Capturing from'; }
not_capturing() { ! capturing; }

# Capture > Start (Ctrl+E) on the interface given with -i, then waits until Wireshark says it captures.
start_capture() {
  keys ctrl+e
  DEADLINE_S=20 poll_until "the capture to start (title: $(main_title))" capturing
}

# Opens the main window's menu with mnemonic $1 (alt+$1) and picks its entry with mnemonic $2. The
# keyboard focus may be in the display filter box, where Ctrl+E moves the cursor instead of stopping.
menu() {
  keys "alt+$1"
  DEADLINE_S=5 poll_until "the menu alt+$1 to open" bash -c "xdotool search --onlyvisible --pid $WS_PID | grep -vx $MAIN_WID >/dev/null"
  keys "$2"
}

# Capture > Stop, then waits until the capture ended.
stop_capture() {
  menu c t
  DEADLINE_S=20 poll_until "the capture to stop (title: $(main_title))" not_capturing
}

# Capture > Restart.
restart_capture() { menu c r; }

# The temporary capture files Wireshark wrote, oldest first.
capture_files() { ls -tr "$WORK"/tmp/wireshark_*.pcapng 2>/dev/null; }

# Number of frames the GUI has dissected for the first time so far (what its packet list holds).
gui_frames() { awk -F'\t' '$2 == "false"' "$ORACLE_OUT" | wc -l; }
gui_has_frames() { [ "$(gui_frames)" -ge "$1" ]; }

# Waits for the current capture to have been given at least $1 frames (DEADLINE_S, default 20).
wait_for_gui_frames() { DEADLINE_S=${DEADLINE_S:-20} poll_until "$1 frames in the packet list" gui_has_frames "$1"; }

# Frames in the newest capture file so far.
file_frames() { tshark -r "$(capture_files | tail -1)" 2>/dev/null | wc -l; }
caught_up() { local have; have=$(file_frames); [ "$have" -gt 0 ] && [ "$(gui_frames)" -ge "$have" ]; }
# Waits until the packet list holds every frame dumpcap has written (after the producer went quiet).
wait_for_gui_to_catch_up() { DEADLINE_S=${DEADLINE_S:-20} poll_until "the packet list to show every frame of the file" caught_up; }

# Compares every dissection the GUI performed with `tshark -r` of the files it captured.
check_oracle() {
  local files
  mapfile -t files < <(capture_files)
  [ ${#files[@]} -gt 0 ] || fail "Wireshark wrote no capture file"
  python3 "$GUI_DIR/oracle_check.py" "$ORACLE_OUT" "${files[@]}" "$@" || fail "the GUI decoded differently from tshark -r"
}

# Quits Wireshark and checks that neither it nor a child (dumpcap, the extcap) is left behind.
quit_wireshark() {
  local children
  kill "$WS_PID"
  DEADLINE_S=15 poll_until "Wireshark to exit" bash -c "! kill -0 $WS_PID 2>/dev/null || grep -q '^State:.*Z' /proc/$WS_PID/status"
  wait "$WS_PID" 2>/dev/null || true
  children=$(pgrep -f 'spicecap-extcap --capture' -u "$(id -u)" | while read -r p; do
    grep -qs "^HOME=$HOME\$" <(tr '\0' '\n' <"/proc/$p/environ") && echo "$p"; done || true)
  [ -z "$children" ] || fail "spicecap-extcap still runs after Wireshark quit: $children"
  WS_PID=""
}

# Closes the dialogs that open one after another (Return on each), at most 3; prints their titles.
dismiss_dialogs() {
  local dialog
  for _ in 1 2 3; do
    dialog=$(other_windows | head -1 | cut -f1)
    [ -n "$dialog" ] || return 0
    xdotool getwindowname "$dialog"
    KEYS_WINDOW=$dialog keys Return
    DEADLINE_S=5 poll_until "dialog $dialog to close" bash -c "! xdotool search --onlyvisible --pid $WS_PID | grep -qx $dialog"
    sleep 0.5  # the next one, if any, opens right after
  done
  no_dialog || fail "dialogs keep opening: $(other_windows)"
}

# Saves a screenshot of window $1 (cropped to geometry $4, e.g. 1380x430+0+0, if given) scaled to at
# most $3 pixels wide as docs picture $2 (doc mode only).
screenshot() {
  [ -n "$SCREENSHOTS" ] || return 0
  mkdir -p "$SCREENSHOTS"
  import -window "$1" "$WORK/shot.png"
  [ -z "${4:-}" ] || convert "$WORK/shot.png" -crop "$4" +repage "$WORK/shot.png"
  convert "$WORK/shot.png" -resize "${3:-900}x>" -colors 64 -strip "PNG8:$SCREENSHOTS/$2"
  echo "saved $SCREENSHOTS/$2 ($(stat -c %s "$SCREENSHOTS/$2") bytes)"
}

# The usual start: X, the daemon, the extcap registered in the private HOME.
gui_setup() {
  start_xvfb
  start_daemon
  install_extcap
}
