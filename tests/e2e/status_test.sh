#!/usr/bin/env bash
# `spicecap status` as a person reads it: with no daemon, one sentence and exit 1; during a demo session
# and a capture, the session (active, its label and producer), its four channels open with a complete link
# stage and mini headers, and the subscriber with its channel selection; after the demo, the session
# ended and its channels closed. `--json` is the daemon's object.
source "$(dirname "$0")/lib.sh"

set +e
err=$("$SPICECAP" status 2>&1); status=$?
set -e
[ "$status" -eq 1 ] || fail "spicecap status without a daemon exited $status"
grep -q "no spicecapd is listening on $SPICECAP_SOCKET; start one with" <<<"$err" || fail "no daemon: unclear error: $err"
pass "no daemon: exit 1, '$err'"

start_daemon
background "$SPICECAP" demo --session vm-under-test --duration 8 --rate 50 --quiet
demo_pid=$LAST_PID
background "$EXTCAP" --capture --extcap-interface spice --fifo "$WORK/display.pcap" --channels display
extcap_pid=$LAST_PID
wait_for_subscribers 1
sleep 1
"$SPICECAP" status >"$WORK/live.txt" || fail "spicecap status failed"
cat "$WORK/live.txt"
grep -Eq "^spicecapd [0-9.]+ \(pid $DAEMON_PID\) on $SPICECAP_SOCKET" "$WORK/live.txt" || fail "no daemon line"
grep -Eq "^1 +active +vm-under-test +spicecap-demo \(pid $demo_pid\) +[0-9]+ " "$WORK/live.txt" ||
  fail "the live session is not shown as active with its label and producer"
for channel in main display inputs cursor; do
  grep -Eq "^  $channel:0 +[0-9]+ records .* open, link stage complete, mini headers$" "$WORK/live.txt" ||
    fail "$channel:0 is not shown open with a complete link stage"
done
grep -Eq "^[0-9]+ +spice +display +all +[0-9]+ +0 " "$WORK/live.txt" || fail "the display-only subscriber is not shown"
pass "live: session 1 active (vm-under-test, spicecap-demo pid $demo_pid), 4 channels open, 1 subscriber on display"

wait "$demo_pid" || fail "spicecap demo failed"
"$SPICECAP" status >"$WORK/ended.txt" || fail "spicecap status failed"
grep -Eq "^1 +ended +vm-under-test " "$WORK/ended.txt" || fail "the finished session is not shown as ended: $(cat "$WORK/ended.txt")"
[ "$(grep -Ec '^  (main|display|inputs|cursor):0 .* closed, mini headers$' "$WORK/ended.txt")" -eq 4 ] ||
  fail "the finished session's channels are not all closed: $(cat "$WORK/ended.txt")"
"$SPICECAP" status --json >"$WORK/status.json" || fail "spicecap status --json failed"
python3 - "$WORK/status.json" <<'PY' || fail "the --json object does not match the table"
import json, sys
s = json.load(open(sys.argv[1]))
session = s["sessions"][0]
assert session["label"] == "vm-under-test" and session["active"] is False, session
assert sorted(c["channel"] for c in session["channels"]) == ["cursor", "display", "inputs", "main"], session
assert sum(c["records"] for c in session["channels"]) == session["records"], session
assert len(s["subscribers"]) == 1 and s["subscribers"][0]["channels"] == ["display"], s["subscribers"]
PY
kill -TERM "$extcap_pid"
pass "ended: session shown ended with its 4 channels closed; --json agrees"
