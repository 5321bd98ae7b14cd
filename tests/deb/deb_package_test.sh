#!/usr/bin/env bash
# The .deb packages as a user gets them, installed system-wide for real:
#   1. cpack makes spicecap, libspicecap0 and libspicecap-dev from the build; the extcap and the Lua
#      dissector are in the global folders `tshark -G folders` names; lintian finds nothing beyond the
#      warnings we accept (named at the lintian call below).
#   2. `apt-get install` them; with an empty HOME (no personal extcap or plugin) `tshark -D` lists SPICE
#      capture and USB vsock capture, and tshark loads the global usb_vsock.lua.
#   3. `systemctl --user enable --now spicecapd` starts /usr/bin/spicecapd from the installed unit (under
#      a private systemd user manager when the machine was not booted with systemd; otherwise the unit is
#      only verified and /usr/bin/spicecapd started by hand).
#   4. `tshark -i spice` decodes `spicecap demo` as SPICE; `tshark -i usbvsock` decodes `spicecap demo
#      --vsock` with the global Lua dissector. A personal `spicecap install` from a build sees the global
#      registration and adds nothing; with --shadow-global it adds its extcap, and the interfaces are
#      still listed once and decode the same.
#   5. The examples build against the installed library (pkg-config and find_package from /usr, nothing
#      else on the path) and everything they report reaches the daemon.
#   6. `apt-get remove --purge` leaves nothing: every file the packages listed is gone, no directory of
#      theirs is left empty, the extcap and Lua folders hold what they held before.
# The machine is restored however the test ends (trap). Exits 77 (CTest: skipped) without root, or when a
# spicecap package is already installed (the test would remove the user's own).
# SPICECAP_DEBS=DIR (tests/compat): install the packages in DIR (made and checked by lintian where they were
# built) instead of making them; when DIR has none yet, the packages made here are left there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
packages=(spicecap libspicecap0 libspicecap-dev)

skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "installing the .deb system-wide needs root"
for p in "${packages[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    skip "$p is installed on this machine; this test installs and purges it, so it leaves the machine alone"
  fi
done

SPICECAP_TEST_REAL_GLOBAL_FOLDERS=1  # lib.sh: this test installs into the real global folders on purpose
source "$here/../e2e/lib.sh"
source "$here/systemd_user_manager.sh"
SPICECAPD=/usr/bin/spicecapd
SPICECAP=/usr/bin/spicecap
INSTALLED=false

# Restores the machine, then lib.sh's cleanup (background processes, $WORK) with the test's exit status.
restore_machine() {
  local status=$?
  set +e  # every step of the restore runs, whatever fails
  stop_user_manager
  stop_daemon
  if [ "$INSTALLED" = true ]; then
    echo "restoring the machine: purging ${packages[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -q "${packages[@]}" >"$WORK/restore.log" 2>&1 ||
      dpkg --purge "${packages[@]}" >>"$WORK/restore.log" 2>&1 || cat "$WORK/restore.log" >&2
  fi
  (exit "$status")
  cleanup
}
trap restore_machine EXIT

# Wireshark's global folders, as this tshark reports them (HOME is empty: lib.sh): "Global Extcap path"
# since 4.2 (/usr/libexec/wireshark/extcap since 4.6), "Extcap path" before.
tshark -G folders >"$WORK/folders.txt"
extcap_dir=$(sed -n 's/^\(Global Extcap path\|Extcap path\):[[:space:]]*//p' "$WORK/folders.txt")
lua_dir=$(sed -n 's/^Global Lua Plugins:[[:space:]]*//p' "$WORK/folders.txt")
[ -n "$extcap_dir" ] && [ -n "$lua_dir" ] || fail "tshark -G folders did not name the global folders"

