#!/usr/bin/env bash
# Real peers on both sides of `spicecap proxy`: QEMU's SPICE server (BIOS screen on a QXL card, sound,
# a USB redirection channel and a port channel) and spice-gtk as the client, which opens every channel the
# server offers and types on the inputs channel for ~10 s. tcpdump records the proxy's server-side
# connections on loopback; `tshark -i spice` records what the daemon got from the proxy.
#
# Asserts: every channel's (direction, message type) counts decoded by Wireshark's SPICE dissector from
# the spicecap capture equal those decoded from the tcpdump capture, i.e. the proxy reported every message
# exactly once; then `spicecap replay` of the tcpdump capture into a fresh daemon reproduces the same counts.
# A peer that does not come up fails the test; nothing is skipped.
source "$(dirname "$0")/lib.sh"

PYTHON=/usr/bin/python3  # the system Python, where python3-gi and SpiceClientGLib live
COUNTS="$SOURCE_DIR/tests/e2e/spice_message_counts.py"
CLIENT_SECONDS=${CLIENT_SECONDS:-10}

command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is missing (tools/install-deps.sh installs qemu-system-x86)"
command -v tcpdump >/dev/null || fail "tcpdump is missing (tools/install-deps.sh installs it)"
"$PYTHON" -c 'import gi; gi.require_version("SpiceClientGLib", "2.0"); from gi.repository import SpiceClientGLib' \
  2>"$WORK/gi.log" || fail "spice-gtk for Python is missing (python3-gi, gir1.2-spiceclientglib-2.0): $(tail -1 "$WORK/gi.log")"

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
SERVER_PORT=$(free_port)
PROXY_PORT=$(free_port)
[ "$SERVER_PORT" != "$PROXY_PORT" ] || PROXY_PORT=$(free_port)

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
# A capture of the daemon's SPICE records through the installed extcap, history included.
start_spice_capture() {
  local before
  before=$(grep -c "subscribed to spice" "$WORK/spicecapd.log" || true)
  background tshark -i spice -o extcap.spice.history:600 -w "$1" 2>"$1.log"
  CAPTURE_PID=$LAST_PID
  local deadline=$((SECONDS + 20))
  until [ "$(grep -c "subscribed to spice" "$WORK/spicecapd.log" || true)" -gt "$before" ]; do
    kill -0 "$CAPTURE_PID" 2>/dev/null || fail "tshark -i spice exited: $(cat "$1.log")"
    [ $SECONDS -lt $deadline ] || fail "tshark -i spice did not subscribe to the daemon: $(cat "$1.log")"
    sleep 0.1
  done
}
stop_spice_capture() {
  stop_process "$CAPTURE_PID" INT
  [ -s "$1" ] || fail "tshark -i spice wrote no capture: $(cat "$1.log")"
}

start_daemon --verbose
install_extcap

# --- the SPICE server ---------------------------------------------------------------------------------
background qemu-system-x86_64 -nodefaults -machine accel=tcg -m 64 -vga qxl -display none \
  -spice "port=$SERVER_PORT,addr=127.0.0.1,disable-ticketing=on" \
  -audiodev spice,id=snd0 -device intel-hda -device hda-duplex,audiodev=snd0 \
  -device qemu-xhci -chardev spicevmc,name=usbredir,id=usbredir0 -device usb-redir,chardev=usbredir0 \
  -device virtio-serial -chardev spiceport,name=org.spicecap.test,id=port0 \
  -device virtserialport,chardev=port0,name=org.spicecap.test \
  >"$WORK/qemu.log" 2>&1
QEMU_PID=$LAST_PID
wait_for_listener "$SERVER_PORT" 20 "$QEMU_PID" || fail "QEMU's SPICE server did not come up on port $SERVER_PORT: $(cat "$WORK/qemu.log")"
pass "QEMU SPICE server listening on 127.0.0.1:$SERVER_PORT"

# --- tcpdump of the proxy's server side ---------------------------------------------------------------
background tcpdump -i lo -n -U -Z root -B 16384 -s 0 -w "$WORK/server.pcap" "tcp port $SERVER_PORT" 2>"$WORK/tcpdump.log"
TCPDUMP_PID=$LAST_PID
wait_for_text "$WORK/tcpdump.log" "listening on" 10 || fail "tcpdump did not start: $(cat "$WORK/tcpdump.log")"

# --- the proxy and the daemon capture -----------------------------------------------------------------
start_spice_capture "$WORK/proxy.pcapng"
background "$SPICECAP" proxy --listen "127.0.0.1:$PROXY_PORT" --server "127.0.0.1:$SERVER_PORT" --session real-peer \
  >"$WORK/proxy.out" 2>"$WORK/proxy.err"
PROXY_PID=$LAST_PID
wait_for_text "$WORK/proxy.out" "listening on" 10 || fail "spicecap proxy did not start: $(cat "$WORK/proxy.err")"
grep -q "reporting to spicecapd" "$WORK/proxy.out" || fail "spicecap proxy is not reporting: $(cat "$WORK/proxy.err")"

# --- the client ---------------------------------------------------------------------------------------
timeout $((CLIENT_SECONDS + 20)) "$PYTHON" "$SOURCE_DIR/tests/e2e/spice_client.py" 127.0.0.1 "$PROXY_PORT" "$CLIENT_SECONDS" \
  >"$WORK/client.out" 2>"$WORK/client.err" \
  || fail "the spice-gtk client failed: $(cat "$WORK/client.out"; grep -v CRITICAL "$WORK/client.err" | head -20)"
