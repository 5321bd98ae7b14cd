# What the fault tests (fault_*_test.sh) need besides lib.sh: the daemon's memory and descriptors as the
# kernel reports them, and waiting for a daemon to answer. Source it instead of lib.sh.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROTOCOL_CLIENT="$SOURCE_DIR/tests/e2e/protocol_client.py"

# A field of /proc/PID/status in KiB: proc_status_kib PID VmHWM
proc_status_kib() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }

# Open file descriptors of process PID.
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# Waits (up to $1 seconds, default 10) until `spicecap status` gets an answer from a daemon. Unlike
# wait_for_file this also works when a killed daemon left its socket file behind.
wait_for_daemon() {
  local deadline=$((SECONDS + ${1:-10}))
  until "$SPICECAP" status >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "no daemon answered on $SPICECAP_SOCKET"
    sleep 0.05
  done
}

# A value from a JSON file: json_value FILE 'python expression on s' (s = the JSON object).
json_value() { python3 -c "import json, sys; s = json.load(open(sys.argv[1])); print($2)" "$1"; }

# A value from the daemon's status JSON: status_value 'python expression on s'.
status_value() {
  "$SPICECAP" status --json >"$WORK/status-value.json" || fail "spicecap status failed"
  json_value "$WORK/status-value.json" "$1"
}

# Writes the daemon's status JSON to $1 and prints how many milliseconds `spicecap status` took.
timed_status() {
  local start
  start=$(now_ms)
  "$SPICECAP" status --json >"$1" || fail "spicecap status failed"
  echo $(($(now_ms) - start))
}

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# Sleeps until now_ms reaches $1 (returns at once if it already has).
sleep_until_ms() {
  local left=$(($1 - $(now_ms)))
  [ "$left" -le 0 ] || sleep "$(awk -v ms="$left" 'BEGIN { printf "%.3f", ms / 1000 }')"
}