# ---- 1. the packages ----
debs="$WORK/debs"
mkdir -p "$debs"
chmod 0755 "$WORK" "$debs"  # apt reads local .debs as its own unprivileged user
made_here=true
if [ -n "${SPICECAP_DEBS:-}" ] && ls "$SPICECAP_DEBS"/spicecap_*.deb >/dev/null 2>&1; then
  cp "$SPICECAP_DEBS"/*.deb "$debs/"
  made_here=false
else
  (cd "$BUILD_DIR" && cpack -G DEB -B "$debs") >"$WORK/cpack.log" 2>&1 || { cat "$WORK/cpack.log" >&2; fail "cpack -G DEB failed"; }
  if [ -n "${SPICECAP_DEBS:-}" ]; then mkdir -p "$SPICECAP_DEBS" && cp "$debs"/*.deb "$SPICECAP_DEBS/"; fi
fi
deb_files=()
for p in "${packages[@]}"; do
  f=$(ls "$debs/${p}_"*.deb 2>/dev/null | head -n 1)
  [ -n "$f" ] || fail "cpack made no ${p}_*.deb: $(ls "$debs")"
  deb_files+=("$f")
done
dpkg-deb -c "${deb_files[0]}" | awk '{print $6}' >"$WORK/spicecap.contents"
for f in "$extcap_dir/spicecap-extcap" "$lua_dir/usb_vsock.lua" /usr/bin/spicecapd /usr/bin/spicecap \
         /usr/share/spicecap/usb_vsock.lua /usr/lib/systemd/user/spicecapd.service \
         /usr/share/man/man1/spicecapd.1.gz /usr/share/man/man1/spicecap.1.gz \
         "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/spicecap/libspicecap-tap.so"; do
  grep -qx ".$f" "$WORK/spicecap.contents" || fail "spicecap_*.deb has no $f"
done
pass "${deb_files[*]##*/} ($([ "$made_here" = true ] && echo "made by cpack here" || echo "from $SPICECAP_DEBS")): the extcap is in $extcap_dir, usb_vsock.lua in $lua_dir"
dpkg-deb -f "${deb_files[0]}" Depends | grep -q 'libpcap0.8' || fail "spicecap does not depend on libpcap0.8"
dpkg-deb -f "${deb_files[0]}" Recommends | grep -qx 'tshark | wireshark' || fail "spicecap does not recommend tshark | wireshark"
dpkg-deb -f "${deb_files[2]}" Depends | grep -qx 'libspicecap0 (= [^)]*)' || fail "libspicecap-dev does not depend on libspicecap0 (= version)"
pass "Depends found by dpkg-shlibdeps (libpcap0.8 ...), Recommends tshark | wireshark, -dev depends on libspicecap0"

# Accepted: CPack's ldconfig postinst/postrm (beside the trigger; empty scripts instead would only trade
# this warning for maintainer-script-empty). Packages made elsewhere were checked there.
if [ "$made_here" = true ]; then
  lintian --fail-on error,warning --suppress-tags maintscript-calls-ldconfig \
    "${deb_files[@]}" >"$WORK/lintian.txt" 2>&1 || { cat "$WORK/lintian.txt" >&2; fail "lintian"; }
  pass "lintian: no error or warning beyond the accepted ones"
fi
# Hardened as Debian's own packages are (lintian only reports these at info level, so check them here).
mkdir -p "$WORK/unpacked"
dpkg-deb -x "${deb_files[0]}" "$WORK/unpacked"
for exe in "$WORK/unpacked/usr/bin/spicecapd" "$WORK/unpacked/usr/bin/spicecap" "$WORK/unpacked$extcap_dir/spicecap-extcap"; do
  # (Whole outputs in variables: `readelf | grep -q` would die of SIGPIPE under pipefail.)
  dynamic=$(readelf -d "$exe") headers=$(readelf -lW "$exe") symbols=$(readelf -W --dyn-syms "$exe")
  grep -Eq 'FLAGS.*(BIND_NOW| NOW)' <<<"$dynamic" || fail "${exe##*/} is not linked with -z now"
  grep -q GNU_RELRO <<<"$headers" || fail "${exe##*/} has no RELRO segment"
  grep -q '__stack_chk_fail' <<<"$symbols" || fail "${exe##*/} has no stack protector"
done
pass "spicecapd, spicecap and spicecap-extcap: full RELRO (-z relro -z now) and the stack protector"

# ---- 2. install ----
ls -A "$extcap_dir" >"$WORK/extcap.before"
ls -A "$lua_dir" >"$WORK/lua.before"
INSTALLED=true
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${deb_files[@]}" >"$WORK/install.log" 2>&1 ||
  { cat "$WORK/install.log" >&2; fail "apt-get install of the .deb files failed"; }
for p in "${packages[@]}"; do dpkg -L "$p" >"$WORK/files.$p"; done
pass "apt-get install ${deb_files[*]##*/}"

