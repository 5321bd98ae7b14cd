#!/usr/bin/env bash
# `spicecap tap` on an unmodified plain-SPICE client: spice-gtk (spice_client.py) runs under the tap against
# QEMU's SPICE server, opens every channel (main, display, inputs, cursor, playback, record, usbredir,
# port), types and moves the mouse. tcpdump records the same connections on loopback.
#
# Asserts: the tapped program keeps its pid (exec) and exit status; the daemon has one producer session
# named after the program with the --session label; tshark decodes the spicecap capture to exactly the
# same SPICE messages per (channel, direction, message type) as the tcpdump capture, nothing malformed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/spice_peers.sh"
require_tap_peers
command -v tcpdump >/dev/null || fail "tcpdump is missing (tools/install-deps.sh installs it)"

start_daemon --verbose
install_extcap
SERVER_PORT=$(free_port)
start_qemu "port=$SERVER_PORT,addr=127.0.0.1,disable-ticketing=on" "$WORK/qemu.log" "$SERVER_PORT"
pass "QEMU SPICE server listening on 127.0.0.1:$SERVER_PORT"

background tcpdump -i lo -n -U -Z root -B 16384 -s 0 -w "$WORK/wire.pcap" "tcp port $SERVER_PORT" 2>"$WORK/tcpdump.log"
TCPDUMP_PID=$LAST_PID
wait_for_text "$WORK/tcpdump.log" "listening on" 10 || fail "tcpdump did not start: $(cat "$WORK/tcpdump.log")"
start_spice_capture "$SPICECAP_SOCKET" "$WORK/spicecapd.log" "$WORK/tap.pcapng"

# --- the tapped client ------------------------------------------------------------------------------------
"$SPICECAP" tap --session plain-client -- "$PYTHON" "$CLIENT" 127.0.0.1 "$SERVER_PORT" "$CLIENT_SECONDS" \
  >"$WORK/client.out" 2>"$WORK/client.err" &
CLIENT_PID=$!
client_status=0
wait "$CLIENT_PID" || client_status=$?
[ "$client_status" -eq 0 ] || fail "the tapped spice-gtk client failed ($client_status): $(cat "$WORK/client.out"; grep -v CRITICAL "$WORK/client.err" | head -20)"
require_every_channel_opened "$WORK/client.out"
pass "the tapped spice-gtk client opened every channel and exited 0:$OPENED"
if grep -q "spicecap-tap" "$WORK/client.err"; then fail "the tap complained: $(grep spicecap-tap "$WORK/client.err")"; fi

sleep 1  # tcpdump drops what is still in its capture buffer when interrupted: let it drain first
stop_process "$TCPDUMP_PID" INT
grep -q "0 packets dropped by kernel" "$WORK/tcpdump.log" || fail "tcpdump lost packets: $(cat "$WORK/tcpdump.log")"
stop_spice_capture "$CAPTURE_PID" "$WORK/tap.pcapng"

# --- the producer: the program itself, its pid, the label --------------------------------------------------
"$SPICECAP" status --json >"$WORK/status.json"
"$PYTHON" - "$WORK/status.json" "$CLIENT_PID" <<'PY' || fail "the daemon does not show the tapped client as one producer"
import json, sys
sessions = json.load(open(sys.argv[1]))["sessions"]
assert len(sessions) == 1, "sessions: %s" % [(s["name"], s["label"]) for s in sessions]
s = sessions[0]
assert (s["name"], s["label"], s["pid"]) == ("python3", "plain-client", int(sys.argv[2])), s
assert s["producer_dropped_records"] == 0, s
channels = sorted("%s:%d" % (c["channel"], c["channel_id"]) for c in s["channels"])
assert channels == ["cursor:0", "display:0", "inputs:0", "main:0", "playback:0", "port:0", "record:0", "usbredir:0"], channels
assert not any(c["open"] for c in s["channels"]), "channels left open"
PY
pass "one producer session: python3, pid $CLIENT_PID (the pid spicecap tap ran as), label plain-client, 8 channels closed"

# --- what Wireshark decodes -----------------------------------------------------------------------------------
count_messages "$WORK/wire.pcap" "$WORK/wire.json" "$SERVER_PORT"
count_messages "$WORK/tap.pcapng" "$WORK/tap.json"
"$PYTHON" "$COUNTS" compare tcpdump "$WORK/wire.json" "spicecap-tap" "$WORK/tap.json" \
  || fail "the tapped client's capture does not decode to the same SPICE messages as tcpdump of its connections"
check_session_content "$WORK/wire.json" 8
pass "tshark decodes the same messages per channel, direction and type from spicecap tap as from tcpdump"
