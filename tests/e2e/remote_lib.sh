# What the remote capture tests (remote_*_test.sh) need besides lib.sh: a "remote host" on this machine.
#
#   - a throwaway user (unique name, created with useradd, removed at the end even on failure) with a
#     throwaway key in its authorized_keys, and the spicecap binaries copied into its home (the build folder
#     may sit where it cannot go);
#   - Debian's OpenSSH server started by the test on 127.0.0.1 at a free port, with a throwaway host key and
#     its own sshd_config (no system service is touched);
#   - the client side: the system's ssh, found first on PATH through a wrapper that adds `-F` with the
#     test's own ssh config, whose known_hosts holds the throwaway host key. The user's (root's) ~/.ssh,
#     agent and /etc/ssh/ssh_config are never read, and host keys are checked as usual (never turned off).
#
# Source it instead of lib.sh (or after tests/gui/lib.sh, which sources lib.sh; the GUI test then sets an
# EXIT trap running gui_cleanup, then remote_cleanup); needs root (useradd, sshd).
declare -F pass >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || fail "the remote capture tests need root (they create a throwaway user and run sshd)"
for tool in /usr/sbin/sshd /usr/bin/ssh ssh-keygen useradd userdel setpriv; do
  command -v "$tool" >/dev/null || fail "$tool is missing (tools/install-deps.sh installs openssh-server, openssh-client)"
done

REMOTE_USER="spicecap-e2e-$$"
REMOTE_HOME="/home/$REMOTE_USER"
REMOTE_UID=""
SSHD_PID=""
SSH_PORT=""
SSH_DIR="$WORK/ssh"        # the client side: key, known_hosts, config, the ssh wrapper
CLIENT_KEY="$SSH_DIR/id_ed25519"
REMOTE_PIDS=()             # processes started as the test user (its daemon, producers)