[ ! -e "$XDG_CONFIG_HOME/wireshark" ] && [ ! -e "$HOME/.local/lib/wireshark" ] || fail "HOME has personal Wireshark folders"
tshark -D >"$WORK/interfaces.txt" 2>&1
grep -q '^[0-9]*\. spice (SPICE capture)$' "$WORK/interfaces.txt" || { cat "$WORK/interfaces.txt" >&2; fail "tshark -D does not list SPICE capture"; }
grep -q '^[0-9]*\. usbvsock (USB vsock capture)$' "$WORK/interfaces.txt" || fail "tshark -D does not list USB vsock capture"
tshark -G plugins 2>/dev/null | grep "usb_vsock.lua.*$lua_dir/usb_vsock.lua" >/dev/null || fail "tshark does not load $lua_dir/usb_vsock.lua"
pass "with an empty HOME, tshark -D lists SPICE capture and USB vsock capture; tshark loads the global usb_vsock.lua"
tap_library="/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/spicecap/libspicecap-tap.so"
[ "$("$SPICECAP" tap -- sh -c 'printf %s "$LD_PRELOAD"' 2>/dev/null)" = "$tap_library" ] || fail "the installed spicecap tap does not preload $tap_library"
pass "the installed spicecap tap preloads $tap_library"

# ---- 3. the daemon, as a systemd user service ----
unit=/usr/lib/systemd/user/spicecapd.service
systemd-analyze verify "$unit" >"$WORK/verify.txt" 2>&1 || { cat "$WORK/verify.txt" >&2; fail "systemd-analyze verify $unit"; }
grep -qx 'ExecStart=/usr/bin/spicecapd' "$unit" || fail "the unit does not start /usr/bin/spicecapd"
if user_manager_possible && start_user_manager "$WORK/user-manager.log"; then
  systemctl --user enable --now spicecapd >"$WORK/enable.log" 2>&1 || { cat "$WORK/enable.log" >&2; fail "systemctl --user enable --now spicecapd"; }
  [ -L "$XDG_CONFIG_HOME/systemd/user/default.target.wants/spicecapd.service" ] ||
    fail "systemctl --user enable did not add spicecapd to default.target: $(cat "$WORK/enable.log")"
  wait_for_file "$SPICECAP_SOCKET" 10
  [ "$(systemctl --user is-active spicecapd)" = active ] || fail "spicecapd.service is not active"
  main_pid=$(systemctl --user show -p MainPID --value spicecapd)
  [ "$(readlink "/proc/$main_pid/exe")" = /usr/bin/spicecapd ] || fail "the service runs $(readlink "/proc/$main_pid/exe")"
  pass "systemctl --user enable --now spicecapd: /usr/bin/spicecapd (pid $main_pid) listens on $SPICECAP_SOCKET"
else
  # Booted with systemd (a desktop: the test will not touch the user's own manager), or no private manager
  # possible (e.g. a container without CAP_SYS_ADMIN for unshare).
  stop_user_manager
  echo "note: no private systemd user manager here: the unit is verified, not run; starting $SPICECAPD by hand"
  start_daemon
fi
"$SPICECAP" status >"$WORK/status.txt" 2>&1 || { cat "$WORK/status.txt" >&2; fail "spicecap status"; }

# ---- 4. live captures through the global extcap ----
capture() {  # capture INTERFACE PCAP COMMAND...: tshark -i INTERFACE while COMMAND runs
  local interface=$1 pcap=$2
  shift 2
  background tshark -i "$interface" -a duration:30 -w "$pcap"
  local tshark_pid=$LAST_PID
  wait_for_file "$pcap" 10
  sleep 1
  "$@" || fail "$* failed"
  sleep 1
  kill -INT "$tshark_pid"
  wait "$tshark_pid" || true
}
capture spice "$WORK/spice.pcapng" "$SPICECAP" demo --messages 100 --rate 200 --quiet
tshark -r "$WORK/spice.pcapng" -Y "$SPICE_MESSAGES" -T fields -e _ws.col.Protocol -e _ws.col.Info >"$WORK/spice.tsv" 2>/dev/null
decoded=$(wc -l <"$WORK/spice.tsv")
[ "$decoded" -gt 100 ] || fail "only $decoded frames decoded as SPICE"
for name in "MAIN	Client link message" "MAIN	Server INIT" "DISPLAY	Server DRAW_COPY" "INPUTS	Client KEY_DOWN" \
            "CURSOR	Server MOVE"; do
  grep -q "^Spice $name" "$WORK/spice.tsv" || fail "no '$name' decoded"
