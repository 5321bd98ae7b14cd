#!/usr/bin/env bash
# The capture filter box takes real BPF on the synthesized frames: `tcp port 10003` keeps exactly the
# inputs channel.
source "$(dirname "$0")/lib.sh"

start_daemon
install_extcap
pcap="$WORK/inputs.pcapng"
background tshark -i spice -f "tcp port 10003" -a duration:60 -w "$pcap"
tshark_pid=$LAST_PID
wait_for_file "$pcap" 10
wait_for_subscribers 1
"$BUILD_DIR/tests/e2e/scripted_producer" "$WORK" 200 400 || fail "the scripted producer failed"
sleep 1
kill -INT "$tshark_pid"
wait "$tshark_pid" || true

inputs_sent=$(awk '$1 == "inputs" {print $2}' "$WORK/counts.txt")
tshark -r "$pcap" -T fields -e tcp.port -e _ws.col.Protocol 2>/dev/null >"$WORK/frames.tsv"
total=$(wc -l <"$WORK/frames.tsv")
[ "$total" -gt 0 ] || fail "nothing was captured"
others=$(grep -vc "10003" "$WORK/frames.tsv" || true)
[ "$others" -eq 0 ] || fail "$others frames of other channels passed the filter"
decoded=$(grep -c "Spice INPUTS" "$WORK/frames.tsv" || true)
[ "$decoded" -eq "$inputs_sent" ] || fail "$inputs_sent inputs messages sent, $decoded captured"
pass "tcp port 10003 kept the $decoded inputs messages and nothing else ($total frames)"
