#!/usr/bin/env bash
# pcapng through Wireshark's own capture path: `tshark -i spice -w x.pcapng` (dumpcap reads the extcap's
# pcapng pipe and writes the file) while a demo session plays and `spicecap send` reports a lone message
# on a channel that never had a link stage. The saved file tells by itself:
# - who wrote it (section header) and the interface and its capture filter (interface description);
# - which program and session every channel came from: the first frame of each channel names them;
# - which frames spicecap made up: every SYN, FIN and synthesized link-stage frame says so, no other does;
# Then the same with a capture filter, and with --format pcap (classic pcap: none of the above).
# The interface statistics block the extcap writes when it ends is checked on the extcap run as Wireshark
# runs it but writing to a file: tshark and Wireshark stop reading the pipe before they stop the extcap,
# so a capture they stop never gets it (docs/formats.md "pcapng").
source "$(dirname "$0")/lib.sh"

FRAMES="$SOURCE_DIR/tests/e2e/pcap_frames.py"
start_daemon
install_extcap

# Captures while a demo session plays and a lone inputs message is sent; $1 = file, the rest = tshark options.
capture_session() {
  local file=$1
  shift
  background tshark -i spice "$@" -w "$file"
  local tshark_pid=$LAST_PID
  wait_for_file "$file" 10
  wait_for_subscribers 1
  demo_session pcapng 200 >"$WORK/demo.txt"
  "$SPICECAP" send --session lone --channel inputs:1 '6500 04000000 1e000000' >/dev/null ||
    fail "spicecap send failed"
  sleep 1
  kill -INT "$tshark_pid"
  wait "$tshark_pid" || true
  wait_for_no_subscribers
}

file="$WORK/all.pcapng"
capture_session "$file"
/usr/bin/python3 "$FRAMES" --blocks "$file" >"$WORK/blocks.json"
blocks() { python3 -c "import json, sys; s = json.load(open(sys.argv[1])); print($1)" "$WORK/blocks.json"; }
[ "$(blocks 's["section"]["application"]')" = "spicecap $(spicecap_version)" ] ||
  fail "the section header names '$(blocks 's["section"]["application"]')' as the writer"
[ "$(blocks 's["interfaces"][0]["name"]')" = spice ] || fail "the interface is not named spice"
[ "$(blocks 's["interfaces"][0]["tsresol"]')" = 9 ] || fail "the interface's timestamps are not in ns"
capinfos "$file" | grep -q "Capture application: *spicecap" || fail "capinfos does not show spicecap as the writer"
pass "section header: written by spicecap $(spicecap_version) on $(blocks 's["section"]["os"]'); interface spice in ns"

# Every channel's first frame names its producer: the demo's four channels and send's one.
tshark -r "$file" -T fields -E separator='|' -e frame.number -e tcp.stream -e frame.comment \
  -e tcp.flags.syn -e tcp.flags.fin -e tcp.len 2>/dev/null >"$WORK/frames.txt"
for channel in main:0 display:0 inputs:0 cursor:0; do
  first=$(awk -F'|' -v c=" · $channel · " 'index($3, c) { print; exit }' "$WORK/frames.txt")
  [[ "$first" == *"|spicecap-demo pid "*" · session pcapng · $channel · mini headers"* ]] ||
    fail "no frame names the demo as the producer of $channel: '$first'"
  stream=$(cut -d'|' -f2 <<<"$first")
  first_of_stream=$(awk -F'|' -v s="$stream" '$2 == s { print $1; exit }' "$WORK/frames.txt")
  [ "$(cut -d'|' -f1 <<<"$first")" = "$first_of_stream" ] || fail "$channel is named on frame $(cut -d'|' -f1 <<<"$first"), not on its first"
done
grep -q "|spicecap-send pid [0-9]* · session lone · inputs:1" "$WORK/frames.txt" ||
  fail "the lone message's channel does not name spicecap send: $(grep 'inputs:1' "$WORK/frames.txt" | head -2)"
announced=$(grep -c ' · session ' "$WORK/frames.txt" || true)
[ "$announced" -eq 5 ] || fail "$announced frames name a producer, not one per channel (5)"
pass "the first frame of each of the 5 channels names its producer, session and channel"

