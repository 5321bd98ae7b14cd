#!/usr/bin/env bash
# Late attach: Wireshark started 3 s after the session began still decodes SPICE, because the daemon
# hands every new subscriber each channel's link stage first.
source "$(dirname "$0")/lib.sh"

start_daemon
install_extcap
# 8 s of session at 50 messages/s; the capture starts 3 s in.
background "$BUILD_DIR/tests/e2e/scripted_producer" "$WORK" 400 50
producer_pid=$LAST_PID
sleep 3
pcap="$WORK/late.pcapng"
tshark -i spice -a duration:3 -w "$pcap" 2>"$WORK/tshark.log" || { cat "$WORK/tshark.log" >&2; fail "tshark failed"; }
wait "$producer_pid" || fail "the scripted producer failed"

tshark -r "$pcap" -Y "$SPICE_MESSAGES" -T fields -e _ws.col.Protocol -e _ws.col.Info 2>/dev/null >"$WORK/decoded.tsv"
for channel in MAIN DISPLAY INPUTS CURSOR; do
  first=$(grep "^Spice $channel	" "$WORK/decoded.tsv" | sed -n 1p | cut -f2)
  [ "$first" = "Client link message" ] || fail "$channel: the first message seen is '$first', not the link stage"
done
pass "each channel starts with its link stage although the capture began 3 s late"
data=$(grep -c -E "Server (PING|MOVE|STREAM_DATA)|Client (MOUSE_MOTION|KEY_DOWN)" "$WORK/decoded.tsv" || true)
[ "$data" -gt 50 ] || fail "only $data live data messages decoded after attaching"
bad=$(tshark -r "$pcap" -Y '_ws.malformed || vnc || _ws.expert.severity == "Error"' 2>/dev/null | wc -l)
[ "$bad" -eq 0 ] || fail "$bad frames are malformed, VNC or carry an error"
pass "$data live data messages decoded as SPICE after a late attach, none malformed"
