#!/usr/bin/env bash
# Fault: the extcap under `tshark -i spice` is frozen (SIGSTOP) for 5 s while a producer sends about
# 9 MB/s, then resumed (SIGCONT). The daemon runs with small limits (8 MiB history, 8 MiB subscriber
# queue) so that the memory bound of design §9 — history + queue limits + 32 MiB — is a real constraint.
# - The daemon keeps taking the producer's records (nothing dropped on the producer's side), drops for
#   the frozen subscriber only, and its peak RSS (VmHWM) stays within the bound.
# - The drops are reported: the extcap logs "spicecapd dropped N records", Wireshark's TCP analysis marks
#   "previous segment not captured" where they happened, and the pcapng frames there carry the number of
#   records lost before them (frame.drop_count), adding up to what the extcap was told.
# - The capture resumes: messages sent after the SIGCONT are in the pcap, decoded as SPICE.
source "$(dirname "$0")/fault_lib.sh"

history_mib=8 queue_mib=8
bound_kib=$(( (history_mib + queue_mib + 32) * 1024 ))
start_daemon --history-bytes ${history_mib}M --subscriber-queue-bytes ${queue_mib}M
install_extcap
pcap="$WORK/capture.pcapng"
background tshark -i spice -o extcap.spice.loglevel:info -o "extcap.spice.logfile:$WORK/extcap.log" \
  -a duration:60 -w "$pcap" 2>"$WORK/tshark.log"
tshark_pid=$LAST_PID
wait_for_file "$pcap" 10
sleep 1
extcap_pid=$(pgrep -f "$(personal_extcap_dir)/spicecap-extcap") || fail "no spicecap-extcap under tshark"

# 2000 messages a second (the demo's mix averages 4.4 KB, DRAW_COPYs above 64 KiB included).
background "$SPICECAP" demo --rate 2000 --duration 12 >"$WORK/demo.out" 2>"$WORK/demo.err"
demo_pid=$LAST_PID
sleep 3
# On a quiet machine nothing is dropped before the freeze; on a busy CI runner a few may be. What matters
# is that the freeze makes the daemon drop more.
dropped_before=$(status_value 's["totals"]["dropped_records"]')
kill -STOP "$extcap_pid"
stopped_at=$(now_ms)
sleep 4.5
# Frozen subscriber, flooding producer: the daemon answers at once, and is dropping for that subscriber.
status_ms=$(timed_status "$WORK/status.json")
dropped_during=$(json_value "$WORK/status.json" 's["totals"]["dropped_records"]')
sleep_until_ms $((stopped_at + 5000))
kill -CONT "$extcap_pid"
continued_at_s=$(date +%s.%N)
[ "$dropped_during" -gt "$dropped_before" ] || fail "after 4.5 s of a frozen subscriber the daemon had dropped nothing more for it"
pass "extcap frozen for 5 s; meanwhile 'spicecap status' answered in $status_ms ms: $dropped_before records dropped before the freeze, $dropped_during after 4.5 s of it"

wait "$demo_pid" || fail "the demo failed: $(cat "$WORK/demo.err")"
sleep 1
hwm_kib=$(proc_status_kib "$DAEMON_PID" VmHWM)
rss_kib=$(proc_status_kib "$DAEMON_PID" VmRSS)
kill -INT "$tshark_pid"
wait "$tshark_pid" || true
cat "$WORK/demo.out"

played=$(sed -n 's/^spicecap demo: \([0-9]*\) SPICE messages.*/\1/p' "$WORK/demo.out")
delivered=$(sed -n 's/.*: \([0-9]*\) delivered to spicecapd.*/\1/p' "$WORK/demo.out")
[ "$delivered" -eq "$played" ] || fail "the producer could deliver only $delivered of $played: the daemon stopped reading it"
pass "producer unaffected: all $played messages delivered to the daemon"

[ "$hwm_kib" -le "$bound_kib" ] || fail "daemon peak RSS $hwm_kib KiB exceeds history + queue + 32 MiB = $bound_kib KiB"
pass "daemon peak RSS (VmHWM) $hwm_kib KiB <= bound $bound_kib KiB; RSS now $rss_kib KiB"

dropped_lines=$(grep -c "spicecapd dropped [0-9]* records" "$WORK/extcap.log" || true)
[ "$dropped_lines" -gt 0 ] || fail "the extcap logged no drops: $(tail -5 "$WORK/extcap.log")"
dropped_total=$(sed -n 's/.*the daemon dropped \([0-9]*\) records for this capture.*/\1/p' "$WORK/extcap.log")
[ "${dropped_total:-0}" -gt 0 ] || fail "the extcap's summary counts no drops"
pass "extcap reported drops $dropped_lines times, $dropped_total records in all"

lost=$(tshark -r "$pcap" -Y tcp.analysis.lost_segment 2>/dev/null | wc -l)
[ "$lost" -gt 0 ] || fail "no 'previous segment not captured' in the pcap"
pass "Wireshark marks $lost frames 'previous segment not captured'"

# The drop counts sit on frames after a gap and add up to every record the daemon dropped for the capture.
tshark -r "$pcap" -Y 'frame.drop_count > 0' -T fields -e frame.number -e frame.drop_count 2>/dev/null >"$WORK/drops.txt"
tshark -r "$pcap" -Y tcp.analysis.lost_segment -T fields -e frame.number 2>/dev/null >"$WORK/lost.txt"
counted=$(awk '{ n += $2 } END { print n + 0 }' "$WORK/drops.txt")
[ "$counted" -eq "$dropped_total" ] ||
  fail "the frames' drop counts add up to $counted, the daemon dropped $dropped_total records for the capture"
not_at_gap=$(cut -f1 "$WORK/drops.txt" | { grep -vxF -f "$WORK/lost.txt" || true; } | wc -l)
[ "$not_at_gap" -eq 0 ] || fail "$not_at_gap frames carry a drop count but follow no sequence gap"
pass "$(wc -l <"$WORK/drops.txt") frames carry drop counts adding up to the $dropped_total records dropped, each at a 'previous segment not captured'"

after=$(tshark -r "$pcap" -Y "($SPICE_MESSAGES) && frame.time_epoch > $continued_at_s" 2>/dev/null | wc -l)
[ "$after" -gt 1000 ] || fail "only $after SPICE frames from after the SIGCONT"
bad=$(tshark -r "$pcap" -Y "_ws.malformed || vnc || spice.unknown_message || spice.unknown_bytes" 2>/dev/null | wc -l)
[ "$bad" -eq 0 ] || fail "$bad frames are malformed or not understood as SPICE"
pass "capture resumed: $after SPICE frames sent after the SIGCONT decoded, none malformed"
