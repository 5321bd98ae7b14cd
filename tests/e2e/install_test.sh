#!/usr/bin/env bash
# `spicecap install` / `uninstall` on the Wireshark installed here, as whoever runs the test (CI: root on
# 4.0; tests/compat: a user and root on 4.4 and 4.6):
#   - the extcap goes to the personal extcap folder `tshark -G folders` names; the dissector to where this
#     user's Wireshark loads Lua plugins: the personal folder, or for root on 4.2+ the global one (said in
#     one line); tshark -D lists both interfaces and tshark -G plugins lists the dissector; idempotent;
#   - uninstall removes exactly that;
#   - with a spicecap-extcap already in the global extcap folder (as the .deb puts it) nothing is added
#     and --shadow-global is named; --shadow-global then adds the personal extcap, listed once.
# As root the global folders are this test's private copies (lib.sh); a user gets a global folder of its
# own through WIRESHARK_EXTCAP_DIR, which 4.4+ honour (4.0 does not: that part is skipped there).
source "$(dirname "$0")/lib.sh"

folders=$(tshark -G folders 2>/dev/null)
folder() { sed -n "s/^$1:[[:space:]]*//p" <<<"$folders"; }
personal_extcap=$(personal_extcap_dir)
personal_lua=$(folder 'Personal Lua Plugins')
global_lua=$(folder 'Global Lua Plugins')
read -r major minor < <(tshark --version 2>/dev/null | sed -n '1s/.*(Wireshark) \([0-9]*\)\.\([0-9]*\).*/\1 \2/p') || true
[ -n "$major" ] || fail "tshark --version names no version"
newer_than_4_1=false
[ "$major" -gt 4 ] || { [ "$major" -eq 4 ] && [ "$minor" -ge 2 ]; } && newer_than_4_1=true

install_extcap
[ -L "$personal_extcap/spicecap-extcap" ] || fail "no extcap in the personal extcap folder $personal_extcap: $(cat "$WORK/install.log")"
lua_dir=$personal_lua
if [ "$(id -u)" -eq 0 ] && [ "$newer_than_4_1" = true ]; then
  lua_dir=$global_lua
  line=$(grep "^as root, Wireshark $major\.$minor\.[0-9]* loads Lua plugins only from its global folder: .* $global_lua$" \
         "$WORK/install.log") || fail "spicecap install did not say the dissector goes global as root: $(cat "$WORK/install.log")"
  pass "spicecap install as root on $major.$minor says: $line"
fi
[ -L "$lua_dir/usb_vsock.lua" ] || fail "no usb_vsock.lua in $lua_dir: $(cat "$WORK/install.log")"
plugins=$(tshark -G plugins 2>/dev/null)
grep -q "	$lua_dir/usb_vsock.lua$" <<<"$plugins" || fail "tshark -G plugins does not list $lua_dir/usb_vsock.lua"
grep -q "^checked: tshark -G plugins lists $lua_dir/usb_vsock.lua$" "$WORK/install.log" || fail "spicecap install did not check the dissector loads"
listing=$(tshark -D 2>/dev/null)
grep -q '^[0-9]*\. spice (SPICE capture)$' <<<"$listing" && grep -q '^[0-9]*\. usbvsock (USB vsock capture)$' <<<"$listing" ||
  fail "tshark -D does not list both interfaces: $listing"
"$SPICECAP" install >"$WORK/again.log" 2>&1 || fail "a second install failed: $(cat "$WORK/again.log")"
grep -q "^already installed: $lua_dir/usb_vsock.lua" "$WORK/again.log" || fail "a second install is not idempotent: $(cat "$WORK/again.log")"
pass "Wireshark $major.$minor as $(id -un): extcap in $personal_extcap, dissector in $lua_dir and loaded, tshark -D lists both"

"$SPICECAP" uninstall >"$WORK/uninstall.log" 2>&1 || { cat "$WORK/uninstall.log" >&2; fail "spicecap uninstall"; }
[ ! -e "$personal_extcap/spicecap-extcap" ] && [ ! -e "$lua_dir/usb_vsock.lua" ] ||
  fail "spicecap uninstall left files: $(cat "$WORK/uninstall.log")"
listing=$(tshark -D 2>/dev/null)
if grep -q "(SPICE capture)" <<<"$listing"; then fail "tshark still lists SPICE capture after uninstall"; fi
pass "spicecap uninstall removed both; tshark -D lists no SPICE capture"

# A registration for every user, as the .deb makes it.
if [ "$(id -u)" -eq 0 ]; then
  global_extcap=$(folder 'Global Extcap path')
  global_extcap=${global_extcap:-$(folder 'Extcap path')}
elif [ "$newer_than_4_1" = true ]; then
  export WIRESHARK_EXTCAP_DIR="$WORK/global-extcap"
  global_extcap=$WIRESHARK_EXTCAP_DIR
  mkdir -p "$global_extcap"
  [ "$(tshark -G folders 2>/dev/null | sed -n 's/^Global Extcap path:[[:space:]]*//p')" = "$global_extcap" ] ||
    fail "WIRESHARK_EXTCAP_DIR is not the global extcap folder of Wireshark $major.$minor"
else
  echo "note: Wireshark $major.$minor ignores WIRESHARK_EXTCAP_DIR: no global folder for a user to test with"
  exit 0
fi
cp "$EXTCAP" "$global_extcap/spicecap-extcap"
"$SPICECAP" install >"$WORK/install2.log" 2>&1 || { cat "$WORK/install2.log" >&2; fail "spicecap install beside a global registration"; }
grep -q "already registered for every user ($global_extcap/spicecap-extcap" "$WORK/install2.log" &&
  grep -q -- "--shadow-global" "$WORK/install2.log" || fail "the global registration was not reported: $(cat "$WORK/install2.log")"
[ ! -e "$personal_extcap/spicecap-extcap" ] || fail "a personal extcap was added beside the global one"
pass "with $global_extcap/spicecap-extcap: '$(grep -o 'spicecap is already registered for every user' "$WORK/install2.log")...', nothing added"
"$SPICECAP" install --shadow-global >"$WORK/install3.log" 2>&1 || { cat "$WORK/install3.log" >&2; fail "spicecap install --shadow-global"; }
[ -L "$personal_extcap/spicecap-extcap" ] || fail "--shadow-global added no personal extcap"
[ "$(tshark -D 2>/dev/null | grep -c ' (SPICE capture)$')" -eq 1 ] || fail "SPICE capture is not listed exactly once"
"$SPICECAP" uninstall >/dev/null 2>&1 || fail "spicecap uninstall after --shadow-global"
[ ! -e "$personal_extcap/spicecap-extcap" ] && [ -e "$global_extcap/spicecap-extcap" ] ||
  fail "uninstall did not remove just the personal extcap"
pass "--shadow-global adds the personal extcap (SPICE capture listed once); uninstall leaves the global one"
