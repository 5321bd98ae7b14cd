#!/usr/bin/env bash
# `spicecap stream` on this machine (the command the Remote options and sshdump run over SSH):
#   - its output, read by tshark, decodes as SPICE (every message of a session) and as USB vsock;
#   - capture options of the table apply (channels, server port);
#   - it ends within 1 s, exit status 0, when its reader goes away while it is idle (EPIPE), on EOF of its
#     standard input (a pipe), and on SIGTERM, SIGHUP and SIGINT;
#   - errors are one sentence with a non-zero status; --help, --version; `spicecap sessions` prints JSON.
source "$(dirname "$0")/lib.sh"

now_ms() { date +%s%3N; }

# Usage and errors, before any daemon runs.
"$SPICECAP" stream --help | grep -q "usage: spicecap stream" || fail "spicecap stream --help"
"$SPICECAP" stream --version | grep -q "spicecap stream" || fail "spicecap stream --version"
set +e
out=$("$SPICECAP" stream --interface nope 2>&1 >/dev/null); status=$?
set -e
[ $status -eq 2 ] && grep -q "interface takes spice or usbvsock" <<<"$out" || fail "a bad --interface: status $status, '$out'"
set +e
out=$("$SPICECAP" stream --history x 2>&1 >/dev/null); status=$?
set -e
[ $status -eq 2 ] && grep -q "history takes a whole number" <<<"$out" || fail "a bad --history: status $status, '$out'"
set +e
out=$("$SPICECAP" stream 2>&1 >"$WORK/none.pcap" </dev/null); status=$?
set -e
[ $status -eq 1 ] || fail "no daemon: exit status $status"
[ "$(grep -c . <<<"$out")" -eq 1 ] && grep -q "^spicecap stream: cannot reach spicecapd at $SPICECAP_SOCKET" <<<"$out" ||
  fail "no daemon: not one clear sentence: '$out'"
set +e
out=$("$SPICECAP" sessions 2>&1); status=$?
set -e
[ $status -eq 1 ] && grep -q "no spicecapd is listening" <<<"$out" || fail "spicecap sessions without a daemon: $status '$out'"
pass "--help, --version, bad options (status 2), no daemon (status 1, one sentence)"

start_daemon
install_extcap  # the USB vsock Lua dissector for tshark
read -r spice_id spice_count < <(demo_session stream-spice 40)
"$SPICECAP" demo --vsock --session stream-vsock --messages 16 --rate 200 --quiet || fail "spicecap demo --vsock failed"

"$SPICECAP" sessions >"$WORK/sessions.json" || fail "spicecap sessions failed"
python3 - "$WORK/sessions.json" "$spice_id" <<'EOF' || fail "spicecap sessions: $(cat "$WORK/sessions.json")"
import json, sys
sessions = json.load(open(sys.argv[1]))
labels = {s["label"]: s for s in sessions}
assert labels["stream-spice"]["id"] == int(sys.argv[2]), labels
assert any(c["kind"] == "usbvsock" for c in labels["stream-vsock"]["channels"]), labels
EOF
pass "spicecap sessions prints the daemon's sessions as JSON"

# SIGTERM, SIGHUP, SIGINT: the whole history written, then a clean end within 1 s.
for signal in TERM HUP INT; do
  out="$WORK/signal-$signal.pcap"
  "$SPICECAP" stream --history 600 --session "$spice_id" >"$out" </dev/null &
  pid=$!
  wait_for_spice_messages "$out" "$spice_count"
  started=$(now_ms)
  kill -"$signal" "$pid"
  wait "$pid" || fail "SIG$signal: exit status $?"
  took=$(($(now_ms) - started))
  [ "$took" -le 1000 ] || fail "SIG$signal: spicecap stream took $took ms to end"
  got=$(spice_message_count "$out")
  [ "$got" -eq "$spice_count" ] || fail "SIG$signal: $got SPICE messages written, the demo sent $spice_count"
  pass "SIG$signal: all $spice_count messages of the session decoded by tshark -r; ended in $took ms, status 0"
