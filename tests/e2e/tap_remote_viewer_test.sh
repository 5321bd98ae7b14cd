#!/usr/bin/env bash
# The user's case: `spicecap tap -- remote-viewer ...` (Debian's virt-viewer, spice-gtk 0.42) connects over
# TLS to QEMU (tls-port only, throwaway CA) on an Xvfb display, in kiosk mode so that it quits when QEMU
# goes away. Nothing of remote-viewer is rebuilt or configured for spicecap.
#
# Asserts: remote-viewer shows the guest's screen and exits 0 when the server stops; the capture of its
# session has the link stage of every channel QEMU offers (main, display, inputs, cursor, playback, record,
# usbredir, port), the guest's screen (SURFACE_CREATE, DRAW_COPY), cursor and main INIT, and nothing
# malformed; the producer is remote-viewer with its own pid.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/spice_peers.sh"
require_tap_peers
command -v remote-viewer >/dev/null || fail "remote-viewer is missing (tools/install-deps.sh installs virt-viewer)"
command -v Xvfb >/dev/null || fail "Xvfb is missing (tools/install-deps.sh installs xvfb)"

# A free X display among :71..:74 (SPICECAP_TEST_DISPLAYS overrides the list).
display=""
for n in ${SPICECAP_TEST_DISPLAYS:-71 72 73 74}; do
  [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] && continue
  background Xvfb ":$n" -screen 0 1024x768x24 -nolisten tcp
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
  if [ -e "/tmp/.X11-unix/X$n" ] && kill -0 "$LAST_PID" 2>/dev/null; then display=":$n"; break; fi
done
[ -n "$display" ] || fail "no free X display among ${SPICECAP_TEST_DISPLAYS:-71 72 73 74} for Xvfb"
pass "Xvfb on $display"

make_test_ca "$WORK/pki"
start_daemon --verbose
install_extcap
start_spice_capture "$SPICECAP_SOCKET" "$WORK/spicecapd.log" "$WORK/viewer.pcapng"
TLS_PORT=$(free_port)
start_qemu "tls-port=$TLS_PORT,addr=127.0.0.1,disable-ticketing=on,x509-dir=$WORK/pki" "$WORK/qemu.log" "$TLS_PORT"

DISPLAY=$display background "$SPICECAP" tap -- remote-viewer --kiosk --kiosk-quit=on-disconnect \
  --spice-ca-file="$WORK/pki/ca-cert.pem" "spice://127.0.0.1?tls-port=$TLS_PORT" >"$WORK/viewer.log" 2>&1
VIEWER_PID=$LAST_PID

# Until the guest's screen is on remote-viewer's window (the BIOS text: more than a couple of colours).
deadline=$((SECONDS + 30))
while :; do
  kill -0 "$VIEWER_PID" 2>/dev/null || fail "remote-viewer exited early: $(cat "$WORK/viewer.log")"
  DISPLAY=$display import -window root "$WORK/screen.png" 2>/dev/null || true
  colours=$(convert "$WORK/screen.png" -format %k info: 2>/dev/null || echo 0)
  [ "$colours" -gt 4 ] && sleep 2 && break
  [ $SECONDS -lt $deadline ] || fail "remote-viewer never showed the guest's screen ($colours colours): $(cat "$WORK/viewer.log")"
  sleep 0.5
done
pass "remote-viewer under spicecap tap shows the guest's screen over TLS ($colours colours on $display)"

stop_process "$QEMU_PID" TERM
for _ in $(seq 100); do kill -0 "$VIEWER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$VIEWER_PID" 2>/dev/null && fail "remote-viewer did not quit when the server went away"
viewer_status=0
wait "$VIEWER_PID" || viewer_status=$?
[ "$viewer_status" -eq 0 ] || fail "remote-viewer exited with status $viewer_status: $(cat "$WORK/viewer.log")"
if grep -q "spicecap-tap" "$WORK/viewer.log"; then fail "the tap complained: $(grep spicecap-tap "$WORK/viewer.log")"; fi
pass "remote-viewer quit normally (status 0) when QEMU stopped"
stop_spice_capture "$CAPTURE_PID" "$WORK/viewer.pcapng"

"$SPICECAP" status --json >"$WORK/status.json"
"$PYTHON" - "$WORK/status.json" "$VIEWER_PID" <<'PY' || fail "the daemon does not show remote-viewer as the producer"
import json, sys
s, = json.load(open(sys.argv[1]))["sessions"]
assert (s["name"], s["label"], s["pid"]) == ("remote-viewer", "remote-viewer", int(sys.argv[2])), s
PY
count_messages "$WORK/viewer.pcapng" "$WORK/viewer.json"
"$PYTHON" - "$WORK/viewer.json" <<'PY' || fail "the capture of remote-viewer's TLS session misses channels or traffic"
import json, sys
c = json.load(open(sys.argv[1]))
links = sorted(k.split()[0] for k in c if k.endswith(" link"))
want = ["cursor:0", "display:0", "inputs:0", "main:0", "playback:0", "port:0", "record:0", "usbredir:0"]
assert links == want, "link stages: %s" % links
need = {"main:0 s2c 103": "main INIT", "main:0 s2c 104": "CHANNELS_LIST", "display:0 s2c 314": "SURFACE_CREATE",
        "display:0 s2c 304": "DRAW_COPY", "cursor:0 s2c 101": "cursor INIT", "inputs:0 s2c 101": "inputs INIT"}
missing = [name for key, name in need.items() if c.get(key, 0) == 0]
assert not missing, "missing: %s" % missing
print("decoded: %d SPICE data messages on channels %s" % (sum(v for k, v in c.items() if not k.endswith(" link")), " ".join(links)))
PY
pass "every channel of remote-viewer's TLS session appears in Wireshark's decode, nothing malformed"
