#!/usr/bin/env bash
# `cmake --install BUILD --prefix ANYWHERE` gives a working install: the layout the README describes, the
# Lua plugin link resolving to share/spicecap, a systemd unit that starts this prefix's spicecapd, no Debian
# package files, and `spicecap install` from the prefix registering this prefix's extcap and Lua dissector
# (found relative to the program, not through the configured prefix) so that tshark lists both interfaces.
#
#   install_layout_test.sh BUILD_DIR LIBDIR     (LIBDIR: CMAKE_INSTALL_LIBDIR, e.g. lib/x86_64-linux-gnu)
set -euo pipefail
build_dir=$1 libdir=$2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log"
for f in bin/spicecapd bin/spicecap "$libdir/wireshark/extcap/spicecap-extcap" share/spicecap/usb_vsock.lua \
         lib/systemd/user/spicecapd.service share/doc/spicecap/README.md include/spicecap/producer.h \
         "$libdir/libspicecap.so.0" "$libdir/pkgconfig/spicecap.pc" "$libdir/spicecap/libspicecap-tap.so"; do
  [[ -e $prefix/$f ]] || fail "$f is not installed"
done
[[ -x $prefix/$libdir/wireshark/extcap/spicecap-extcap ]] || fail "the extcap is not executable"
extcap_4_6=$prefix/libexec/wireshark/extcap/spicecap-extcap  # Wireshark 4.6's global extcap folder
[[ -L $extcap_4_6 && $(readlink "$extcap_4_6") != /* ]] || fail "$extcap_4_6 is not a relative symlink"
[[ $(readlink -f "$extcap_4_6") == $(readlink -f "$prefix/$libdir/wireshark/extcap/spicecap-extcap") ]] ||
  fail "$extcap_4_6 points to $(readlink -f "$extcap_4_6")"
lua_link=$prefix/$libdir/wireshark/plugins/usb_vsock.lua
[[ -L $lua_link && $(readlink "$lua_link") != /* ]] || fail "$lua_link is not a relative symlink"
[[ $(readlink -f "$lua_link") == $(readlink -f "$prefix/share/spicecap/usb_vsock.lua") ]] ||
  fail "$lua_link points to $(readlink -f "$lua_link")"
grep -qx "ExecStart=$prefix/bin/spicecapd" "$prefix/lib/systemd/user/spicecapd.service" ||
  fail "the unit does not start $prefix/bin/spicecapd: $(grep ExecStart "$prefix/lib/systemd/user/spicecapd.service")"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$prefix/lib/systemd/user/spicecapd.service" || fail "systemd-analyze verify"
fi
[[ ! -e $prefix/share/doc/spicecap/copyright && ! -e $prefix/share/doc/libspicecap0 ]] ||
  fail "a plain install has the Debian packages' copyright/changelog files"
preload=$("$prefix/bin/spicecap" tap -- sh -c 'printf %s "$LD_PRELOAD"' 2>/dev/null)
[[ $preload == "$prefix/$libdir/spicecap/libspicecap-tap.so" ]] || fail "spicecap tap from the prefix preloads '$preload'"
echo "ok: layout under $prefix; spicecap tap preloads the prefix's libspicecap-tap.so"

# spicecap install from the prefix, into an empty HOME: links to this prefix's files.
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config
mkdir -p "$HOME"
"$prefix/bin/spicecap" install >"$work/spicecap-install.log" || { cat "$work/spicecap-install.log" >&2; fail "spicecap install"; }
# The personal extcap folder of this Wireshark: 4.2+ names it, 4.0 and 4.1 use the configuration's.
folders=$(tshark -G folders 2>/dev/null)
personal_extcap=$(sed -n 's/^Personal Extcap path:[[:space:]]*//p' <<<"$folders")
[[ -n $personal_extcap ]] || personal_extcap=$(sed -n 's/^Personal configuration:[[:space:]]*//p' <<<"$folders")/extcap
extcap_link=$personal_extcap/spicecap-extcap
[[ $(readlink -f "$extcap_link") == "$prefix/$libdir/wireshark/extcap/spicecap-extcap" ]] ||
  fail "spicecap install linked the extcap to $(readlink -f "$extcap_link")"
grep -q "usb_vsock.lua -> $prefix/share/spicecap/usb_vsock.lua" "$work/spicecap-install.log" ||
  fail "spicecap install did not take this prefix's usb_vsock.lua: $(cat "$work/spicecap-install.log")"
tshark -D >"$work/interfaces.txt" 2>&1
grep -q '^[0-9]*\. spice (SPICE capture)$' "$work/interfaces.txt" || fail "tshark -D does not list SPICE capture"
grep -q '^[0-9]*\. usbvsock (USB vsock capture)$' "$work/interfaces.txt" || fail "tshark -D does not list USB vsock capture"
"$prefix/bin/spicecap" uninstall >/dev/null || fail "spicecap uninstall"
[[ ! -e $extcap_link && ! -L $extcap_link ]] || fail "spicecap uninstall left $extcap_link"
echo "ok: spicecap install from the prefix registers its extcap and usb_vsock.lua; tshark -D lists both; uninstall removes them"
