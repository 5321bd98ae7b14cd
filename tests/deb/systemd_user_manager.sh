# A private systemd user manager for tests, on a machine that was not booted with systemd (a container, CI):
# the real /lib/systemd/systemd --user, so that `systemctl --user` runs the installed unit as it would on a
# desktop. It is kept from touching the machine: its own mount namespace (where /run/systemd/system exists,
# the mark of a systemd-booted machine it insists on), its own cgroup in every hierarchy (without one it
# would move every process of the root cgroup into its init.scope), and HOME, XDG_CONFIG_HOME and
# XDG_RUNTIME_DIR of the caller (so `systemctl --user enable` writes there, not into ~root).
#
# Source it, then: user_manager_possible && start_user_manager; ...; stop_user_manager (idempotent).
USER_MANAGER_PID=""
USER_MANAGER_CGROUP="spicecap-test-$$"

# systemctl, in the manager's mount namespace while it runs: systemd 257 (Debian 13) and later act on
# `systemctl --user enable --now` only where /run/systemd/system exists, which is only there.
systemctl() {
  if [ -n "$USER_MANAGER_PID" ] && command -v nsenter >/dev/null; then
    nsenter --mount --target "$USER_MANAGER_PID" systemctl "$@"
  else
    command systemctl "$@"
  fi
}

# True when a private manager can run here: root, no systemd booted, unshare and the manager present.
user_manager_possible() {
  [ "$(id -u)" -eq 0 ] && [ ! -d /run/systemd/system ] &&
    command -v unshare >/dev/null && [ -x /lib/systemd/systemd ] && command -v systemctl >/dev/null
}

# Mount points of the cgroup hierarchies (v1 controllers, named v1, and v2).
cgroup_mounts() { awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts; }

# Starts the manager; $1 is its log file. Needs XDG_RUNTIME_DIR (0700), HOME and XDG_CONFIG_HOME exported.
start_user_manager() {
  local log=$1 mounts
  mounts=$(cgroup_mounts | tr '\n' ' ')
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" XDG_CONFIG_HOME="$XDG_CONFIG_HOME" \
      XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" CGROUP_NAME="$USER_MANAGER_CGROUP" CGROUP_MOUNTS="$mounts" \
    unshare -m --propagation private sh -ec '
      if [ -d /run/systemd ]; then
        mount -t tmpfs -o size=1M,mode=0755 tmpfs /run/systemd
      else
        mount -t tmpfs -o size=1M,mode=0755 tmpfs /run  # (in this namespace only)
      fi
      mkdir -p /run/systemd/system
      for m in $CGROUP_MOUNTS; do
        mkdir -p "$m/$CGROUP_NAME"
        if [ -f "$m/cpuset.cpus" ]; then
          cat "$m/cpuset.cpus" >"$m/$CGROUP_NAME/cpuset.cpus"
          cat "$m/cpuset.mems" >"$m/$CGROUP_NAME/cpuset.mems"
        fi
        echo $$ >"$m/$CGROUP_NAME/cgroup.procs"
      done
      exec /lib/systemd/systemd --user' >"$log" 2>&1 &
  USER_MANAGER_PID=$!
  local deadline=$((SECONDS + 10))
  until systemctl --user show-environment >/dev/null 2>&1; do
    if ! kill -0 "$USER_MANAGER_PID" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "the private systemd user manager did not start:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
}

# Stops the manager (and so every unit it runs), then removes the cgroups it left behind.
stop_user_manager() {
  if [ -n "$USER_MANAGER_PID" ]; then
    systemctl --user exit >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 10))
    while kill -0 "$USER_MANAGER_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -KILL "$USER_MANAGER_PID" 2>/dev/null || true
    wait "$USER_MANAGER_PID" 2>/dev/null || true
    USER_MANAGER_PID=""
  fi
  local m
  for m in $(cgroup_mounts); do
    [ -d "$m/$USER_MANAGER_CGROUP" ] || continue
    # Whatever still runs in the manager's cgroup was started by it (only if it had to be killed).
    local pids
    pids=$(find "$m/$USER_MANAGER_CGROUP" -name cgroup.procs -exec cat {} + 2>/dev/null)
    if [ -n "$pids" ]; then kill -KILL $pids 2>/dev/null; sleep 0.5; fi
    find "$m/$USER_MANAGER_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  return 0
}
