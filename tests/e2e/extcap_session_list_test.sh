#!/usr/bin/env bash
# The options dialog's session list (--extcap-reload-option session) offers, on each interface, only the
# daemon's sessions of that interface's kind: a SPICE capture of a USB vsock session would show nothing.
source "$(dirname "$0")/lib.sh"

start_daemon
background "$SPICECAP" demo --session spice-one --duration 20 --quiet
background "$SPICECAP" demo --vsock --session vsock-one --duration 20 --quiet
listed() { "$EXTCAP" --extcap-config --extcap-interface "$1" --extcap-reload-option session; }
has_both() { "$SPICECAP" status 2>/dev/null | grep -q spice-one && "$SPICECAP" status 2>/dev/null | grep -q vsock-one; }
deadline=$((SECONDS + 10))
until has_both; do
  [ $SECONDS -lt $deadline ] || fail "the daemon never had both demo sessions: $("$SPICECAP" status 2>&1)"
  sleep 0.1
done

spice=$(listed spice)
grep -q "spice-one" <<<"$spice" || fail "the SPICE session list misses the SPICE session: $spice"
grep -q "vsock-one" <<<"$spice" && fail "the SPICE session list offers the USB vsock session: $spice"
grep -q "{value=all}" <<<"$spice" || fail "the SPICE session list lost 'All sessions': $spice"
pass "SPICE capture lists only the SPICE session"

vsock=$(listed usbvsock)
grep -q "vsock-one" <<<"$vsock" || fail "the USB vsock session list misses the vsock session: $vsock"
grep -q "spice-one" <<<"$vsock" && fail "the USB vsock session list offers the SPICE session: $vsock"
pass "USB vsock capture lists only the USB vsock session"
