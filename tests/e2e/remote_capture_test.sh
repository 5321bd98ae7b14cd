#!/usr/bin/env bash
# Remote capture over SSH (docs/remote.md), against a real OpenSSH server on 127.0.0.1 and a spicecapd
# running as another user (remote_lib.sh); there is no daemon on "this machine" at all:
#   - Reload sessions with the Remote options lists the remote host's sessions, of the interface's kind;
#   - `tshark -i spice` with the Remote options decodes every message of a remote demo session as SPICE;
#   - `tshark -i usbvsock` likewise decodes every USB vsock packet type (Remote socket and spicecap path set);
#   - after each Stop, nothing of the capture is left on the remote host (no spicecap stream, no sshd
#     session): only the user's daemon and producers;
#   - with the toolbar's pipes (the GUI): status and Log lines, the stream paced for the live packet list,
#     nothing on stderr, and EOF on control-in stops it;
#   - the Output format option (pcapng, pcap) reaches the remote stream;
#   - the FIFO's reader leaving mid-stream ends it with status 0; the extcap killed with SIGKILL leaves no
#     ssh here and nothing there;
#   - Wireshark's own sshdump in its custom-command mode runs `spicecap stream` as docs/remote.md says, and
#     its Stop leaves nothing behind either.
source "$(dirname "$0")/remote_lib.sh"

setup_remote_host
start_remote_daemon
install_extcap
REMOTE_SOCKET="/tmp/spicecap-$REMOTE_UID/spicecapd.sock"
REMOTE_OPTIONS=(--remote-host "$REMOTE_DEST" --remote-identity "$CLIENT_KEY")

# How many subscribers the remote daemon has.
remote_subscribers() {
  as_remote_user spicecap status --json 2>/dev/null |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)["subscribers"]))' 2>/dev/null || echo 0
}
wait_for_remote_subscriber() {
  local deadline=$((SECONDS + 15))
  until [ "$(remote_subscribers)" -ge 1 ]; do
    [ $SECONDS -lt $deadline ] || fail "no capture subscribed to the remote daemon: $(cat "$1" 2>/dev/null)"
    sleep 0.1
  done
}
# Plays a deterministic remote demo (ARGS...) to its end and prints the SPICE message count it reported.
remote_demo_messages() {
  local out
  out=$(as_remote_user spicecap demo "$@" 2>&1) || fail "the remote spicecap demo failed: $out"
  grep -o '[0-9]* SPICE messages' <<<"$out" | sed -n 1p | tr -dc '0-9'
}
# Stops tshark (pid $1) as a person does, and checks that the remote host is clean again.
stop_capture() {
  kill -INT "$1"
  wait "$1" || true
  wait_for_no_stray_remote_processes 5
}

# --- SPICE: tshark -i spice with the Remote options (the preferences the dialog saves).
pcap="$WORK/remote-spice.pcapng"
background tshark -i spice -o "extcap.spice.remotehost:$REMOTE_DEST" -o "extcap.spice.remoteidentity:$CLIENT_KEY" \
  -a duration:90 -w "$pcap" 2>"$WORK/tshark-spice.log"
tshark_pid=$LAST_PID
wait_for_remote_subscriber "$WORK/tshark-spice.log"
sent=$(remote_demo_messages --session remote-spice --messages 150 --rate 1000)
[ -n "$sent" ] && [ "$sent" -gt 100 ] || fail "the remote demo reported $sent SPICE messages"
wait_for_spice_messages "$pcap" "$sent" 20
sleep 0.5
stop_capture "$tshark_pid"
got=$(spice_message_count "$pcap")
[ "$got" -eq "$sent" ] || fail "the remote demo sent $sent SPICE messages, tshark decoded $got"
bad=$(tshark -r "$pcap" -Y '_ws.malformed || vnc' 2>/dev/null | wc -l)
[ "$bad" -eq 0 ] || fail "$bad frames of the remote capture are malformed or VNC"
for name in "Server INIT" "DRAW_COPY" "KEY_DOWN" "Client link message"; do
  tshark -r "$pcap" -Y spice -T fields -e _ws.col.Info 2>/dev/null | grep -q "$name" || fail "no '$name' in the remote capture"
done
grep -q "spicecap-extcap" "$WORK/tshark-spice.log" && fail "tshark showed an error: $(cat "$WORK/tshark-spice.log")"
pass "tshark -i spice over ssh: all $sent messages of the remote session decoded as SPICE; Stop left nothing on the remote host"

# --- The session list reloads through ssh, with the remote sessions of each interface's kind.
as_remote_user spicecap demo --quiet --vsock --session remote-vsock --messages 1 >/dev/null || fail "the remote vsock demo failed"
spice_list=$("$EXTCAP" --extcap-config --extcap-interface spice --extcap-reload-option session "${REMOTE_OPTIONS[@]}")
grep -q "{display=#[0-9]* spicecap-demo remote-spice (pid [0-9]*)}" <<<"$spice_list" ||
  fail "the SPICE session list misses the remote SPICE session: $spice_list"
