#!/usr/bin/env bash
# USB vsock end to end: `tshark -i usbvsock` (our extcap, link type USER0) with the Lua dissector that
# `spicecap install` registers, while `spicecap demo --vsock` plays a session. Every packet type is
# decoded with the field values the demo sent (deterministic script), transfers of 1, 2 and 50 packets
# and one of 1 MiB, no Lua error, nothing malformed; the documented filter selects exactly what it should.
source "$(dirname "$0")/lib.sh"

start_daemon
install_extcap
grep -q "usb_vsock.lua" "$WORK/install.log" || fail "spicecap install did not install the Lua dissector"
pcap="$WORK/vsock.pcapng"
background tshark -i usbvsock -a duration:60 -w "$pcap"
tshark_pid=$LAST_PID
wait_for_file "$pcap" 10
wait_for_subscribers 1
# 16 steady transfers = two cycles of the demo's script.
"$SPICECAP" demo --vsock --messages 16 --rate 100 --quiet || fail "spicecap demo --vsock failed"
sleep 1
kill -INT "$tshark_pid"
wait "$tshark_pid" || true

tshark -r "$pcap" -T fields -E separator=';' -e usbvsock.type -e usbvsock.device_cid -e usbvsock.host_cid \
  -e usbvsock.device_port -e usbvsock.host_port -e usbvsock.payload_len -e usbvsock.packet_count \
  -e usbvsock.sync_version -e usbvsock.pause >"$WORK/fields.txt" 2>"$WORK/tshark.err"
if grep -qi "lua" "$WORK/tshark.err"; then cat "$WORK/tshark.err" >&2; fail "Lua errors while dissecting"; fi

# Packet types over the whole capture (one line per transfer, comma-separated per packet).
types=$(cut -d';' -f1 "$WORK/fields.txt" | tr ',' '\n' | grep -v '^$' | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
# Opening: S S, C C, A A, D (control) + 50 D + D (1 MiB); steady (x2): D D E e X X D D D; closing: F R R.
expected="A=2 C=2 D=62 E=2 F=1 R=2 S=2 X=4 e=2 "
[ "$types" = "$expected" ] || fail "packet types decoded: '$types', expected '$expected'"
pass "every packet type decoded, with the counts the demo sent: $types"

grep -q '^C,C;3,3;2,2;22,5001;40022,40501;' "$WORK/fields.txt" || fail "the two Connects lack their cids and ports"
grep -q '^S;0;0;0;0;7;1;vsock:1;' "$WORK/fields.txt" || fail "the Sync packet's version was not decoded"
awk -F';' '$7 == 50' "$WORK/fields.txt" | grep . >/dev/null || fail "no transfer of 50 packets"
awk -F';' '$7 == 2' "$WORK/fields.txt" | grep . >/dev/null || fail "no transfer of 2 packets"
awk -F';' '$1 == "D" && $6 == 1048552' "$WORK/fields.txt" | grep . >/dev/null || fail "the 1 MiB transfer was not reassembled"
grep -q ';True$\|;1$' "$WORK/fields.txt" || fail "no Pause packet with its flag"
pass "cids, ports, Sync version, 50- and 2-packet transfers, the 1 MiB transfer and Pause decoded as sent"

bad=$(tshark -r "$pcap" -Y '_ws.malformed || _ws.expert.severity == "Error"' 2>/dev/null | wc -l)
[ "$bad" -eq 0 ] || fail "$bad frames are malformed or carry an error"
ssh=$(tshark -r "$pcap" -Y 'usbvsock.type == "D" && usbvsock.device_port == 22' 2>/dev/null | wc -l)
# The ssh connection's Data: the 1 MiB file, 2 x (keystroke, echo, and the '$ ' of the two-packet transfer).
[ "$ssh" -eq 7 ] || fail "the filter example selected $ssh transfers, expected 7"
pass "nothing malformed; 'usbvsock.type == \"D\" && usbvsock.device_port == 22' selects exactly the 7 ssh transfers"