done
bad=$(tshark -r "$WORK/spice.pcapng" -Y '_ws.malformed || vnc' 2>/dev/null | wc -l)
[ "$bad" -eq 0 ] || fail "$bad frames malformed or VNC"
pass "tshark -i spice: $decoded frames of spicecap demo decoded as SPICE, none malformed"

capture usbvsock "$WORK/vsock.pcapng" "$SPICECAP" demo --vsock --messages 16 --rate 100 --quiet
tshark -r "$WORK/vsock.pcapng" -T fields -e usbvsock.type >"$WORK/vsock.types" 2>"$WORK/vsock.err"
if grep -qi lua "$WORK/vsock.err"; then cat "$WORK/vsock.err" >&2; fail "Lua errors while dissecting"; fi
types=$(tr ',' '\n' <"$WORK/vsock.types" | grep -v '^$' | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
[ "$types" = "A=2 C=2 D=62 E=2 F=1 R=2 S=2 X=4 e=2 " ] || fail "vsock packet types decoded: '$types'"
pass "tshark -i usbvsock with the global usb_vsock.lua: every packet of spicecap demo --vsock decoded ($types)"

# A user who also runs `spicecap install` from a build: it sees the package's registration and adds nothing
# (a second extcap makes Wireshark 4.2+ warn at every start), and says how to override that.
personal_extcap=$(tshark -G folders 2>/dev/null | sed -n 's/^Personal Extcap path:[[:space:]]*//p')
personal_extcap=${personal_extcap:-$(tshark -G folders 2>/dev/null | sed -n 's/^Personal configuration:[[:space:]]*//p')/extcap}
"$BUILD_DIR/tools/spicecap" install >"$WORK/personal-install.log" 2>&1 || { cat "$WORK/personal-install.log" >&2; fail "personal spicecap install"; }
grep -q "already registered for every user ($extcap_dir/spicecap-extcap" "$WORK/personal-install.log" &&
  grep -q -- "--shadow-global" "$WORK/personal-install.log" || { cat "$WORK/personal-install.log" >&2; fail "spicecap install did not report the global registration"; }
[ ! -e "$personal_extcap/spicecap-extcap" ] || fail "spicecap install added $personal_extcap/spicecap-extcap beside the package's"
pass "spicecap install from a build: '$(grep -o 'already registered[^(]*' "$WORK/personal-install.log")...', nothing added, the override named"
# With the override: this build's extcap shadows the package's; no Lua error, same decode, listed once.
"$BUILD_DIR/tools/spicecap" install --shadow-global >"$WORK/shadow-install.log" 2>&1 || { cat "$WORK/shadow-install.log" >&2; fail "spicecap install --shadow-global"; }
[ -L "$personal_extcap/spicecap-extcap" ] || fail "spicecap install --shadow-global made no $personal_extcap/spicecap-extcap"
tshark -r "$WORK/vsock.pcapng" -T fields -e usbvsock.type >"$WORK/vsock2.types" 2>"$WORK/vsock2.err"
if grep -qi lua "$WORK/vsock2.err"; then cat "$WORK/vsock2.err" >&2; fail "Lua errors with spicecap registered twice"; fi
cmp -s "$WORK/vsock.types" "$WORK/vsock2.types" || fail "the capture decodes differently with spicecap registered twice"
[ "$(tshark -D 2>/dev/null | grep -c ' (SPICE capture)$')" -eq 1 ] || fail "SPICE capture is listed $(tshark -D 2>/dev/null | grep -c ' (SPICE capture)$') times"
"$BUILD_DIR/tools/spicecap" uninstall >/dev/null 2>&1 || fail "personal spicecap uninstall"
[ ! -e "$personal_extcap/spicecap-extcap" ] || fail "spicecap uninstall left $personal_extcap/spicecap-extcap"
[ -e "$lua_dir/usb_vsock.lua" ] || fail "spicecap uninstall removed the package's $lua_dir/usb_vsock.lua"
pass "spicecap install --shadow-global: no Lua error, same decode, SPICE capture listed once; uninstall keeps the package's files"

# ---- 5. the examples against the installed library ----
multiarch_libdir=$(dirname "$(dpkg -L libspicecap0 | grep '/libspicecap\.so\.0$')")
cp -r "$SOURCE_DIR/examples" "$WORK/examples"
(
  unset PKG_CONFIG_PATH CMAKE_PREFIX_PATH
  [ "$(readlink -f "$(pkg-config --variable=libdir spicecap)")" = "$(readlink -f "$multiarch_libdir")" ] ||
    fail "pkg-config finds spicecap in $(pkg-config --variable=libdir spicecap)"
  make -s -C "$WORK/examples" CFLAGS="-std=c99 -O2 -Wall -Wextra -Werror" >"$WORK/make.log" 2>&1 ||
    { cat "$WORK/make.log" >&2; fail "the C example does not build with pkg-config"; }
  cmake -S "$WORK/examples" -B "$WORK/examples-build" >"$WORK/cmake.log" 2>&1 &&
    cmake --build "$WORK/examples-build" >>"$WORK/cmake.log" 2>&1 ||
    { cat "$WORK/cmake.log" >&2; fail "the examples do not build with find_package(spicecap)"; }
  found=$(sed -n 's/^spicecap_DIR:PATH=//p' "$WORK/examples-build/CMakeCache.txt")
  [ "$found" = "$multiarch_libdir/cmake/spicecap" ] || fail "find_package(spicecap) used $found"
) || exit 1
used=$(ldd "$WORK/examples/c_producer" | awk '$1 == "libspicecap.so.0" {print $3}')
[ "$(readlink -f "$used")" = "$(readlink -f "$multiarch_libdir/libspicecap.so.0")" ] || fail "c_producer uses '$used'"
for exe in examples/c_producer examples/c_producer_static examples-build/c_producer_cmake \
           examples-build/cpp_producer examples-build/cpp_producer_static; do
  expected="accepted 3, delivered 3, dropped 0"
  [[ $exe == *cpp_* ]] && expected="accepted 200, delivered 200, dropped 0"
  output=$(timeout 20 "$WORK/$exe" deb-test) || fail "$exe exited with status $?"
  [[ $output == *"$expected"* ]] || fail "$exe printed: $output"
done
pass "the examples build with pkg-config and find_package from /usr alone, link $multiarch_libdir/libspicecap.so.0, and deliver everything"

# ---- stop the daemon ----
if [ -n "$USER_MANAGER_PID" ]; then
  systemctl --user disable --now spicecapd >/dev/null 2>&1 || fail "systemctl --user disable --now spicecapd"
  [ ! -e "$XDG_CONFIG_HOME/systemd/user/default.target.wants/spicecapd.service" ] || fail "disable left the symlink"
  stop_user_manager
else
  stop_daemon
fi
[ ! -e "$SPICECAP_SOCKET" ] || fail "the daemon left its socket behind"
pass "spicecapd stopped and removed its socket"

# ---- 6. purge ----
DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -q "${packages[@]}" >"$WORK/purge.log" 2>&1 ||
  { cat "$WORK/purge.log" >&2; fail "apt-get remove --purge failed"; }
INSTALLED=false
for p in "${packages[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -qv "not-installed"; then fail "$p is still known to dpkg"; fi
done
left=()
while read -r f; do
  [ "$f" = /. ] && continue
  if [ -d "$f" ] && [ ! -L "$f" ]; then
    # A directory may stay if another package owns it or it holds someone else's files.
    if [ -z "$(ls -A "$f")" ] && ! dpkg -S "$f" >/dev/null 2>&1; then left+=("$f/"); fi
  elif [ -e "$f" ] || [ -L "$f" ]; then
    left+=("$f")
  fi
done < <(cat "$WORK"/files.*)
[ ${#left[@]} -eq 0 ] || fail "left behind after purge: ${left[*]}"
ls -A "$extcap_dir" | cmp -s - "$WORK/extcap.before" || fail "$extcap_dir differs from before the install"
ls -A "$lua_dir" | cmp -s - "$WORK/lua.before" || fail "$lua_dir differs from before the install"
pass "apt-get remove --purge left no file, no empty directory, and the extcap and Lua folders as they were"