grep -q "remote-vsock" <<<"$spice_list" && fail "the SPICE session list offers the USB vsock session: $spice_list"
vsock_list=$("$EXTCAP" --extcap-config --extcap-interface usbvsock --extcap-reload-option session "${REMOTE_OPTIONS[@]}")
grep -q "{display=#[0-9]* spicecap-demo remote-vsock (pid [0-9]*)}" <<<"$vsock_list" ||
  fail "the USB vsock session list misses the remote vsock session: $vsock_list"
wait_for_no_stray_remote_processes 5
pass "Reload sessions over ssh lists the remote host's sessions, each on its interface"

# --- USB vsock, with the Remote daemon socket and spicecap program set (a path with ~).
pcap="$WORK/remote-vsock.pcapng"
background tshark -i usbvsock -o "extcap.usbvsock.remotehost:$REMOTE_DEST" \
  -o "extcap.usbvsock.remoteidentity:$CLIENT_KEY" -o "extcap.usbvsock.remotesocket:$REMOTE_SOCKET" \
  -o "extcap.usbvsock.remotespicecap:~/bin/spicecap" -a duration:90 -w "$pcap" 2>"$WORK/tshark-vsock.log"
tshark_pid=$LAST_PID
wait_for_remote_subscriber "$WORK/tshark-vsock.log"
as_remote_user spicecap demo --quiet --vsock --session remote-vsock --messages 16 --rate 200 || fail "the remote vsock demo failed"
deadline=$((SECONDS + 20))
until [ "$(tshark -r "$pcap" -Y 'usbvsock.type == "F"' 2>/dev/null | wc -l)" -ge 1 ]; do
  [ $SECONDS -lt $deadline ] || fail "the remote vsock session's end never arrived: $(cat "$WORK/tshark-vsock.log")"
  sleep 0.2
done
stop_capture "$tshark_pid"
types=$(tshark -r "$pcap" -T fields -e usbvsock.type 2>/dev/null | tr ',' '\n' | grep -v '^$' | sort | uniq -c |
  awk '{printf "%s=%s ", $2, $1}')
expected="A=2 C=2 D=62 E=2 F=1 R=2 S=2 X=4 e=2 "
[ "$types" = "$expected" ] || fail "USB vsock packet types over ssh: '$types', expected '$expected'"
pass "tshark -i usbvsock over ssh: every packet type decoded ($types); Stop left nothing on the remote host"

# --- The toolbar's pipes, as the GUI passes them: status and Log lines on control-out, the remote stream paced
# for the live packet list (--live-view), nothing on stderr, and EOF on control-in (Wireshark gone) stops the
# remote capture within a second, leaving nothing on the remote host.
mkfifo "$WORK/data" "$WORK/ctl_in" "$WORK/ctl_out"
"$EXTCAP" --capture --extcap-interface spice --fifo "$WORK/data" --log-level info "${REMOTE_OPTIONS[@]}" \
  --history 600 --extcap-control-in "$WORK/ctl_in" --extcap-control-out "$WORK/ctl_out" 2>"$WORK/extcap.err" &
extcap_pid=$!
BACKGROUND_PIDS+=("$extcap_pid")
cat "$WORK/data" >"$WORK/gui.pcap" &
BACKGROUND_PIDS+=("$!")
timeout 30 cat "$WORK/ctl_out" >"$WORK/control.bin" &
control_reader=$!
exec 7>"$WORK/ctl_in"
wait_for_spice_messages "$WORK/gui.pcap" "$sent" 20
sleep 1.2  # a status tick after the history
started=$(date +%s%3N)
exec 7>&-
for _ in $(seq 20); do kill -0 "$extcap_pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$extcap_pid" 2>/dev/null && fail "the remote capture still runs 1 s after control-in closed"
wait "$extcap_pid" || fail "the remote capture ended with an error: $(cat "$WORK/extcap.err")"
took=$(($(date +%s%3N) - started))
wait "$control_reader" || true
wait_for_no_stray_remote_processes 5
[ ! -s "$WORK/extcap.err" ] || fail "a remote capture wrote to stderr: $(cat "$WORK/extcap.err")"
grep -a -q "capturing SPICE on $REMOTE_DEST over ssh: exec spicecap stream --interface spice .*--live-view" \
  "$WORK/control.bin" || fail "the Log window misses the remote command with --live-view: $(tr -c '[:print:]' . <"$WORK/control.bin")"
grep -a -q "$REMOTE_DEST: [0-9.]* [KM]iB received" "$WORK/control.bin" ||
  fail "no status text on control-out: $(tr -c '[:print:]' . <"$WORK/control.bin")"
pass "toolbar pipes: Log line with the remote command (--live-view), status '$(grep -a -o "$REMOTE_DEST: [0-9.]* [KM]iB received" "$WORK/control.bin" | tail -1)'; EOF on control-in stopped it in $took ms"

