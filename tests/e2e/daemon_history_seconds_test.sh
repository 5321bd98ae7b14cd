#!/usr/bin/env bash
# History is bounded by age as well as by bytes: with `spicecapd --history-seconds 3`, a capture that asks
# for 600 s of history gets the session that just ran and nothing of the one that ended 5 s ago (whose
# channels are closed, so no link stage of it is kept either).
source "$(dirname "$0")/lib.sh"

start_daemon --history-seconds 3

demo_count() {  # LABEL STEADY_MESSAGES -> the number of SPICE messages the demo reported
  local out
  out=$("$SPICECAP" demo --session "$1" --messages "$2" --rate 2000 2>&1) || fail "spicecap demo failed: $out"
  grep -o '[0-9]* SPICE messages' <<<"$out" | sed -n 1p | tr -dc '0-9'
}
old=$(demo_count old 40)
sleep 5
new=$(demo_count new 10)
[ "$old" -ne "$new" ] || fail "the two sessions should differ in length"

"$EXTCAP" --capture --extcap-interface spice --fifo "$WORK/history.pcap" --history 600 2>"$WORK/extcap.log" &
pid=$!
wait_for_file "$WORK/history.pcap"
sleep 1
kill -TERM "$pid"
wait "$pid" || fail "the extcap exited with status $?"
got=$(tshark -r "$WORK/history.pcap" -Y spice -T fields -e _ws.col.Protocol 2>/dev/null | grep -c '^Spice' || true)
[ "$got" -eq "$new" ] || fail "history after 5 s with --history-seconds 3: $got SPICE messages, want the new session's $new (the old one had $old)"
pass "--history-seconds 3: the session of 5 s ago is gone ($old messages), the new one is all there ($new)"