# Removes what the remote host setup made, then runs lib.sh's cleanup (it reads the exit status).
remote_cleanup() {
  local status=$?
  set +e
  [ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null
  for pid in "${REMOTE_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${REMOTE_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  if [ -n "$REMOTE_UID" ]; then
    # Every process of the throwaway user (its daemon, producers, anything a failed case left behind).
    pkill -KILL -U "$REMOTE_UID" 2>/dev/null
    for _ in $(seq 50); do pgrep -U "$REMOTE_UID" >/dev/null || break; sleep 0.1; done
    userdel --remove "$REMOTE_USER" 2>/dev/null
    rm -rf "/tmp/spicecap-$REMOTE_UID"
  fi
  (exit "$status")
  cleanup
}
trap remote_cleanup EXIT
# A test ended by a signal (CTest's timeout) still cleans up.
trap 'exit 143' TERM INT HUP

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Runs a command as the test user, with a clean environment like an SSH session's: `as_remote_user CMD...`.
# In the background, "${AS_REMOTE_USER[@]}" CMD... & (a function would leave a subshell between: $! is then
# not the command's pid).
AS_REMOTE_USER=()
as_remote_user() { "${AS_REMOTE_USER[@]}" "$@"; }

# What a test killed outright (CTest's timeout: SIGKILL, no EXIT trap) left behind: its sshd with its work
# folder, and its user (named after the test's pid) with that user's processes. Stale means: the test whose
# pid is in the user's name no longer runs.
sweep_stale_remote_hosts() {
  local pid args work owner name uid
  for pid in $(pgrep -x sshd || true); do
    args=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || continue
    [[ "$args" =~ -f\ (/tmp/spicecap-e2e\.[A-Za-z0-9]+)/sshd/sshd_config ]] || continue
    work=${BASH_REMATCH[1]}
    owner=$(awk '$1 == "AllowUsers" {print $2}' "$work/sshd/sshd_config" 2>/dev/null || true)
    if [ -z "$owner" ] || ! kill -0 "${owner##*-}" 2>/dev/null; then
      kill "$pid" 2>/dev/null && echo "stopped the sshd of a test that was killed ($work)" >&2
      rm -rf "$work"
    fi
  done
  for name in $(awk -F: '$1 ~ /^spicecap-e2e-[0-9]+$/ {print $1}' /etc/passwd); do
    kill -0 "${name##*-}" 2>/dev/null && continue  # its test still runs
    uid=$(id -u "$name") || continue
    pkill -KILL -U "$uid" 2>/dev/null || true
    for _ in $(seq 50); do pgrep -U "$uid" >/dev/null || break; sleep 0.1; done
    userdel --remove "$name" 2>/dev/null || true
    rm -rf "/tmp/spicecap-$uid"
    echo "removed the user of a test that was killed ($name)" >&2
  done
}

# Creates the user, the keys and the client's ssh config, copies the binaries, starts sshd.
# Options: --no-spicecap-on-path (sshd's sessions get a PATH without the user's bin folder).
setup_remote_host() {
  local spicecap_on_path=1
  [ "${1:-}" = "--no-spicecap-on-path" ] && spicecap_on_path=0
  sweep_stale_remote_hosts
  useradd --create-home --home-dir "$REMOTE_HOME" --shell /bin/sh --user-group --password '*' "$REMOTE_USER" ||
    fail "useradd $REMOTE_USER failed"
  REMOTE_UID=$(id -u "$REMOTE_USER")
  AS_REMOTE_USER=(setpriv --reuid="$REMOTE_UID" --regid="$REMOTE_UID" --init-groups --
                  env -i HOME="$REMOTE_HOME" USER="$REMOTE_USER" PATH="$REMOTE_HOME/bin:/usr/bin:/bin")

  mkdir -p "$REMOTE_HOME/bin" "$REMOTE_HOME/empty" "$REMOTE_HOME/.ssh" "$SSH_DIR/bin"
  cp "$SPICECAP" "$SPICECAPD" "$REMOTE_HOME/bin/"
  ssh-keygen -q -t ed25519 -N '' -C "spicecap e2e client" -f "$CLIENT_KEY"
  cp "$CLIENT_KEY.pub" "$REMOTE_HOME/.ssh/authorized_keys"
  chmod 0700 "$REMOTE_HOME/.ssh" && chmod 0600 "$REMOTE_HOME/.ssh/authorized_keys"
  chown -R "$REMOTE_USER:$REMOTE_USER" "$REMOTE_HOME"

  mkdir -p "$WORK/sshd" /run/sshd  # /run/sshd: sshd's privilege separation folder
  ssh-keygen -q -t ed25519 -N '' -C "spicecap e2e host" -f "$WORK/sshd/host_key"
  SSH_PORT=$(free_port)
  {
    echo "ListenAddress 127.0.0.1"
    echo "Port $SSH_PORT"
    echo "HostKey $WORK/sshd/host_key"
    echo "PidFile $WORK/sshd/sshd.pid"
    echo "AllowUsers $REMOTE_USER"
    echo "AuthorizedKeysFile .ssh/authorized_keys"
    echo "PubkeyAuthentication yes"
    echo "PasswordAuthentication no"
    echo "KbdInteractiveAuthentication no"
    echo "UsePAM no"
    echo "PermitRootLogin no"
    echo "StrictModes yes"
    echo "LogLevel VERBOSE"
    # Like a host where spicecap is installed: on the PATH of SSH sessions. Or like one where it is not: a
    # PATH without any spicecap (not even one installed on this machine by a package).
    if [ $spicecap_on_path -eq 1 ]; then
      echo "SetEnv PATH=$REMOTE_HOME/bin:/usr/bin:/bin"
    else
      echo "SetEnv PATH=$REMOTE_HOME/empty"
    fi
  } >"$WORK/sshd/sshd_config"
  /usr/sbin/sshd -D -e -f "$WORK/sshd/sshd_config" 2>"$WORK/sshd.log" &
  SSHD_PID=$!
  local deadline=$((SECONDS + 10))
  until (exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null; do
    kill -0 "$SSHD_PID" 2>/dev/null || fail "sshd did not start: $(cat "$WORK/sshd.log")"
    [ $SECONDS -lt $deadline ] || fail "sshd does not listen on 127.0.0.1:$SSH_PORT: $(cat "$WORK/sshd.log")"
    sleep 0.05
  done

  # The client: the host's key in the test's known_hosts, and ssh with the test's config first on PATH.
  trust_host_key "$WORK/sshd/host_key.pub"
  {
    echo "Host *"
    echo "  UserKnownHostsFile $SSH_DIR/known_hosts"
    echo "  GlobalKnownHostsFile $SSH_DIR/no_global_known_hosts"
    echo "  StrictHostKeyChecking yes"
    echo "  UpdateHostKeys no"
    echo "  IdentityAgent none"
  } >"$SSH_DIR/ssh_config"
  printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$SSH_DIR/ssh_config" >"$SSH_DIR/bin/ssh"
  chmod +x "$SSH_DIR/bin/ssh"
  export PATH="$SSH_DIR/bin:$PATH"
  unset SSH_AUTH_SOCK
  REMOTE_DEST="$REMOTE_USER@127.0.0.1:$SSH_PORT"
}

# Makes the test's known_hosts hold the public host key in file $1 (and nothing else) for the test sshd.
trust_host_key() { echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$1")" >"$SSH_DIR/known_hosts"; }

# Starts the test user's spicecapd on its default socket (/tmp/spicecap-UID/spicecapd.sock: an SSH session
# there has no XDG_RUNTIME_DIR), and waits until it answers.
start_remote_daemon() {
  "${AS_REMOTE_USER[@]}" "$REMOTE_HOME/bin/spicecapd" "$@" >"$WORK/remote-spicecapd.log" 2>&1 &
  REMOTE_DAEMON_PID=$!
  REMOTE_PIDS+=("$REMOTE_DAEMON_PID")
  local deadline=$((SECONDS + 10))
  until as_remote_user spicecap status >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "the test user's spicecapd does not answer: $(cat "$WORK/remote-spicecapd.log")"
    sleep 0.05
  done
}

# Runs `spicecap demo ARGS...` as the test user in the background (pid in $LAST_PID).
start_remote_demo() {
  "${AS_REMOTE_USER[@]}" spicecap demo --quiet "$@" &
  LAST_PID=$!
  REMOTE_PIDS+=("$LAST_PID")
}

# The test user's processes other than those in REMOTE_PIDS, as "pid command" lines (empty: none).
stray_remote_processes() {
  local pid known
  for pid in $(pgrep -U "$REMOTE_UID" || true); do
    known=0
    for k in "${REMOTE_PIDS[@]}"; do [ "$pid" = "$k" ] && known=1; done
    [ $known -eq 1 ] || echo "$pid $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")"
  done
}

# Waits (up to $1 seconds, default 5) until the test user has no process but its daemon and producers, and
# no sshd session is left for it; fails naming what is left.
wait_for_no_stray_remote_processes() {
  local deadline=$((SECONDS + ${1:-5})) stray
  while :; do
    stray=$(stray_remote_processes; pgrep -a -f "^sshd: $REMOTE_USER" || true)
    [ -z "$stray" ] && return 0
    [ $SECONDS -lt $deadline ] || fail "left behind on the remote host: $stray"
    sleep 0.1
  done
}
