#!/usr/bin/env bash
# `spicecap record DIR` during a demo session: one pcapng file per channel, each holding only its channel,
# decoding as SPICE on its own and naming its producer on its first frame; plus usbvsock.pcapng for a vsock
# demo; files closed cleanly on SIGINT. `--format pcap` writes the classic per-channel pcap files.
source "$(dirname "$0")/lib.sh"

start_daemon
out="$WORK/rec"
background "$SPICECAP" record "$out"
record_pid=$LAST_PID
wait_for_subscribers 2
"$SPICECAP" demo --messages 200 --rate 400 --quiet || fail "spicecap demo failed"
"$SPICECAP" demo --vsock --messages 16 --rate 400 --quiet || fail "spicecap demo --vsock failed"
sleep 1
kill -INT "$record_pid"
wait "$record_pid" || fail "spicecap record did not exit cleanly on SIGINT"

for channel in main display inputs cursor; do
  file="$out/$channel.pcapng"
  [ -s "$file" ] || fail "$file was not written"
  upper=$(tr '[:lower:]' '[:upper:]' <<<"$channel")
  # The SPICE messages, each with the channel the SPICE dissector names in the Protocol column.
  tshark -r "$file" -Y "$SPICE_MESSAGES" -T fields -e _ws.col.Protocol 2>/dev/null | grep "^Spice " >"$WORK/$channel.protocols" || true
  total=$(wc -l <"$WORK/$channel.protocols")
  own=$(grep -c "^Spice $upper$" "$WORK/$channel.protocols" || true)
  [ "$total" -gt 0 ] || fail "$file: nothing decodes as SPICE"
  [ "$own" -eq "$total" ] || fail "$file: $((total - own)) of $total SPICE messages are not $channel"
  bad=$(tshark -r "$file" -Y '_ws.malformed || vnc' 2>/dev/null | wc -l)
  [ "$bad" -eq 0 ] || fail "$file: $bad malformed or VNC frames"
  first=$(tshark -r "$file" -Y 'frame.number == 1' -T fields -e frame.comment 2>/dev/null)
  [[ "$first" == "spicecap-demo pid "*" · session demo · $channel:0 · "* ]] ||
    fail "$file: the first frame does not name its producer and stream: '$first'"
  pass "$channel.pcapng: $total messages, all $channel, decoded as SPICE on its own, first frame: $first"
done
[ "$(ls "$out" | wc -l)" -eq 5 ] || fail "expected 4 channel files and usbvsock.pcapng, got: $(ls "$out")"
install_extcap  # the dissector, where this user's Wireshark loads it (root's 4.2+ ignores -X lua_script:)
vsock=$(tshark -r "$out/usbvsock.pcapng" -Y usbvsock 2>/dev/null | wc -l)
[ "$vsock" -gt 20 ] || fail "usbvsock.pcapng: only $vsock transfers decoded"
pass "usbvsock.pcapng: $vsock transfers decoded by usb_vsock.lua"

# --format pcap: the classic files, one per channel, without comments.
classic="$WORK/classic"
background "$SPICECAP" record "$classic" --format pcap --no-vsock
record_pid=$LAST_PID
wait_for_subscribers 1
"$SPICECAP" demo --messages 50 --rate 400 --quiet || fail "spicecap demo failed"
sleep 1
kill -INT "$record_pid"
wait "$record_pid" || fail "spicecap record --format pcap did not exit cleanly on SIGINT"
[ "$(od -An -tx4 -N4 "$classic/display.pcap" | tr -d ' ')" = a1b23c4d ] || fail "display.pcap is not a classic nanosecond pcap"
[ "$(spice_message_count "$classic/display.pcap")" -gt 0 ] || fail "display.pcap decodes no SPICE message"
pass "--format pcap: classic per-channel files ($(ls "$classic" | tr '\n' ' '))"
