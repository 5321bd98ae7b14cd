#!/usr/bin/env bash
# Fault: one producer sends 1 GiB of SPICE records (256 KiB each) as fast as the socket takes them, while
# a subscriber reads 256 KiB/s. The daemon runs with a 16 MiB history and an 8 MiB subscriber queue.
# - The daemon's peak RSS stays within history + queue limits + 32 MiB (design §9).
# - It stays responsive: `spicecap status` is answered quickly all through the flood.
# - Drops are exact: the subscriber receives or is told about (DROP notices) every one of the records,
#   and the daemon counted every record the producer sent.
# Producer and subscriber are tests/e2e/protocol_client.py, written from docs/protocol.md alone.
source "$(dirname "$0")/fault_lib.sh"

history_mib=16 queue_mib=8
bound_kib=$(( (history_mib + queue_mib + 32) * 1024 ))
payload=$((256 * 1024))
total=$((1024 * 1024 * 1024))
records=$((total / payload))
start_daemon --history-bytes ${history_mib}M --subscriber-queue-bytes ${queue_mib}M
wait_for_daemon

background python3 "$PROTOCOL_CLIENT" subscribe --expect-records "$records" --slow-seconds 12 \
  --read-rate $((256 * 1024)) --timeout 40 >"$WORK/subscriber.out" 2>&1
subscriber_pid=$LAST_PID
deadline=$((SECONDS + 10))
until grep -q subscribed "$WORK/subscriber.out"; do
  [ $SECONDS -lt $deadline ] || fail "the subscriber did not start: $(cat "$WORK/subscriber.out")"
  sleep 0.05
done

background python3 "$PROTOCOL_CLIENT" flood --bytes "$total" --payload-bytes "$payload" >"$WORK/flood.out" 2>&1
flood_pid=$LAST_PID
# Ask for the status every 0.2 s while the flood lasts.
worst_ms=0 asked=0
while kill -0 "$flood_pid" 2>/dev/null; do
  ms=$(timed_status "$WORK/status.json")
  asked=$((asked + 1))
  [ "$ms" -le "$worst_ms" ] || worst_ms=$ms
  sleep 0.2
done
wait "$flood_pid" || fail "the flooding producer failed: $(cat "$WORK/flood.out")"
cat "$WORK/flood.out"
[ "$asked" -gt 0 ] || fail "the flood ended before the status could be asked once"
[ "$worst_ms" -le 1000 ] || fail "spicecap status took $worst_ms ms during the flood"
pass "daemon responsive during the flood: $asked status requests, slowest $worst_ms ms"

hwm_kib=$(proc_status_kib "$DAEMON_PID" VmHWM)
[ "$hwm_kib" -le "$bound_kib" ] || fail "daemon peak RSS $hwm_kib KiB exceeds history + queue + 32 MiB = $bound_kib KiB"
pass "daemon peak RSS (VmHWM) $hwm_kib KiB <= bound $bound_kib KiB"

wait "$subscriber_pid" || fail "the subscriber did not account for every record: $(cat "$WORK/subscriber.out")"
tail -n 1 "$WORK/subscriber.out"
dropped=$(sed -n 's/.* received, \([0-9]*\) dropped.*/\1/p' "$WORK/subscriber.out")
[ "$dropped" -gt 0 ] || fail "a 256 KiB/s subscriber lost nothing of 1 GiB: the test did not stress the queue"
pass "slow subscriber: every one of the $records records received or reported dropped ($dropped dropped)"

status_ms=$(timed_status "$WORK/status.json")
counted=$(json_value "$WORK/status.json" 's["totals"]["records"]')
history_bytes=$(json_value "$WORK/status.json" 's["history"]["bytes"]')
daemon_dropped=$(json_value "$WORK/status.json" 's["totals"]["dropped_records"]')
[ "$counted" -eq "$records" ] || fail "the daemon counted $counted records of the $records sent"
[ "$daemon_dropped" -eq "$dropped" ] || fail "the daemon says it dropped $daemon_dropped, the subscriber was told $dropped"
[ "$history_bytes" -le $((history_mib * 1024 * 1024)) ] || fail "history holds $history_bytes bytes, above its limit"
pass "daemon counted all $records records, $daemon_dropped dropped for the subscriber; history $history_bytes bytes; status in $status_ms ms"
