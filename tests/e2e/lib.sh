# Shared setup of the end-to-end tests: a private HOME, XDG folders and daemon socket per test (never the
# user's), the real spicecapd, the extcap registered with `spicecap install`, and real tshark.
#
# Tests source this file, then call the helpers. BUILD_DIR is the CMake build folder (CTest sets it).
set -euo pipefail

# As root, each test runs in a mount namespace of its own, where Wireshark's global extcap and Lua plugin
# folders are private copies (private_global_folders below): root's Wireshark 4.2 and later loads Lua
# plugins only from its global folder, so `spicecap install` as root puts the dissector there, and tests
# must neither change the machine nor see each other's files. The .deb test, which installs into the real
# global folders on purpose, sets SPICECAP_TEST_REAL_GLOBAL_FOLDERS=1 first.
if [ "$(id -u)" -eq 0 ] && [ -z "${SPICECAP_TEST_NAMESPACE:-}${SPICECAP_TEST_REAL_GLOBAL_FOLDERS:-}" ] &&
   unshare --mount true 2>/dev/null; then
  export SPICECAP_TEST_NAMESPACE=$$
  exec unshare --mount --propagation private bash "$0" "$@"
fi

: "${BUILD_DIR:?BUILD_DIR must name the build folder}"
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SPICECAPD="$BUILD_DIR/daemon/spicecapd"
SPICECAP="$BUILD_DIR/tools/spicecap"
EXTCAP="$BUILD_DIR/extcap/spicecap-extcap"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/spicecap-e2e.XXXXXX")
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" XDG_RUNTIME_DIR="$WORK/run"
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR"
chmod 0700 "$XDG_RUNTIME_DIR"
export SPICECAP_SOCKET="$XDG_RUNTIME_DIR/spicecap/spicecapd.sock"

# In the namespace above: each global folder tshark names is covered by a private copy of what it holds,
# which this test may change and which vanishes with it. A copy, not links: a link to the folder's own path
# points at itself once the copy covers that path (sshdump, Wireshark's binary plugins: "Too many levels of
# symbolic links"); the folders hold about 3 MiB.
private_global_folders() {
  local folders dir n=0
  folders=$(tshark -G folders 2>/dev/null) || return 0
  for dir in $(sed -n 's/^\(Global Extcap path\|Extcap path\|Global Lua Plugins\):[[:space:]]*//p' <<<"$folders"); do
    [ -d "$dir" ] || continue
    n=$((n + 1))
    mkdir -p "$WORK/global-$n"
    cp -a "$dir/." "$WORK/global-$n/"
    mount --bind "$WORK/global-$n" "$dir"
  done
}
if [ -n "${SPICECAP_TEST_NAMESPACE:-}" ]; then private_global_folders; fi
DAEMON_PID=""
BACKGROUND_PIDS=()

