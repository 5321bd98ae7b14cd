# What the tests with real SPICE peers share (source after lib.sh): qemu 7.2's spice-server, spice-gtk
# through spice_client.py, a throwaway CA for TLS, tshark captures of a daemon's SPICE records through the
# installed extcap, and counting what Wireshark decodes. Used by real_spice_peer_test.sh (spicecap proxy
# and replay) and the tap_*_test.sh tests.

PYTHON=/usr/bin/python3  # the system Python, where python3-gi and SpiceClientGLib live
COUNTS="$SOURCE_DIR/tests/e2e/spice_message_counts.py"
CLIENT="$SOURCE_DIR/tests/e2e/spice_client.py"
CLIENT_SECONDS=${CLIENT_SECONDS:-6}

# Fails unless qemu and spice-gtk for Python are there (a peer that does not come up fails; nothing is skipped).
require_spice_peers() {
  command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is missing (tools/install-deps.sh installs qemu-system-x86)"
  "$PYTHON" -c 'import gi; gi.require_version("SpiceClientGLib", "2.0"); from gi.repository import SpiceClientGLib' \
    2>"$WORK/gi.log" || fail "spice-gtk for Python is missing (python3-gi, gir1.2-spiceclientglib-2.0): $(tail -1 "$WORK/gi.log")"
}

# The same, plus what the tap tests need: openssl for a CA, and the preload library.
require_tap_peers() {
  require_spice_peers
  command -v openssl >/dev/null || fail "openssl is missing (tools/install-deps.sh installs it)"
  [ -f "$BUILD_DIR/tools/tap/libspicecap-tap.so" ] || fail "$BUILD_DIR/tools/tap/libspicecap-tap.so is not built"
}

