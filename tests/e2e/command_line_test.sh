#!/usr/bin/env bash
# Every program and every spicecap subcommand answers --help and --version (exit 0, on stdout, without
# a daemon), and a wrong option exits non-zero with a message on stderr that names the program and points
# at --help: what a person trying the tools for the first time checks.
source "$(dirname "$0")/lib.sh"

version=$("$SPICECAPD" --version | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+' | sed -n 1p)
[ -n "$version" ] || fail "spicecapd --version printed no version"

# check_program NAME COMMAND...: --help and --version of COMMAND, then a bogus option.
check_program() {
  local name=$1
  shift
  local out err status
  out=$("$@" --help 2>"$WORK/err") || fail "$name --help exited $?: $(cat "$WORK/err")"
  grep -qi 'usage' <<<"$out" || fail "$name --help printed no usage: $out"
  [ ! -s "$WORK/err" ] || fail "$name --help wrote to stderr: $(cat "$WORK/err")"
  out=$("$@" --version 2>"$WORK/err") || fail "$name --version exited $?: $(cat "$WORK/err")"
  grep -q "$version" <<<"$out" || fail "$name --version printed '$out', not version $version"
  set +e
  "$@" --no-such-option >"$WORK/out" 2>"$WORK/err"
  status=$?
  set -e
  [ "$status" -ne 0 ] || fail "$name --no-such-option exited 0"
  err=$(cat "$WORK/err")
  grep -q -- "--no-such-option" <<<"$err" || fail "$name: the error does not name the bad option: $err"
  grep -q -- "--help" <<<"$err" || fail "$name: the error does not point at --help: $err"
  pass "$name: --help, --version $version, and a clear error for a bad option"
}

check_program spicecapd "$SPICECAPD"
for command in status demo record stream sessions proxy replay send install uninstall tap; do
  check_program "spicecap $command" "$SPICECAP" "$command"
done
check_program spicecap "$SPICECAP"

# The extcap is run by Wireshark: unknown arguments are ignored (a newer Wireshark may pass new ones), so
# only --help and --version are checked; --extcap-version is Wireshark's own way of asking.
out=$("$EXTCAP" --help) || fail "spicecap-extcap --help failed"
grep -q 'spicecap install' <<<"$out" || fail "spicecap-extcap --help does not say how to register it"
out=$("$EXTCAP" --version)
grep -q "$version" <<<"$out" || fail "spicecap-extcap --version printed '$out'"
out=$("$EXTCAP" --extcap-version=4.0 --extcap-interfaces)
grep -q "^extcap {version=$version}" <<<"$out" ||
  fail "spicecap-extcap --extcap-interfaces does not announce version $version: $out"
pass "spicecap-extcap: --help, --version, --extcap-interfaces version $version"
