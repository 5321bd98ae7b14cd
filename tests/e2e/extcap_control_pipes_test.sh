#!/usr/bin/env bash
# The extcap's control pipes as Wireshark uses them for the interface toolbar: the toolbar's status
# control gets "records, bytes, dropped" texts and the Log window the capture's log lines on control-out;
# stderr (an error dialog in Wireshark) stays empty even at log level debug; EOF on control-in (Wireshark
# gone) stops the capture within a second.
source "$(dirname "$0")/lib.sh"

start_daemon
mkfifo "$WORK/data" "$WORK/ctl_in" "$WORK/ctl_out"
"$EXTCAP" --capture --extcap-interface spice --fifo "$WORK/data" --log-level debug \
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

[ ! -s "$WORK/extcap.log" ] || fail "a normal capture wrote to stderr (Wireshark shows it as an error): $(cat "$WORK/extcap.log")"
pass "nothing on stderr at log level debug"

# Control messages: 'T', 3-byte length, control number, command, text. Control 0 (the status button),
# command 1 (set): the status text; control 1 (the Log button), command 2 (add): log lines.
grep -a -q "[0-9]* records, .*, 0 dropped (no capture filter)" "$WORK/control.bin" ||
  fail "no status text on control-out: $(tr -c '[:print:]' '.' <"$WORK/control.bin" | head -c 300)"
last=$(grep -a -o "[0-9]* records, " "$WORK/control.bin" | tail -n 1 | grep -o "[0-9]*")
[ "$last" -gt 50 ] || fail "the status said only $last records"
od -An -tx1 -v "$WORK/control.bin" | tr -d '\n' | grep -q "54 00 00 .. 00 01" || fail "no status message (control 0, set)"
pass "status texts on control-out, the last one counting $last records"
grep -a -q "capturing SPICE from spicecapd at $SPICECAP_SOCKET" "$WORK/control.bin" ||
  fail "the Log window got no 'capturing' line: $(tr -c '[:print:]' '.' <"$WORK/control.bin" | head -c 300)"
od -An -tx1 -v -N6 "$WORK/control.bin" | grep -q "54 00 .. .. 01 02" || fail "the first control message is not a Log window line"
pass "the toolbar's Log window gets the capture's log lines"
tshark -r "$WORK/capture.pcap" -Y spice 2>/dev/null | grep "Server PING" >/dev/null || fail "the capture itself has no SPICE"
pass "the capture decodes"
