#!/usr/bin/env bash
# The options dialog against a real daemon and the ways a capture ends:
#   - "Reload sessions" lists the daemon's sessions with their labels;
#   - a capture with --session, --history, --channels and --server-port gets exactly that session's
#     messages (counted against what the demo reported), only the chosen channel, on the chosen port;
#   - SIGTERM to tshark stops it and leaves no spicecap-extcap behind after 1 s, with what was captured kept;
#   - a reader that closes the FIFO (EPIPE) ends the extcap by itself, with exit status 0.
source "$(dirname "$0")/lib.sh"

start_daemon
install_extcap

# Two finished sessions of different lengths.
read -r first_id first_count < <(demo_session first 20)
read -r second_id second_count < <(demo_session second 60)
[ "$first_count" -ne "$second_count" ] || fail "the two sessions should differ in length"

reload=$("$EXTCAP" --extcap-config --extcap-interface spice --extcap-reload-option session)
grep -F "value {arg=2}{value=all}{display=All sessions}{default=true}" <<<"$reload" >/dev/null ||
  fail "the reloaded list has no 'All sessions': $reload"
for pair in "$first_id first" "$second_id second"; do
  read -r id label <<<"$pair"
  grep -E "^value \{arg=2\}\{value=$id\}\{display=#$id spicecap-demo $label \(pid [0-9]+\)\}" <<<"$reload" >/dev/null ||
    fail "session #$id ($label) is not in the reloaded list: $reload"
done
pass "Reload sessions: #$first_id first and #$second_id second, with their labels and pids"

# capture OUT EXPECTED OPTIONS...: the extcap as Wireshark starts it (into a plain file), until OUT holds
# EXPECTED SPICE messages (the history arrives at once, then it idles, live), stopped by SIGTERM.
capture() {
  local out=$1 expected=$2
  shift 2
  "$EXTCAP" --capture --extcap-interface spice --fifo "$out" "$@" 2>>"$WORK/extcap.log" &
  local pid=$!
  wait_for_file "$out"
  wait_for_spice_messages "$out" "$expected"
  sleep 0.5  # anything beyond what was expected would show up now
  kill -TERM "$pid"
  wait "$pid" || fail "the extcap exited with status $? on SIGTERM"
}

capture "$WORK/second.pcap" "$second_count" --session "$second_id" --history 600
got=$(spice_message_count "$WORK/second.pcap")
[ "$got" -eq "$second_count" ] ||
  fail "--session $second_id --history 600: $got SPICE messages, the demo sent $second_count (first session: $first_count)"
pass "--session $second_id --history 600: exactly the $second_count messages of that session"

capture "$WORK/inputs.pcap" 1 --session "$second_id" --history 600 --channels inputs --server-port 5931
tshark -r "$WORK/inputs.pcap" -T fields -e _ws.col.Protocol -e tcp.port 2>/dev/null | sort -u >"$WORK/inputs.txt"
[ -s "$WORK/inputs.txt" ] || fail "--channels inputs captured nothing"
if grep -v -x "Spice INPUTS	10003,5931" "$WORK/inputs.txt" | grep -v -x "Spice INPUTS	5931,10003" >"$WORK/other.txt"; then
  fail "--channels inputs --server-port 5931 captured something else: $(cat "$WORK/other.txt")"
fi
pass "--channels inputs --server-port 5931: only the inputs channel, between ports 10003 and 5931"

# SIGTERM to tshark: no extcap left 1 s later, and the capture keeps what had arrived.
pcap="$WORK/live.pcapng"
background tshark -i spice -w "$pcap"
tshark_pid=$LAST_PID
wait_for_file "$pcap" 10
wait_for_subscribers 1
read -r third_id third_count < <(demo_session third 10)
sleep 2  # tshark writes its file in its own time: nothing to poll
kill -TERM "$tshark_pid"
wait "$tshark_pid" || true
# The extcap stops within 1 s of its SIGTERM; allow the scheduler of a busy machine 2 s more.
extcap_path="$(personal_extcap_dir)/spicecap-extcap"
gone_after=""
for tenths in $(seq 1 30); do
  sleep 0.1
  if ! pgrep -f "$extcap_path" >/dev/null; then gone_after=$tenths; break; fi
done
[ -n "$gone_after" ] || fail "spicecap-extcap still runs 3 s after SIGTERM to tshark"
got=$(spice_message_count "$pcap")
[ "$got" -eq "$third_count" ] || fail "SIGTERM: $got SPICE messages kept, the demo sent $third_count"
pass "SIGTERM to tshark: spicecap-extcap gone within $((gone_after / 10)).$((gone_after % 10)) s of tshark (3 s allowed); all $third_count messages of session #$third_id kept"

# EPIPE: the reader takes the pcap header and goes away; the next write ends the extcap, status 0.
mkfifo "$WORK/fifo"
"$EXTCAP" --capture --extcap-interface spice --fifo "$WORK/fifo" 2>>"$WORK/extcap.log" &
extcap_pid=$!
head -c 24 "$WORK/fifo" >/dev/null
wait_for_subscribers 1  # the header comes before the subscription: records must reach this extcap
"$SPICECAP" demo --session after-reader --messages 50 --rate 2000 --quiet || fail "spicecap demo failed"
for _ in $(seq 200); do kill -0 "$extcap_pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$extcap_pid" 2>/dev/null; then fail "the extcap still runs 10 s after its reader closed the FIFO"; fi
wait "$extcap_pid" || fail "the extcap exited with status $? when its reader went away"
pass "a reader that closes the FIFO ends the capture (EPIPE), exit status 0"
