#!/usr/bin/env bash
# After `spicecap install`, tshark lists both interfaces; discovery is answered fast without a daemon;
# a bad capture filter is rejected by validation; with no daemon a capture fails with one clear sentence.
source "$(dirname "$0")/lib.sh"

install_extcap
grep -q "spicecap-extcap" "$WORK/install.log" || fail "install did not say what it installed"
extcap_dir=$(personal_extcap_dir)
[ -L "$extcap_dir/spicecap-extcap" ] || fail "extcap not in the personal extcap folder $extcap_dir"
"$SPICECAP" install | grep "already installed" >/dev/null || fail "install is not idempotent"

listing=$(tshark -D 2>&1)
grep -q "spice (SPICE capture)" <<<"$listing" || fail "tshark -D does not list SPICE capture: $listing"
grep -q "usbvsock (USB vsock capture)" <<<"$listing" || fail "tshark -D does not list USB vsock capture"
pass "tshark -D lists SPICE capture and USB vsock capture"

# Discovery must not need the daemon (none runs here) and must be quick.
start=$(date +%s%N)
for _ in $(seq 20); do "$EXTCAP" --extcap-interfaces --extcap-version=4.0 >/dev/null; done
elapsed_ms=$(( ($(date +%s%N) - start) / 20000000 ))
[ "$elapsed_ms" -lt 50 ] || fail "--extcap-interfaces took ${elapsed_ms} ms on average"
pass "--extcap-interfaces answers in ${elapsed_ms} ms without a daemon"

out=$("$EXTCAP" --extcap-capture-filter "tcp port 10003" --extcap-interface spice)
[ -z "$out" ] || fail "a valid filter was reported as invalid: $out"
out=$("$EXTCAP" --extcap-capture-filter "tcp portt 10003" --extcap-interface spice)
grep -q "syntax error" <<<"$out" || fail "an invalid filter was not reported: '$out'"
pass "capture filter validation: libpcap's error for a bad filter, nothing for a good one"

# No daemon: the capture fails, and tshark shows our sentence.
err=$(timeout 20 tshark -i spice -a duration:3 -w "$WORK/none.pcapng" 2>&1 || true)
grep -q "cannot reach spicecapd at $SPICECAP_SOCKET" <<<"$err" || fail "no clear error without a daemon: $err"
grep -q "start it with" <<<"$err" || fail "the error does not say how to start the daemon: $err"
[ "$(grep -c "cannot reach spicecapd" <<<"$err")" -eq 1 ] || fail "tshark shows the error more than once: $err"
pass "daemon down: tshark shows '$(grep -o 'cannot reach[^:]*' <<<"$err" | head -1)...'"

"$SPICECAP" uninstall >/dev/null
[ ! -e "$extcap_dir/spicecap-extcap" ] || fail "uninstall left the extcap behind"
tshark -D 2>&1 | grep "SPICE capture" >/dev/null && fail "tshark still lists SPICE capture after uninstall"
pass "uninstall removes what install put there"
