#!/usr/bin/env bash
# Fault: spicecapd is killed with SIGKILL in the middle of a capture (no clean shutdown, socket file left
# behind), then started again.
# - The producer (`spicecap demo`) carries on at its pace while no daemon runs, reconnects by itself to
#   the new daemon, and what it delivered adds up: the new daemon counts records from it.
# - The extcap under `tshark -i spice` exits at once with its sentence, which tshark shows, and the pcap
#   written until then is intact.
source "$(dirname "$0")/fault_lib.sh"

start_daemon
install_extcap
pcap="$WORK/capture.pcapng"
background tshark -i spice -a duration:60 -w "$pcap" 2>"$WORK/tshark.log"
tshark_pid=$LAST_PID
wait_for_file "$pcap" 10
sleep 1
extcap_path="$(personal_extcap_dir)/spicecap-extcap"
pgrep -f "$extcap_path" >/dev/null || fail "no spicecap-extcap runs under tshark"

# 200 messages a second for 14 s of steady part: killed after 3 s, a new daemon from 5 s, and the producer's
# reconnection backoff is at most 2 s, so it delivers to the new daemon for at least the last 7 s.
background "$SPICECAP" demo --rate 200 --duration 14 >"$WORK/demo.out" 2>"$WORK/demo.err"
demo_pid=$LAST_PID
sleep 3
before_kill=$(status_value 's["sessions"][0]["records"]')
[ "$before_kill" -gt 100 ] || fail "the demo delivered only $before_kill records to the first daemon"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
killed_at=$(now_ms)
DAEMON_PID=""
[ -S "$SPICECAP_SOCKET" ] || fail "expected the killed daemon's socket file to be left behind"
pass "daemon killed with SIGKILL after $before_kill records"

# The extcap notices at once and says why.
deadline=$((SECONDS + 5))
while pgrep -f "$extcap_path" >/dev/null; do
  [ $SECONDS -lt $deadline ] || fail "spicecap-extcap still runs 5 s after the daemon was killed"
  sleep 0.02
done
pass "spicecap-extcap exited $(($(now_ms) - killed_at)) ms after the kill"

# Two seconds without a daemon, then a new one on the same socket (it replaces the stale file).
sleep_until_ms $((killed_at + 2000))
kill -0 "$demo_pid" 2>/dev/null || fail "the demo stopped while no daemon ran"
start_daemon
wait_for_daemon 10
pass "new daemon answers $(($(now_ms) - killed_at)) ms after the kill; the demo still runs"

# tshark stopped capturing and shows the extcap's sentence; what it wrote until then reads back.
deadline=$((SECONDS + 10))
while kill -0 "$tshark_pid" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || fail "tshark still runs 10 s after its extcap exited"
  sleep 0.1
done
grep -q "spicecapd closed the connection (was it stopped or restarted?); start the capture again" "$WORK/tshark.log" ||
  fail "tshark does not show the extcap's sentence: $(cat "$WORK/tshark.log")"
pass "tshark shows: $(grep -o 'spicecapd closed[^.]*' "$WORK/tshark.log" | head -1)..."
frames=$(spice_message_count "$pcap")
[ "$frames" -gt 100 ] || fail "the pcap written before the kill holds only $frames SPICE frames"
pass "the pcap written until the kill reads back: $frames SPICE frames"

wait "$demo_pid" || fail "the demo failed: $(cat "$WORK/demo.err")"
cat "$WORK/demo.out"
delivered=$(sed -n 's/.*: \([0-9]*\) delivered to spicecapd.*/\1/p' "$WORK/demo.out")
played=$(sed -n 's/^spicecap demo: \([0-9]*\) SPICE messages.*/\1/p' "$WORK/demo.out")
after_restart=$(status_value 'sum(x["records"] for x in s["sessions"] if x["name"] == "spicecap-demo")')
producers_seen=$(status_value 'len([x for x in s["sessions"] if x["name"] == "spicecap-demo"])')
[ "$producers_seen" -eq 1 ] || fail "the new daemon saw $producers_seen demo sessions, expected 1"
# At least 7 s * 200/s = 1400 steady messages; 1000 leaves room for a loaded machine.
[ "$after_restart" -ge 1000 ] || fail "the demo delivered only $after_restart records to the new daemon"
# Everything the new daemon counted was delivered, and so was everything the old one counted before the kill.
[ "$delivered" -ge $((before_kill + after_restart)) ] ||
  fail "demo says $delivered delivered, but the daemons counted $before_kill + $after_restart"
[ "$delivered" -lt "$played" ] || fail "the demo claims all $played messages delivered although no daemon ran for 2 s"
pass "demo reconnected: $after_restart records to the new daemon, $before_kill to the old; $delivered of $played delivered"