# Fails unless spice_client.py's output file $1 says it opened every channel qemu offers; $2, if given,
# ends the failure's sentence (" over TLS"). Sets OPENED to the list it printed.
require_every_channel_opened() {
  OPENED=$(grep "^channels opened:" "$1" | cut -d: -f2-)
  local channel
  for channel in main:0 display:0 inputs:0 cursor:0 playback:0 record:0 usbredir:0 port:0; do
    grep -qw "$channel" <<<"$OPENED" || fail "the client did not open $channel${2:-} (opened:$OPENED)"
  done
}

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Waits (up to $2 s) until something listens on TCP port $1; fails if process $3 died meanwhile.
wait_for_listener() {
  local deadline=$((SECONDS + $2))
  until ss -Hltn "sport = :$1" | grep -q .; do
    kill -0 "$3" 2>/dev/null || return 1
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# Waits (up to $3 s) until file $1 contains $2.
wait_for_text() {
  local deadline=$((SECONDS + $3))
  until grep -q -- "$2" "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# Stops process $1 with signal $2 and waits for it (up to 10 s); its exit status is in $STOPPED_STATUS.
stop_process() {
  kill "-$2" "$1" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  STOPPED_STATUS=0
  wait "$1" 2>/dev/null || STOPPED_STATUS=$?
}

# A throwaway CA and a server certificate for 127.0.0.1, in qemu's x509-dir layout, in folder $1.
make_test_ca() {
  mkdir -p "$1"
  (
    cd "$1"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=spicecap test CA" -keyout ca-key.pem -out ca-cert.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server-key.pem -out server.csr
    printf 'subjectAltName=IP:127.0.0.1\n' >san.cnf
    openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -days 1 -extfile san.cnf -out server-cert.pem
  ) >"$WORK/openssl.log" 2>&1 || fail "openssl could not make the test CA: $(cat "$WORK/openssl.log")"
}

# Starts QEMU's SPICE server (BIOS screen on QXL, sound, a USB redirection and a port channel) with the
# -spice options $1, logging to $2, run by the command words before it in QEMU_WRAPPER (e.g. spicecap
# tap). Its pid is in QEMU_PID. $3: the TCP port to wait for.
start_qemu() {
  background ${QEMU_WRAPPER:-} qemu-system-x86_64 -nodefaults -machine accel=tcg -m 64 -vga qxl -display none \
    -spice "$1" \
    -audiodev spice,id=snd0 -device intel-hda -device hda-duplex,audiodev=snd0 \
    -device qemu-xhci -chardev spicevmc,name=usbredir,id=usbredir0 -device usb-redir,chardev=usbredir0 \
    -device virtio-serial -chardev spiceport,name=org.spicecap.test,id=port0 \
    -device virtserialport,chardev=port0,name=org.spicecap.test \
    >"$2" 2>&1
  QEMU_PID=$LAST_PID
  wait_for_listener "$3" 30 "$QEMU_PID" || fail "QEMU's SPICE server did not come up on port $3: $(cat "$2")"
}

# Captures the SPICE records (history included) of the daemon at socket $1, whose --verbose log is $2,
# into $3 through the installed extcap; the tshark pid is in CAPTURE_PID. Returns once the extcap subscribed.
start_spice_capture() {
  local socket=$1 log=$2 pcap=$3 before
  before=$(grep -c "subscribed to spice" "$log" || true)
  background tshark -i spice -o "extcap.spice.socket:$socket" -o extcap.spice.history:600 -w "$pcap" 2>"$pcap.log"
  CAPTURE_PID=$LAST_PID
  local deadline=$((SECONDS + 30))
  until [ "$(grep -c "subscribed to spice" "$log" || true)" -gt "$before" ]; do
    kill -0 "$CAPTURE_PID" 2>/dev/null || fail "tshark -i spice exited: $(cat "$pcap.log")"
    [ $SECONDS -lt $deadline ] || fail "tshark -i spice did not subscribe to the daemon at $socket: $(cat "$pcap.log")"
    sleep 0.1
  done
}

# Stops capture $1 (tshark pid) and checks file $2 has something.
stop_spice_capture() {
  sleep 0.5  # the last records of a session that just ended are on their way to the extcap
  stop_process "$1" INT
  [ -s "$2" ] || fail "tshark -i spice wrote no capture: $(cat "$2.log")"
}

# Counts of capture $1 (spice_message_counts.py count) into $2, after checking that tshark finds nothing
# malformed or not understood as SPICE in it. $3: a real server port to decode as SPICE (tcpdump).
count_messages() {
  local bad_filter='_ws.malformed || vnc || spice.unknown_message || spice.unknown_bytes' bad
  bad=$(tshark -r "$1" -n ${3:+-d "tcp.port==$3,spice"} -Y "$bad_filter" 2>/dev/null | wc -l)
  [ "$bad" -eq 0 ] || fail "tshark finds $bad malformed or undecoded frames in $1: $(tshark -r "$1" -n ${3:+-d "tcp.port==$3,spice"} -Y "$bad_filter" | head -5)"
  "$PYTHON" "$COUNTS" count "$1" ${3:+--decode-port "$3"} >"$2" || fail "cannot count the SPICE messages of $1"
}

# Fails unless counts file $1 has the traffic this session must have (not a vacuous equality): main INIT
# and CHANNELS_LIST, the display's SURFACE_CREATE and DRAW_COPY, typed keys and mouse motion, cursor INIT,
# and at least $2 channel link stages, each data message on a channel whose link stage was seen.
check_session_content() {
  "$PYTHON" - "$1" "$2" <<'PY' || fail "the session is missing expected SPICE traffic"
import json, sys
c = json.load(open(sys.argv[1]))
need = {"main:0 s2c 103": "main INIT", "main:0 s2c 104": "CHANNELS_LIST", "display:0 s2c 314": "SURFACE_CREATE",
        "display:0 s2c 304": "DRAW_COPY", "inputs:0 c2s 101": "KEY_DOWN", "inputs:0 c2s 102": "KEY_UP",
        "inputs:0 c2s 111": "MOUSE_MOTION", "cursor:0 s2c 101": "cursor INIT"}
missing = [name for key, name in need.items() if c.get(key, 0) == 0]
links = [k for k in c if k.endswith(" link")]
if missing or len(links) < int(sys.argv[2]) or any(k.startswith("(no link stage)") for k in c):
    sys.exit("missing: %s; link stages: %s" % (missing, links))
print("decoded: %d SPICE data messages on %d channels" % (sum(v for k, v in c.items() if not k.endswith(" link")), len(links)))
PY
}