# What spicecap made up says so, and nothing else does. Every frame without payload is a synthesized
# handshake or FIN frame; of the frames with payload, only the link stage made up for send's channel.
syn_unmarked=$(awk -F'|' '$4 == 1 && $3 !~ /synthesized by spicecap: TCP handshake/' "$WORK/frames.txt" | wc -l)
fin_unmarked=$(awk -F'|' '$5 == 1 && $3 !~ /synthesized by spicecap: TCP FIN/' "$WORK/frames.txt" | wc -l)
empty_unmarked=$(awk -F'|' '$6 == 0 && $3 !~ /synthesized by spicecap: TCP/' "$WORK/frames.txt" | wc -l)
syn=$(awk -F'|' '$4 == 1' "$WORK/frames.txt" | wc -l)
[ "$syn" -ge 10 ] && [ "$syn_unmarked" -eq 0 ] && [ "$fin_unmarked" -eq 0 ] && [ "$empty_unmarked" -eq 0 ] ||
  fail "$syn SYN frames; unmarked: $syn_unmarked SYN, $fin_unmarked FIN, $empty_unmarked other frames without payload"
made_up_link=$(awk -F'|' '$6 > 0 && $3 ~ /synthesized by spicecap: SPICE link stage/' "$WORK/frames.txt" | wc -l)
[ "$made_up_link" -eq 5 ] || fail "$made_up_link frames marked as a synthesized link stage, not send's 5 link-stage messages"
marked_data=$(awk -F'|' '$6 > 0 && $3 ~ /synthesized/ && $3 !~ /link stage/' "$WORK/frames.txt" | wc -l)
[ "$marked_data" -eq 0 ] || fail "$marked_data frames a producer sent are marked synthesized"
pass "every handshake, FIN and made-up link-stage frame says spicecap synthesized it ($syn SYN, $made_up_link link stage), no data frame does"

# A capture filter: the interface description states it.
file="$WORK/display.pcapng"
capture_session "$file" -f "tcp port 10002"
/usr/bin/python3 "$FRAMES" --blocks "$file" >"$WORK/blocks.json"
[ "$(blocks 's["interfaces"][0].get("filter")')" = "tcp port 10002" ] || fail "the interface does not state the filter"
pass "with a capture filter: the interface description says if_filter 'tcp port 10002'"

# What the capture counted, at its end: received frames, records spicecapd dropped, frames the filter let
# through, the capture's start and end, and a sentence saying the same.
file="$WORK/direct.pcapng"
background "$EXTCAP" --capture --extcap-interface spice --fifo "$file" --handshake --extcap-capture-filter "tcp port 10002"
extcap_pid=$LAST_PID
wait_for_subscribers 1
demo_session counted 200 >/dev/null
sleep 1
kill -TERM "$extcap_pid"
wait "$extcap_pid" || fail "the extcap did not end cleanly on SIGTERM"
/usr/bin/python3 "$FRAMES" --blocks "$file" >"$WORK/blocks.json"
kept=$(tshark -r "$file" 2>/dev/null | wc -l)
[ "$(blocks 'len(s["statistics"])')" = 1 ] || fail "$(blocks 'len(s["statistics"])') statistics blocks, not one at the end"
[ "$(blocks 's["statistics"][0]["filter_accepted"]')" = "$kept" ] &&
  [ "$(blocks 's["statistics"][0]["received"]')" -gt "$kept" ] &&
  [ "$(blocks 's["statistics"][0]["dropped"]')" = 0 ] &&
  [ "$(blocks 's["statistics"][0]["end_ns"] > s["statistics"][0]["start_ns"]')" = True ] ||
  fail "statistics $(blocks 's["statistics"]') do not show the filter keeping the $kept frames of the file"
capinfos "$file" | grep -q "Number of stat entries = 1" || fail "capinfos does not see the statistics block"
pass "interface statistics at the end: $(blocks 's["statistics"][0]["comment"]')"

# Classic pcap on request: the same frames, none of the above.
file="$WORK/classic.pcapng"
capture_session "$file" -o extcap.spice.format:pcap
[ "$(tshark -r "$file" -Y 'frame.comment' 2>/dev/null | wc -l)" -eq 0 ] || fail "--format pcap still wrote comments"
[ "$(spice_message_count "$file")" -gt 100 ] || fail "--format pcap: too few SPICE messages decoded"
pass "--format pcap: SPICE decoded, no comments"