cleanup() {
  local status=$?
  for pid in "${BACKGROUND_PIDS[@]}" $DAEMON_PID; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    echo "--- test failed (exit $status); daemon log:" >&2
    cat "$WORK/spicecapd.log" >&2 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# Waits (up to $2 seconds, default 5) until the file $1 exists.
wait_for_file() {
  local deadline=$((SECONDS + ${2:-5}))
  until [ -e "$1" ]; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for $1"
    sleep 0.05
  done
}

start_daemon() {
  "$SPICECAPD" "$@" >"$WORK/spicecapd.log" 2>&1 &
  DAEMON_PID=$!
  wait_for_file "$SPICECAP_SOCKET"
}

# How many subscribers the daemon has now (0 if it does not answer).
subscriber_count() {
  "$SPICECAP" status --json 2>/dev/null |
    awk '/"subscribers": \[/{inside=1} inside && /^      "id":/{n++} inside && /^  \]/{inside=0} END{print n+0}' || true
}

# Waits (up to $2 seconds, default 15) until the daemon has at least $1 subscribers: a capture started in
# the background is live only once its extcap has subscribed, some time after tshark created its file.
wait_for_subscribers() {
  local want=$1 deadline=$((SECONDS + ${2:-15})) have
  while :; do
    have=$(subscriber_count)
    [ "$have" -ge "$want" ] && return 0
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for $want subscriber(s) (have $have)"
    sleep 0.1
  done
}

# Waits (up to $1 seconds, default 15) until the daemon has no subscriber: an earlier capture's extcap
# is gone, so that wait_for_subscribers counts only the next one.
wait_for_no_subscribers() {
  local deadline=$((SECONDS + ${1:-15})) have
  while :; do
    have=$(subscriber_count)
    [ "$have" -eq 0 ] && return 0
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for the subscribers to go (still $have)"
    sleep 0.1
  done
}

# The display filter for frames that carry a SPICE message as Wireshark's SPICE dissector decoded it: a
# link-stage message or a data message with its type. Not just `spice`: 4.4 puts a SPICE item (and
# "Spice CHANNEL" in the Protocol column) on the first segment of a message TCP is still reassembling.
SPICE_MESSAGES='spice.link_client || spice.link_server || spice.auth_select_client || spice.ticket_client || spice.ticket_server || spice.message_type'

# Counts the frames of capture file $1 that tshark decodes as SPICE messages (0 while it has none yet).
spice_message_count() {
  tshark -r "$1" -Y "$SPICE_MESSAGES" -T fields -e frame.number 2>/dev/null | grep -c . || true
}

# Waits (up to $3 seconds, default 15) until capture file $1 holds at least $2 SPICE messages: the
# extcap writes as the daemon sends, but how soon depends on the machine's load.
wait_for_spice_messages() {
  local deadline=$((SECONDS + ${3:-15}))
  until [ "$(spice_message_count "$1")" -ge "$2" ]; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for $2 SPICE messages in $1 (have $(spice_message_count "$1"))"
    sleep 0.2
  done
}

# Plays `spicecap demo --session $1 --messages $2` to its end and prints "SESSION_ID MESSAGES": the
# session number and the SPICE message count the demo reported.
demo_session() {
  local out id count
  out=$("$SPICECAP" demo --session "$1" --messages "$2" --rate 2000 2>&1) || fail "spicecap demo failed: $out"
  id=$(grep -o '(session #[0-9]*)' <<<"$out" | tr -dc '0-9')
  count=$(grep -o '[0-9]* SPICE messages' <<<"$out" | sed -n 1p | tr -dc '0-9')
  [ -n "$id" ] && [ -n "$count" ] || fail "cannot read the demo's report: $out"
  echo "$id $count"
}

stop_daemon() {
  [ -n "$DAEMON_PID" ] || return 0
  kill "$DAEMON_PID" 2>/dev/null || true
  wait "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=""
}

install_extcap() {
  "$SPICECAP" install >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; fail "spicecap install failed"; }
}

# The personal extcap folder of this tshark (where `spicecap install` puts the extcap): "Personal Extcap
# path" since 4.2 (~/.local/lib/wireshark/extcap), the configuration's extcap/ folder in 4.0 and 4.1.
personal_extcap_dir() {
  local folders dir
  folders=$(tshark -G folders 2>/dev/null)
  dir=$(sed -n 's/^Personal Extcap path:[[:space:]]*//p' <<<"$folders")
  [ -n "$dir" ] || dir=$(sed -n 's/^Personal configuration:[[:space:]]*//p' <<<"$folders")/extcap
  echo "$dir"
}

# Runs in the background and remembers the pid for cleanup; the pid is in $LAST_PID.
background() {
  "$@" &
  LAST_PID=$!
  BACKGROUND_PIDS+=("$LAST_PID")
}

# tshark with the vsock Lua dissector available (it is also installed by `spicecap install`).
tshark_read() { tshark -r "$@" 2>&1; }

# The version spicecap reports ("0.1.0").
spicecap_version() { "$SPICECAP" --version | awk '{ print $NF }'; }