# --- The reader closes the FIFO in the middle of the stream (EPIPE): the extcap ends by itself, status 0, and
# ends the remote side.
mkfifo "$WORK/short.fifo"
"$EXTCAP" --capture --extcap-interface spice --fifo "$WORK/short.fifo" --history 600 "${REMOTE_OPTIONS[@]}" \
  2>"$WORK/short.err" &
extcap_pid=$!
BACKGROUND_PIDS+=("$extcap_pid")
head -c 100000 "$WORK/short.fifo" >/dev/null
started=$(date +%s%3N)
wait "$extcap_pid" || fail "the remote capture ended with status $? when its reader went away: $(cat "$WORK/short.err")"
took=$(($(date +%s%3N) - started))
[ "$took" -le 1000 ] || fail "the remote capture took $took ms to notice its reader was gone"
[ ! -s "$WORK/short.err" ] || fail "a reader going away is no error, yet: $(cat "$WORK/short.err")"
wait_for_no_stray_remote_processes 5
pass "the reader closed the FIFO mid-stream: the remote capture ended in $took ms, status 0, nothing left behind"

# --- The extcap killed outright (Wireshark's SIGKILL 30 s after a SIGTERM it ignored): ssh sees EOF on its
# input and ends, and so does the remote side; no orphan on either host.
"$EXTCAP" --capture --extcap-interface spice --fifo "$WORK/killed.pcap" --history 600 "${REMOTE_OPTIONS[@]}" &
extcap_pid=$!
wait_for_spice_messages "$WORK/killed.pcap" "$sent" 20
ssh_pid=$(pgrep -P "$extcap_pid" -x ssh) || fail "no ssh under the extcap"
kill -KILL "$extcap_pid"
wait "$extcap_pid" 2>/dev/null || true
deadline=$((SECONDS + 5))
while kill -0 "$ssh_pid" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || fail "ssh still runs 5 s after its extcap was killed"
  sleep 0.05
done
wait_for_no_stray_remote_processes 5
pass "the extcap killed with SIGKILL: its ssh and the remote stream ended by themselves"

# --- The Output format option reaches the remote stream, and its bytes reach the FIFO unchanged.
for format in pcapng pcap; do
  out="$WORK/format.$format"
  "$EXTCAP" --capture --extcap-interface spice --fifo "$out" --history 600 --format "$format" "${REMOTE_OPTIONS[@]}" &
  extcap_pid=$!
  wait_for_spice_messages "$out" "$sent" 20
  kill -TERM "$extcap_pid"
  wait "$extcap_pid" || fail "--format $format: the remote capture ended with status $?"
  magic=$(od -An -tx1 -N4 "$out" | tr -d ' ')
  case "$format:$magic" in
    pcapng:0a0d0d0a | pcap:4d3cb2a1 | pcap:a1b23c4d) ;;
    *) fail "--format $format over ssh: the capture begins with $magic" ;;
  esac
done
wait_for_no_stray_remote_processes 5
pass "--format pcapng and pcap: the remote stream's format arrives as chosen"

# --- Wireshark's sshdump, custom command (docs/remote.md), run by the test user against the same sshd: its
# own key and known_hosts in its home, as a person's would be.
sshdump="$(tshark -G folders 2>/dev/null | awk -F'\t' '/[Ee]xtcap path/ {print $2}' | tr ':' '\n' |
  while read -r dir; do if [ -x "$dir/sshdump" ]; then echo "$dir/sshdump"; fi; done | head -1)"
[ -n "$sshdump" ] || fail "Wireshark's sshdump is missing (Debian's wireshark-common installs it)"
cp "$CLIENT_KEY" "$REMOTE_HOME/.ssh/id_ed25519"
cp "$SSH_DIR/known_hosts" "$REMOTE_HOME/.ssh/known_hosts"
chown "$REMOTE_USER:$REMOTE_USER" "$REMOTE_HOME/.ssh/id_ed25519" "$REMOTE_HOME/.ssh/known_hosts"
"${AS_REMOTE_USER[@]}" "$sshdump" --extcap-interface sshdump --capture --fifo "$REMOTE_HOME/sshdump.pcap" \
  --remote-host 127.0.0.1 --remote-port "$SSH_PORT" --remote-username "$REMOTE_USER" \
  --sshkey "$REMOTE_HOME/.ssh/id_ed25519" --remote-capture-command-select other \
  --remote-capture-command 'spicecap stream --interface spice --history 600' 2>"$WORK/sshdump.log" &
sshdump_pid=$!
wait_for_spice_messages "$REMOTE_HOME/sshdump.pcap" "$sent" 20
kill -TERM "$sshdump_pid"
wait "$sshdump_pid" || true
wait_for_no_stray_remote_processes 5
got=$(spice_message_count "$REMOTE_HOME/sshdump.pcap")
[ "$got" -eq "$sent" ] || fail "sshdump's capture (600 s of history) has $got SPICE messages, the demo sent $sent"
pass "sshdump --remote-capture-command 'spicecap stream ...': the session's $sent messages decode as SPICE; its Stop left nothing behind"
