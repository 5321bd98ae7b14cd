#!/usr/bin/env bash
# Remote capture failures as Wireshark shows them (tshark prints the extcap's stderr): each names the
# failing part in one sentence, shown once, the capture ends at once, and nothing is left on the remote host.
#   host key unknown, host key changed, authentication refused, nothing listening, no spicecap on the
#   remote PATH, no daemon on the remote socket, a login shell printing before the stream; and a
#   destination that is not one.
# The remote host here is one where spicecap is not on the PATH of SSH sessions (remote_lib.sh).
source "$(dirname "$0")/remote_lib.sh"

setup_remote_host --no-spicecap-on-path
start_remote_daemon
install_extcap
as_remote_user spicecap demo --quiet --session chatty --messages 1 || fail "the remote demo failed"
REMOTE_OPTIONS=(--remote-host "$REMOTE_DEST" --remote-identity "$CLIENT_KEY")

# capture_fails NAME PATTERN TSHARK-OPTIONS...: `tshark -i spice` with the options ends within 10 s, showing
# PATTERN (an extended regex) exactly once and no other line of the extcap's; nothing stays on the remote host.
capture_fails() {
  local name=$1 pattern=$2 started=$SECONDS out
  shift 2
  out=$(timeout 30 tshark -i spice -a duration:20 -w "$WORK/$name.pcapng" "$@" 2>&1 || true)
  [ $((SECONDS - started)) -lt 10 ] || fail "$name: tshark ran $((SECONDS - started)) s instead of stopping at the error"
  [ "$(grep -cE "$pattern" <<<"$out")" -eq 1 ] || fail "$name: tshark does not show '$pattern' exactly once: $out"
  # The sentence is the extcap's only line: one error, once.
  [ "$(grep -c "spicecap-extcap: " <<<"$out")" -le 1 ] || fail "$name: more than one line from the extcap: $out"
  wait_for_no_stray_remote_processes 5
  pass "$name: $(grep -oE "$pattern.*" <<<"$out" | head -1 | cut -c1-150)..."
}
remote=(-o "extcap.spice.remotehost:$REMOTE_DEST" -o "extcap.spice.remoteidentity:$CLIENT_KEY")
with_spicecap=(-o "extcap.spice.remotespicecap:~/bin/spicecap")

# The host key: unknown (not in known_hosts), then changed (another key recorded for the host).
: >"$SSH_DIR/known_hosts"
capture_fails "unknown host key" "ssh refused $REMOTE_DEST: its host key is not in known_hosts" "${remote[@]}" "${with_spicecap[@]}"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/other_host_key"
trust_host_key "$WORK/other_host_key.pub"
capture_fails "changed host key" "ssh refused $REMOTE_DEST: its host key has changed" "${remote[@]}" "${with_spicecap[@]}"
trust_host_key "$WORK/sshd/host_key.pub"

# Authentication: a key the remote user does not accept.
ssh-keygen -q -t ed25519 -N '' -f "$WORK/stranger_key"
capture_fails "authentication refused" "ssh could not log in to $REMOTE_DEST: authentication refused" \
  -o "extcap.spice.remotehost:$REMOTE_DEST" -o "extcap.spice.remoteidentity:$WORK/stranger_key" "${with_spicecap[@]}"

# Nothing listening at the destination's port.
closed_port=$(free_port)
capture_fails "nothing listening" "ssh cannot connect to $REMOTE_USER@127.0.0.1:$closed_port: Connection refused" \
  -o "extcap.spice.remotehost:$REMOTE_USER@127.0.0.1:$closed_port" -o "extcap.spice.remoteidentity:$CLIENT_KEY"

# The default remote program, `spicecap`, is not on this host's PATH.
capture_fails "no spicecap on the remote PATH" "$REMOTE_DEST has no spicecap on its PATH" "${remote[@]}"

# spicecap is there (Remote spicecap program), but no daemon listens on the Remote daemon socket: the remote
# spicecap stream's own sentence, naming the host.
capture_fails "no daemon on the remote socket" \
  "on $REMOTE_DEST, spicecap stream says: cannot reach spicecapd at $REMOTE_HOME/nowhere.sock" \
  "${remote[@]}" "${with_spicecap[@]}" -o "extcap.spice.remotesocket:$REMOTE_HOME/nowhere.sock"

# A login shell that prints on standard output (a ~/.bashrc with an echo before its non-interactive return,
# which bash reads for ssh commands): the stream would reach Wireshark as an unreadable file.
usermod --shell /bin/bash "$REMOTE_USER"
{ echo 'echo "Welcome to the lab"'; cat "$REMOTE_HOME/.bashrc"; } >"$WORK/bashrc"
install -o "$REMOTE_USER" -g "$REMOTE_USER" -m 0644 "$WORK/bashrc" "$REMOTE_HOME/.bashrc"
capture_fails "chatty login shell" \
  "the login on $REMOTE_DEST printed text before the capture \('Welcome to the lab'\): a shell startup file" \
  "${remote[@]}" "${with_spicecap[@]}"
# The session list still reloads: spicecap sessions' line is the last one.
list=$("$EXTCAP" --extcap-config --extcap-interface spice --extcap-reload-option session "${REMOTE_OPTIONS[@]}" \
  --remote-spicecap '~/bin/spicecap')
grep -q "{display=#[0-9]* spicecap-demo chatty" <<<"$list" || fail "the session list with a chatty login shell: $list"
pass "chatty login shell: the session list still reloads"
usermod --shell /bin/sh "$REMOTE_USER"

# A destination that is not one is refused before ssh runs.
out=$("$EXTCAP" --capture --extcap-interface spice --fifo "$WORK/bad.pcap" --remote-host "$REMOTE_USER@127.0.0.1:ssh" 2>&1 || true)
grep -q "the SSH destination '$REMOTE_USER@127.0.0.1:ssh' has a port that is not a number" <<<"$out" ||
  fail "an invalid destination was not explained: $out"
pass "invalid destination: $out"

# Reload sessions with a failing destination: only "All sessions", no error dialog (nothing on stderr).
: >"$SSH_DIR/known_hosts"
list=$("$EXTCAP" --extcap-config --extcap-interface spice --extcap-reload-option session \
  --remote-host "$REMOTE_DEST" --remote-identity "$CLIENT_KEY" 2>"$WORK/reload.err")
[ "$(grep -c '^value' <<<"$list")" -eq 1 ] && grep -q "{value=all}" <<<"$list" || fail "failed reload listed: $list"
[ ! -s "$WORK/reload.err" ] || fail "a failed reload wrote to stderr: $(cat "$WORK/reload.err")"
pass "Reload sessions with an unknown host key: only 'All sessions', nothing on stderr"
