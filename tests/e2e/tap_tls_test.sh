#!/usr/bin/env bash
# `spicecap tap` on both ends of one encrypted SPICE session: QEMU with only a tls-port (certificate from a
# throwaway CA made here with openssl) runs under the tap, reporting to one daemon; the spice-gtk client
# (spice_client.py --tls) runs under the tap too, reporting to a second daemon. Every channel is TLS, so
# the tap sees SPICE only in the plaintext of SSL_read/SSL_write; the sockets carry ciphertext.
#
# Asserts: both captures decode as SPICE with nothing malformed, have every channel, and agree per
# (channel, direction, message type): what the client sent is what the server received and back.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/spice_peers.sh"
require_tap_peers

make_test_ca "$WORK/pki"
start_daemon --verbose  # the server's daemon, at $SPICECAP_SOCKET
install_extcap
CLIENT_SOCKET="$WORK/client-daemon/spicecapd.sock"
mkdir -p "$WORK/client-daemon"
chmod 0700 "$WORK/client-daemon"
background "$SPICECAPD" --socket "$CLIENT_SOCKET" --verbose >"$WORK/client-daemon.log" 2>&1
wait_for_file "$CLIENT_SOCKET"

start_spice_capture "$SPICECAP_SOCKET" "$WORK/spicecapd.log" "$WORK/server.pcapng"
SERVER_CAPTURE=$CAPTURE_PID
start_spice_capture "$CLIENT_SOCKET" "$WORK/client-daemon.log" "$WORK/client.pcapng"
CLIENT_CAPTURE=$CAPTURE_PID

TLS_PORT=$(free_port)
QEMU_WRAPPER="$SPICECAP tap --session tls-server --" \
  start_qemu "tls-port=$TLS_PORT,addr=127.0.0.1,disable-ticketing=on,x509-dir=$WORK/pki" "$WORK/qemu.log" "$TLS_PORT"
pass "QEMU under spicecap tap: SPICE over TLS only, on 127.0.0.1:$TLS_PORT"

"$SPICECAP" tap --socket "$CLIENT_SOCKET" --session tls-client -- \
  "$PYTHON" "$CLIENT" 127.0.0.1 "$TLS_PORT" "$CLIENT_SECONDS" --tls "$WORK/pki/ca-cert.pem" \
  >"$WORK/client.out" 2>"$WORK/client.err" \
  || fail "the tapped spice-gtk client failed over TLS: $(cat "$WORK/client.out"; grep -v CRITICAL "$WORK/client.err" | head -20)"
require_every_channel_opened "$WORK/client.out" " over TLS"
pass "the tapped client opened every channel over TLS:$OPENED"

stop_process "$QEMU_PID" TERM
[ "$STOPPED_STATUS" -eq 0 ] || fail "the tapped QEMU exited with status $STOPPED_STATUS on SIGTERM: $(cat "$WORK/qemu.log")"
if grep -q "spicecap-tap" "$WORK/client.err" "$WORK/qemu.log"; then fail "the tap complained: $(grep -h spicecap-tap "$WORK/client.err" "$WORK/qemu.log")"; fi
stop_spice_capture "$SERVER_CAPTURE" "$WORK/server.pcapng"
stop_spice_capture "$CLIENT_CAPTURE" "$WORK/client.pcapng"

# Each daemon has exactly its side's program as producer.
"$SPICECAP" status --json >"$WORK/server-status.json"
"$SPICECAP" status --json --socket "$CLIENT_SOCKET" >"$WORK/client-status.json"
"$PYTHON" - "$WORK/server-status.json" "$WORK/client-status.json" <<'PY' || fail "the daemons do not show one tapped producer each"
import json, sys
for path, name, label in ((sys.argv[1], "qemu-system-x86_64", "tls-server"), (sys.argv[2], "python3", "tls-client")):
    sessions = json.load(open(path))["sessions"]
    assert [(s["name"], s["label"]) for s in sessions] == [(name, label)], sessions
    assert len(sessions[0]["channels"]) == 8 and sessions[0]["producer_dropped_records"] == 0, sessions[0]
PY

count_messages "$WORK/server.pcapng" "$WORK/server.json"
count_messages "$WORK/client.pcapng" "$WORK/client.json"
"$PYTHON" "$COUNTS" compare "qemu-tapped" "$WORK/server.json" "client-tapped" "$WORK/client.json" \
  || fail "the server's and the client's captures of the one TLS session do not decode to the same messages"
check_session_content "$WORK/client.json" 8
pass "both captures of the TLS session decode as SPICE, nothing malformed, and agree per channel, direction and type"
