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
source "$(dirname "$0")/spice_peers.sh"

CLIENT_SECONDS=${CLIENT_SECONDS:-10}
require_spice_peers
command -v tcpdump >/dev/null || fail "tcpdump is missing (tools/install-deps.sh installs it)"
SERVER_PORT=$(free_port)
PROXY_PORT=$(free_port)
[ "$SERVER_PORT" != "$PROXY_PORT" ] || PROXY_PORT=$(free_port)

start_daemon --verbose
install_extcap

# --- the SPICE server ---------------------------------------------------------------------------------
start_qemu "port=$SERVER_PORT,addr=127.0.0.1,disable-ticketing=on" "$WORK/qemu.log" "$SERVER_PORT"
pass "QEMU SPICE server listening on 127.0.0.1:$SERVER_PORT"

# --- tcpdump of the proxy's server side ---------------------------------------------------------------
background tcpdump -i lo -n -U -Z root -B 16384 -s 0 -w "$WORK/server.pcap" "tcp port $SERVER_PORT" 2>"$WORK/tcpdump.log"
TCPDUMP_PID=$LAST_PID
wait_for_text "$WORK/tcpdump.log" "listening on" 10 || fail "tcpdump did not start: $(cat "$WORK/tcpdump.log")"

# --- the proxy and the daemon capture -----------------------------------------------------------------
start_spice_capture "$SPICECAP_SOCKET" "$WORK/spicecapd.log" "$WORK/proxy.pcapng"
PROXY_CAPTURE=$CAPTURE_PID
background "$SPICECAP" proxy --listen "127.0.0.1:$PROXY_PORT" --server "127.0.0.1:$SERVER_PORT" --session real-peer \
  >"$WORK/proxy.out" 2>"$WORK/proxy.err"
PROXY_PID=$LAST_PID
wait_for_text "$WORK/proxy.out" "listening on" 10 || fail "spicecap proxy did not start: $(cat "$WORK/proxy.err")"
grep -q "reporting to spicecapd" "$WORK/proxy.out" || fail "spicecap proxy is not reporting: $(cat "$WORK/proxy.err")"

# --- the client ---------------------------------------------------------------------------------------
timeout $((CLIENT_SECONDS + 20)) "$PYTHON" "$CLIENT" 127.0.0.1 "$PROXY_PORT" "$CLIENT_SECONDS" \
  >"$WORK/client.out" 2>"$WORK/client.err" \
  || fail "the spice-gtk client failed: $(cat "$WORK/client.out"; grep -v CRITICAL "$WORK/client.err" | head -20)"
require_every_channel_opened "$WORK/client.out"
pass "spice-gtk opened every channel through the proxy:$OPENED"

stop_process "$PROXY_PID" TERM
[ "$STOPPED_STATUS" -eq 0 ] || fail "spicecap proxy exited with status $STOPPED_STATUS on SIGTERM: $(cat "$WORK/proxy.err")"
sleep 1  # tcpdump drops what is still in its capture buffer when interrupted: let it drain first
stop_process "$TCPDUMP_PID" INT
stop_spice_capture "$PROXY_CAPTURE" "$WORK/proxy.pcapng"
cat "$WORK/proxy.out"
grep -q "0 packets dropped by kernel" "$WORK/tcpdump.log" || fail "tcpdump lost packets: $(cat "$WORK/tcpdump.log")"
for channel in $OPENED; do
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
check_session_content "$WORK/server.json" 8
pass "tshark decodes the same messages per channel, direction and type from spicecap as from tcpdump"

# --- replay the tcpdump capture into a fresh daemon -------------------------------------------------------
stop_process "$QEMU_PID" TERM
stop_daemon
start_daemon --verbose
start_spice_capture "$SPICECAP_SOCKET" "$WORK/spicecapd.log" "$WORK/replay.pcapng"
"$SPICECAP" replay "$WORK/server.pcap" --as-fast-as-possible --session replayed >"$WORK/replay.out" 2>"$WORK/replay.err" \
  || fail "spicecap replay failed: $(cat "$WORK/replay.out" "$WORK/replay.err")"
cat "$WORK/replay.out"
stop_spice_capture "$CAPTURE_PID" "$WORK/replay.pcapng"
[ ! -s "$WORK/replay.err" ] || fail "spicecap replay complained: $(cat "$WORK/replay.err")"
grep -q ", 8 SPICE channel connections," "$WORK/replay.out" || fail "replay did not find the 8 channel connections"
"$PYTHON" "$COUNTS" count "$WORK/replay.pcapng" >"$WORK/replay.json"
"$PYTHON" "$COUNTS" compare tcpdump "$WORK/server.json" "replay" "$WORK/replay.json" \
  || fail "spicecap replay of the tcpdump capture does not decode to the same SPICE messages"
pass "spicecap replay of the server-side tcpdump reproduces the same counts"

# --- and spicecap's own capture (pcapng, synthesized addresses, no TCP handshake) replays the same -------
stop_daemon
start_daemon --verbose  # a fresh history: the capture must hold this replay only
start_spice_capture "$SPICECAP_SOCKET" "$WORK/spicecapd.log" "$WORK/again.pcapng"
"$SPICECAP" replay "$WORK/proxy.pcapng" --as-fast-as-possible --quiet >"$WORK/again.out" 2>&1 \
  || fail "spicecap replay of the pcapng failed: $(cat "$WORK/again.out")"
stop_spice_capture "$CAPTURE_PID" "$WORK/again.pcapng"
"$PYTHON" "$COUNTS" count "$WORK/again.pcapng" >"$WORK/again.json"
"$PYTHON" "$COUNTS" compare tcpdump "$WORK/server.json" "replay2" "$WORK/again.json" >"$WORK/again.table" \
  || { cat "$WORK/again.table"; fail "replaying spicecap's own pcapng capture does not give the same counts"; }
pass "spicecap replay of spicecap's own pcapng capture gives the same counts too"
