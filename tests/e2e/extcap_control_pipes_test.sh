#!/usr/bin/env bash
# The extcap's control pipes as Wireshark uses them for the interface toolbar: the status bar gets
# "records, bytes, dropped" messages on control-out, and EOF on control-in (Wireshark gone) stops the
# capture within a second.
source "$(dirname "$0")/lib.sh"

start_daemon
mkfifo "$WORK/data" "$WORK/ctl_in" "$WORK/ctl_out"
"$EXTCAP" --capture --extcap-interface spice --fifo "$WORK/data" \
  --extcap-control-in "$WORK/ctl_in" --extcap-control-out "$WORK/ctl_out" 2>"$WORK/extcap.log" &
extcap_pid=$!
BACKGROUND_PIDS+=("$extcap_pid")
# Wireshark's side: read the pcap stream, keep control-in open for writing, read control-out.
cat "$WORK/data" >"$WORK/capture.pcap" &
BACKGROUND_PIDS+=("$!")
timeout 20 cat "$WORK/ctl_out" >"$WORK/control.bin" &
reader=$!
exec 7>"$WORK/ctl_in"
wait_for_subscribers 1
"$SPICECAP" demo --messages 50 --rate 100 --quiet || fail "demo failed"
sleep 1.5

# EOF on control-in: the extcap must stop within a second.
exec 7>&-
for _ in $(seq 20); do kill -0 "$extcap_pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$extcap_pid" 2>/dev/null && fail "the extcap still runs 1 s after control-in closed"
wait "$extcap_pid" || fail "the extcap exited with an error: $(cat "$WORK/extcap.log")"
pass "EOF on control-in stops the capture"
wait "$reader" || true

# Control messages: 'T', 3-byte length, control number, command 6 (status bar), text.
grep -a -q "spicecap: [0-9]* records, [0-9]* bytes, 0 dropped" "$WORK/control.bin" ||
  fail "no status bar message on control-out: $(tr -c '[:print:]' '.' <"$WORK/control.bin" | head -c 300)"
last=$(grep -a -o "spicecap: [0-9]* records" "$WORK/control.bin" | tail -n 1 | grep -o "[0-9]*")
[ "$last" -gt 50 ] || fail "the status bar said only $last records"
od -An -tx1 -N6 "$WORK/control.bin" | grep "54 00 00 .. 00 06" >/dev/null || fail "the first control message is not a status-bar message"
pass "status bar messages on control-out, the last one counting $last records"
tshark -r "$WORK/capture.pcap" -Y spice 2>/dev/null | grep "Server PING" >/dev/null || fail "the capture itself has no SPICE"
pass "the capture decodes"
