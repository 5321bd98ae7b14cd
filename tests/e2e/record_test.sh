#!/usr/bin/env bash
# `spicecap record DIR` during a demo session: one file per channel, each holding only its channel and
# decoding as SPICE on its own; plus usbvsock.pcap for a vsock demo; files closed cleanly on SIGINT.
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
  file="$out/$channel.pcap"
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
  pass "$channel.pcap: $total messages, all $channel, decoded as SPICE on its own"
done
[ "$(ls "$out" | wc -l)" -eq 5 ] || fail "expected 4 channel files and usbvsock.pcap, got: $(ls "$out")"
install_extcap  # the dissector, where this user's Wireshark loads it (root's 4.2+ ignores -X lua_script:)
vsock=$(tshark -r "$out/usbvsock.pcap" -Y usbvsock 2>/dev/null | wc -l)
[ "$vsock" -gt 20 ] || fail "usbvsock.pcap: only $vsock transfers decoded"
pass "usbvsock.pcap: $vsock transfers decoded by usb_vsock.lua"
