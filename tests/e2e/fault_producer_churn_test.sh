#!/usr/bin/env bash
# Fault: 200 producers connect at once, say HELLO, open a channel, send 3 records and hang up; again and
# again (20 rounds, 4000 connections). Nothing may accumulate in the daemon: after the rounds, its open
# file descriptors are exactly what they were, and its RSS is within 2 MiB of what it was before them (a
# leak of 512 bytes per connection would show). The measurement starts after 20 warm-up rounds: until
# then RSS creeps up by about 1.5 MiB and levels off, as malloc settles how it serves the history's
# 1 MiB blocks and 200 concurrent sessions' buffers (measured: +8 KiB over the 20 rounds after that).
source "$(dirname "$0")/fault_lib.sh"

producers=200 warmup_rounds=20 rounds=20
# Room for 200 at once (the defaults are 64 producers and 32 connections before HELLO), and a small
# history that the warm-up round already fills.
start_daemon --max-producers 256 --max-other-connections 256 --history-bytes 1M
wait_for_daemon

wait_for_no_producers() {
  local deadline=$((SECONDS + 10))
  until [ "$(status_value 's["producers"]')" -eq 0 ]; do
    [ $SECONDS -lt $deadline ] || fail "the daemon still counts producers 10 s after they hung up"
    sleep 0.1
  done
}

python3 "$PROTOCOL_CLIENT" churn --producers $producers --rounds $warmup_rounds || fail "the warm-up rounds failed"
wait_for_no_producers
fds_before=$(fd_count "$DAEMON_PID")
rss_before=$(proc_status_kib "$DAEMON_PID" VmRSS)

python3 "$PROTOCOL_CLIENT" churn --producers $producers --rounds $rounds || fail "the churn failed"
wait_for_no_producers
fds_after=$(fd_count "$DAEMON_PID")
rss_after=$(proc_status_kib "$DAEMON_PID" VmRSS)
hwm=$(proc_status_kib "$DAEMON_PID" VmHWM)

records=$(status_value 's["totals"]["records"]')
expected=$(( (warmup_rounds + rounds) * producers * 3 ))
[ "$records" -eq "$expected" ] || fail "the daemon counted $records records, the producers sent $expected"
pass "all $(( (warmup_rounds + rounds) * producers )) producers accepted, $records records counted"

[ "$fds_after" -eq "$fds_before" ] || fail "the daemon had $fds_before open descriptors before, $fds_after after"
pass "open descriptors: $fds_before before, $fds_after after $((rounds * producers)) connections"
[ "$rss_after" -le $((rss_before + 2048)) ] || fail "daemon RSS grew from $rss_before KiB to $rss_after KiB"
pass "daemon RSS: $rss_before KiB before, $rss_after KiB after (peak $hwm KiB)"
