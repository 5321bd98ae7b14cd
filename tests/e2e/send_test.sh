#!/usr/bin/env bash
# `spicecap send`: messages written by hand (hex, a file, stdin) reach a live capture and decode as what
# they are. SPICE: an inputs KEY_DOWN and KEY_UP from the client and an inputs INIT from the server, on a
# channel that never had a link stage (the capture synthesizes one). USB vsock: an Echo transfer on link 3,
# device to host, decoded by the Lua dissector. Bad input: a clear error, exit 2; no daemon: exit 1.
source "$(dirname "$0")/lib.sh"

out=$("$SPICECAP" send 00 2>&1) && fail "spicecap send without a daemon exited 0: $out"
grep -q "no spicecapd is listening on $SPICECAP_SOCKET" <<<"$out" || fail "no daemon: unclear error: $out"
pass "no daemon: '$out'"

start_daemon
install_extcap

set +e
err=$("$SPICECAP" send --channel inputs 'zz' 2>&1); status=$?
set -e
[ "$status" -eq 2 ] && grep -q "'zz' is not a message in hex" <<<"$err" || fail "bad hex: exit $status, '$err'"
pass "bad hex: exit 2, '$err'"

# SPICE, live through tshark -i spice.
pcap="$WORK/spice.pcapng"
background tshark -i spice -w "$pcap"
tshark_pid=$LAST_PID
wait_for_file "$pcap" 10
wait_for_subscribers 1
# KEY_DOWN (101) and KEY_UP (102), mini header: type u16, size u32, then the scancode u32 (0x1e, 'a').
printf '\x66\x00\x04\x00\x00\x00\x1e\x00\x00\x00' >"$WORK/key_up.bin"
"$SPICECAP" send --channel inputs --session hand-made '6500 04000000 1e000000' @"$WORK/key_up.bin" >"$WORK/send.out" ||
  fail "spicecap send failed: $(cat "$WORK/send.out")"
grep -q "2 message(s), 20 bytes on inputs:0, client -> server: 2 delivered" "$WORK/send.out" ||
  fail "unexpected report: $(cat "$WORK/send.out")"
# INPUTS INIT (server, 101): the keyboard modifiers u16.
printf '6500:02000000:0000' | xargs "$SPICECAP" send --channel inputs --to-client --session hand-made >/dev/null ||
  fail "spicecap send --to-client failed"
sleep 2  # tshark writes its file in its own time: nothing to poll
kill -TERM "$tshark_pid"
wait "$tshark_pid" || true
tshark -r "$pcap" -Y 'spice.message_type' -T fields -e _ws.col.Protocol -e _ws.col.Info \
  >"$WORK/decoded.tsv" 2>/dev/null
decoded=$(cut -f2 "$WORK/decoded.tsv" | grep -v -i 'link\|ticket\|auth' | tr '\n' '|')
[ "$decoded" = "Client KEY_DOWN|Client KEY_UP|Server INIT|" ] || fail "decoded: '$decoded' ($(cat "$WORK/decoded.tsv"))"
if tshark -r "$pcap" -Y '_ws.malformed || vnc' 2>/dev/null | grep . >/dev/null; then fail "malformed or VNC frames"; fi
pass "hand-made inputs messages decode as SPICE: ${decoded//|/, }"

# USB vsock: an Echo from device 3:22 to host 2:5001 with payload "hi", read from stdin.
wait_for_no_subscribers  # the SPICE capture's extcap is gone: the next subscriber is the vsock one
pcap="$WORK/vsock.pcapng"
background tshark -i usbvsock -w "$pcap"
tshark_pid=$LAST_PID
wait_for_file "$pcap" 10
wait_for_subscribers 1
printf 'ffxE\x03\x00\x00\x00\x02\x00\x00\x00\x16\x00\x00\x00\x89\x13\x00\x00\x02\x00\x00\x00hi' |
  "$SPICECAP" send --vsock 3 --to-host @- >"$WORK/send.out" || fail "spicecap send --vsock failed: $(cat "$WORK/send.out")"
sleep 2
kill -TERM "$tshark_pid"
wait "$tshark_pid" || true
fields=$(tshark -r "$pcap" -T fields -E separator=';' -e usbvsock.direction -e usbvsock.link -e usbvsock.type \
  -e usbvsock.device_cid -e usbvsock.host_cid -e usbvsock.device_port -e usbvsock.host_port -e usbvsock.payload_len 2>"$WORK/tshark.err")
[ "$fields" = "1;3;E;3;2;22;5001;2" ] || fail "vsock fields: '$fields'"
pass "hand-made USB vsock Echo (stdin) decodes: direction 1, link 3, E 3:22 -> 2:5001, 2 bytes"
