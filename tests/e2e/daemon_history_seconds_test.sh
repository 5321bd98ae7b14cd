#!/usr/bin/env bash
# History is bounded by age as well as by bytes: with `spicecapd --history-seconds 6`, a capture that asks
# for 600 s of history gets the session that just ran and nothing of the one that ended 9 s ago (whose
# channels are closed, so no link stage of it is kept either).
source "$(dirname "$0")/lib.sh"

start_daemon --history-seconds 6

read -r _ old < <(demo_session old 40)
sleep 9  # the retention tick runs once a second: the old records are past 6 s, with margin
read -r _ new < <(demo_session new 10)
[ "$old" -ne "$new" ] || fail "the two sessions should differ in length"

"$EXTCAP" --capture --extcap-interface spice --fifo "$WORK/history.pcap" --history 600 2>"$WORK/extcap.log" &
pid=$!
wait_for_file "$WORK/history.pcap"
wait_for_spice_messages "$WORK/history.pcap" "$new"
sleep 0.5  # anything beyond the new session would show up now
kill -TERM "$pid"
wait "$pid" || fail "the extcap exited with status $?"
got=$(spice_message_count "$WORK/history.pcap")
[ "$got" -eq "$new" ] || fail "history after 9 s with --history-seconds 6: $got SPICE messages, want the new session's $new (the old one had $old)"
pass "--history-seconds 6: the session of 9 s ago is gone ($old messages), the new one is all there ($new)"