opened=$(grep "^channels opened:" "$WORK/client.out" | cut -d: -f2-)
for channel in main:0 display:0 inputs:0 cursor:0 playback:0 record:0 usbredir:0 port:0; do
  grep -qw "$channel" <<<"$opened" || fail "the client did not open $channel (opened:$opened)"
done
pass "spice-gtk opened every channel through the proxy:$opened"

stop_process "$PROXY_PID" TERM
[ "$STOPPED_STATUS" -eq 0 ] || fail "spicecap proxy exited with status $STOPPED_STATUS on SIGTERM: $(cat "$WORK/proxy.err")"
sleep 1  # tcpdump drops what is still in its capture buffer when interrupted: let it drain first
stop_process "$TCPDUMP_PID" INT
stop_spice_capture "$WORK/proxy.pcapng"
cat "$WORK/proxy.out"
grep -q "0 packets dropped by kernel" "$WORK/tcpdump.log" || fail "tcpdump lost packets: $(cat "$WORK/tcpdump.log")"
for channel in $opened; do
  grep -q "^$channel opened (client 127.0.0.1:" "$WORK/proxy.out" || fail "the proxy did not report $channel opened"
  grep -q "^$channel (client 127.0.0.1:[0-9]*) closed after" "$WORK/proxy.out" || fail "the proxy did not report $channel closed"
done
grep -q ", 0 dropped$" "$WORK/proxy.out" || fail "the proxy's producer dropped records: $(tail -1 "$WORK/proxy.out")"
if grep -q "not reported" "$WORK/proxy.out" "$WORK/proxy.err"; then fail "the proxy stopped reporting a connection: $(cat "$WORK/proxy.err")"; fi

# --- compare what Wireshark decodes ---------------------------------------------------------------------
"$PYTHON" "$COUNTS" count "$WORK/server.pcap" --decode-port "$SERVER_PORT" >"$WORK/server.json"
"$PYTHON" "$COUNTS" count "$WORK/proxy.pcapng" >"$WORK/proxy.json"
"$PYTHON" "$COUNTS" compare tcpdump "$WORK/server.json" "spicecap" "$WORK/proxy.json" \
  || fail "the spicecap capture does not decode to the same SPICE messages as the server-side tcpdump"
# Not a vacuous equality: the things this session must have shown are there.
"$PYTHON" - "$WORK/server.json" <<'EOF' || fail "the session is missing expected SPICE traffic"
import json, sys
c = json.load(open(sys.argv[1]))
need = {"main:0 s2c 103": "main INIT", "main:0 s2c 104": "CHANNELS_LIST", "display:0 s2c 314": "SURFACE_CREATE",
        "display:0 s2c 304": "DRAW_COPY", "inputs:0 c2s 101": "KEY_DOWN", "inputs:0 c2s 102": "KEY_UP",
        "inputs:0 c2s 111": "MOUSE_MOTION", "cursor:0 s2c 101": "cursor INIT"}
missing = [name for key, name in need.items() if c.get(key, 0) == 0]
links = [k for k in c if k.endswith(" link")]
if missing or len(links) < 8 or any(k.startswith("(no link stage)") for k in c):
    sys.exit("missing: %s; link stages: %s" % (missing, links))
print("decoded: %d SPICE data messages on %d channels" % (sum(v for k, v in c.items() if not k.endswith(" link")), len(links)))
EOF
pass "tshark decodes the same messages per channel, direction and type from spicecap as from tcpdump"

# --- replay the tcpdump capture into a fresh daemon -------------------------------------------------------
stop_process "$QEMU_PID" TERM
stop_daemon
start_daemon --verbose
start_spice_capture "$WORK/replay.pcapng"
"$SPICECAP" replay "$WORK/server.pcap" --as-fast-as-possible --session replayed >"$WORK/replay.out" 2>"$WORK/replay.err" \
  || fail "spicecap replay failed: $(cat "$WORK/replay.out" "$WORK/replay.err")"
cat "$WORK/replay.out"
sleep 0.5
stop_spice_capture "$WORK/replay.pcapng"
[ ! -s "$WORK/replay.err" ] || fail "spicecap replay complained: $(cat "$WORK/replay.err")"
grep -q ", 8 SPICE channel connections," "$WORK/replay.out" || fail "replay did not find the 8 channel connections"
"$PYTHON" "$COUNTS" count "$WORK/replay.pcapng" >"$WORK/replay.json"
"$PYTHON" "$COUNTS" compare tcpdump "$WORK/server.json" "replay" "$WORK/replay.json" \
  || fail "spicecap replay of the tcpdump capture does not decode to the same SPICE messages"
pass "spicecap replay of the server-side tcpdump reproduces the same counts"

# --- and spicecap's own capture (pcapng, synthesized addresses, no TCP handshake) replays the same -------
stop_daemon
start_daemon --verbose  # a fresh history: the capture must hold this replay only
start_spice_capture "$WORK/again.pcapng"
"$SPICECAP" replay "$WORK/proxy.pcapng" --as-fast-as-possible --quiet >"$WORK/again.out" 2>&1 \
  || fail "spicecap replay of the pcapng failed: $(cat "$WORK/again.out")"
sleep 0.5
stop_spice_capture "$WORK/again.pcapng"
"$PYTHON" "$COUNTS" count "$WORK/again.pcapng" >"$WORK/again.json"
"$PYTHON" "$COUNTS" compare tcpdump "$WORK/server.json" "replay2" "$WORK/again.json" >"$WORK/again.table" \
  || { cat "$WORK/again.table"; fail "replaying spicecap's own pcapng capture does not give the same counts"; }
pass "spicecap replay of spicecap's own pcapng capture gives the same counts too"