done

# Capture options of the table: one channel, another server port.
"$SPICECAP" stream --history 600 --session "$spice_id" --channels inputs --server-port 5931 >"$WORK/inputs.pcap" </dev/null &
pid=$!
wait_for_spice_messages "$WORK/inputs.pcap" 1
sleep 0.5
kill "$pid" && wait "$pid"
tshark -r "$WORK/inputs.pcap" -T fields -e _ws.col.Protocol -e tcp.port 2>/dev/null | sort -u >"$WORK/inputs.txt"
grep -qx "Spice INPUTS	10003,5931" "$WORK/inputs.txt" || fail "--channels inputs: no inputs message: $(cat "$WORK/inputs.txt")"
# Besides the inputs channel's messages, only its synthetic handshake (TCP), all between 10003 and 5931.
if grep -vxE "(Spice INPUTS|TCP)	(10003,5931|5931,10003)" "$WORK/inputs.txt" >"$WORK/other.txt"; then
  fail "--channels inputs --server-port 5931 captured something else: $(cat "$WORK/other.txt")"
fi
pass "--channels inputs --server-port 5931: only the inputs channel, between ports 10003 and 5931"

# The reader goes away while the stream is idle: the inputs channel alone is far less than a pipe holds, so
# everything is written before the reader leaves and no write fails; the stream must notice by itself.
inputs_bytes=$(stat -c %s "$WORK/inputs.pcap")
[ "$inputs_bytes" -lt 32768 ] || fail "the inputs-only capture ($inputs_bytes bytes) no longer fits in a pipe"
mkfifo "$WORK/out.fifo"
"$SPICECAP" stream --history 600 --session "$spice_id" --channels inputs >"$WORK/out.fifo" </dev/null &
pid=$!
tshark -r - -c 5 -Y spice -T fields -e _ws.col.Protocol <"$WORK/out.fifo" >"$WORK/first5.txt" 2>/dev/null || true
gone=$(now_ms)
wait "$pid" || fail "reader gone: exit status $?"
took=$(($(now_ms) - gone))
[ "$took" -le 1000 ] || fail "reader gone: spicecap stream took $took ms to notice"
grep -q "^Spice INPUTS" "$WORK/first5.txt" || fail "tshark -r - read no SPICE from the stream: $(cat "$WORK/first5.txt")"
pass "reader gone (tshark -r - -c 5 done) while the stream was idle: ended in $took ms, status 0"

# EOF on standard input (a pipe, as over SSH).
mkfifo "$WORK/in.fifo"
"$SPICECAP" stream >"$WORK/eof.pcap" <"$WORK/in.fifo" &
pid=$!
exec 4>"$WORK/in.fifo"
wait_for_subscribers 1
started=$(now_ms)
exec 4>&-
wait "$pid" || fail "stdin EOF: exit status $?"
took=$(($(now_ms) - started))
[ "$took" -le 1000 ] || fail "stdin EOF: spicecap stream took $took ms to end"
pass "EOF on standard input: ended in $took ms, status 0"

# USB vsock.
"$SPICECAP" stream --interface usbvsock --history 600 >"$WORK/vsock.pcap" </dev/null &
pid=$!
deadline=$((SECONDS + 15))
until [ "$(tshark -r "$WORK/vsock.pcap" -Y 'usbvsock.type == "F"' 2>/dev/null | wc -l)" -ge 1 ]; do
  [ $SECONDS -lt $deadline ] || fail "the USB vsock session never arrived in full"
  sleep 0.2
done
kill "$pid" && wait "$pid"
types=$(tshark -r "$WORK/vsock.pcap" -T fields -e usbvsock.type 2>/dev/null | tr ',' '\n' | grep -v '^$' | sort | uniq -c |
  awk '{printf "%s=%s ", $2, $1}')
[ "$types" = "A=2 C=2 D=62 E=2 F=1 R=2 S=2 X=4 e=2 " ] || fail "--interface usbvsock: packet types '$types'"
pass "--interface usbvsock: every packet type decoded ($types)"
