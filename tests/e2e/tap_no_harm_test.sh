#!/usr/bin/env bash
# `spicecap tap` must not change anything a program does:
#   - the library exports the interposed calls and nothing else (nm -D);
#   - exec: the same pid, the program's exit status and its death by a signal; LD_PRELOAD keeps what was in
#     it; a missing program is a clear error (127, as in a shell);
#   - a program that speaks no SPICE (curl over HTTP and over HTTPS, i.e. through the tap's OpenSSL
#     wrappers) gets byte-identical results with and without the tap, and reports nothing: no producer, no
#     session in the daemon;
#   - a tapped SPICE client whose daemon is stopped (SIGSTOP: it accepts connections but never answers)
#     still finishes its session normally and in its usual time.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/spice_peers.sh"
require_tap_peers
command -v curl >/dev/null || fail "curl is missing (tools/install-deps.sh installs it)"
start_daemon --verbose

# --- no symbol of the program is disturbed: the library defines only the interposed calls -------------------
exported=$(nm -D --defined-only "$BUILD_DIR/tools/tap/libspicecap-tap.so" | awk '{print $3}' | sort | tr '\n' ' ')
expected="SSL_free SSL_read SSL_read_ex SSL_write SSL_write_ex accept accept4 close close_range dup dup2 dup3 read readv recv recvfrom recvmsg send sendmsg sendto socket socketpair write writev "
[ "$exported" = "$expected" ] || fail "libspicecap-tap.so exports '$exported', not only the interposed calls"
pass "libspicecap-tap.so exports the 24 interposed calls and nothing else"

# --- exec: pid, exit status, signals, LD_PRELOAD ------------------------------------------------------------
"$SPICECAP" tap -- sh -c 'echo $$ >"$1"; exit 7' sh "$WORK/pid" &
tap_pid=$!
status=0
wait "$tap_pid" || status=$?
[ "$status" -eq 7 ] || fail "spicecap tap -- sh -c 'exit 7' exited $status"
[ "$(cat "$WORK/pid")" = "$tap_pid" ] || fail "the program ran as pid $(cat "$WORK/pid"), not as spicecap tap's $tap_pid"
status=0
"$SPICECAP" tap -- sh -c 'kill -TERM $$' || status=$?
[ "$status" -eq 143 ] || fail "a program killed by SIGTERM under spicecap tap gave status $status, not 143"
other=$(ldconfig -p | grep -o '/[^ ]*/libz\.so\.1$' | head -n 1)
[ -n "$other" ] || fail "no libz.so.1 to preload beside the tap"
preload=$(LD_PRELOAD="$other" "$SPICECAP" tap -- sh -c 'echo "$LD_PRELOAD"')
[ "$preload" = "$(realpath "$BUILD_DIR/tools/tap/libspicecap-tap.so"):$other" ] || fail "LD_PRELOAD under the tap is '$preload'"
status=0
"$SPICECAP" tap -- /nonexistent/program 2>"$WORK/missing.err" || status=$?
[ "$status" -eq 127 ] && grep -q "cannot run /nonexistent/program" "$WORK/missing.err" \
  || fail "a missing program gave status $status: $(cat "$WORK/missing.err")"
pass "exec: same pid, exit status 7, SIGTERM as 143, LD_PRELOAD prepended ($preload), missing program 127"

# --- curl over HTTP and HTTPS, with and without the tap --------------------------------------------------------
make_test_ca "$WORK/pki"
mkdir -p "$WORK/www"
head -c 3000000 /dev/urandom >"$WORK/www/blob"
printf 'REDQ is how SPICE starts, but this is HTTP\n' >"$WORK/www/redq.txt"
HTTP_PORT=$(free_port)
HTTPS_PORT=$(free_port)
cat >"$WORK/https.py" <<'PY'
import functools, http.server, ssl, sys
port, root, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
PY
background "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$HTTP_PORT" >"$WORK/http.log" 2>&1
wait_for_listener "$HTTP_PORT" 10 "$LAST_PID" || fail "the HTTP server did not start: $(cat "$WORK/http.log")"
background "$PYTHON" "$WORK/https.py" "$HTTPS_PORT" "$WORK/www" "$WORK/pki/server-cert.pem" "$WORK/pki/server-key.pem" >"$WORK/https.log" 2>&1
wait_for_listener "$HTTPS_PORT" 10 "$LAST_PID" || fail "the HTTPS server did not start: $(cat "$WORK/https.log")"

fetch() {  # fetch NAME URL [curl options]: NAME.body, NAME.meta (exit status, HTTP code, size)
  local name=$1 url=$2 status=0
  shift 2
  ${TAP:-} curl -sS --noproxy '*' "$@" -o "$WORK/$name.body" -w '%{http_code} %{size_download}' "$url" >"$WORK/$name.meta" 2>"$WORK/$name.err" || status=$?
  echo " exit $status" >>"$WORK/$name.meta"
}
for url in "http://127.0.0.1:$HTTP_PORT/blob" "http://127.0.0.1:$HTTP_PORT/redq.txt" \
           "https://127.0.0.1:$HTTPS_PORT/blob" "https://127.0.0.1:$HTTPS_PORT/redq.txt"; do
  fetch plain "$url" --cacert "$WORK/pki/ca-cert.pem"
  TAP="$SPICECAP tap --" fetch tapped "$url" --cacert "$WORK/pki/ca-cert.pem"
  grep -q '^200 [0-9]* exit 0$' "$WORK/plain.meta" || fail "curl $url failed without the tap: $(cat "$WORK/plain.meta" "$WORK/plain.err")"
  cmp -s "$WORK/plain.meta" "$WORK/tapped.meta" || fail "curl $url: '$(cat "$WORK/plain.meta")' untapped, '$(cat "$WORK/tapped.meta")' tapped"
  cmp -s "$WORK/plain.body" "$WORK/tapped.body" || fail "curl $url received different bytes under the tap"
  if grep -q . "$WORK/tapped.err"; then fail "curl $url under the tap wrote to stderr: $(cat "$WORK/tapped.err")"; fi
done
"$SPICECAP" status --json >"$WORK/status.json"
"$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(d["sessions"] or d["producers"])' "$WORK/status.json" \
  || fail "curl under the tap reported something: $(cat "$WORK/status.json")"
if grep -q "producer #" "$WORK/spicecapd.log"; then fail "curl under the tap connected a producer: $(grep 'producer #' "$WORK/spicecapd.log")"; fi
pass "curl over HTTP and HTTPS: identical bytes, HTTP codes and exit status with and without the tap; nothing reported"

# --- a stopped daemon -------------------------------------------------------------------------------------------
SERVER_PORT=$(free_port)
start_qemu "port=$SERVER_PORT,addr=127.0.0.1,disable-ticketing=on" "$WORK/qemu.log" "$SERVER_PORT"
kill -STOP "$DAEMON_PID"
started=$SECONDS
"$SPICECAP" tap -- "$PYTHON" "$CLIENT" 127.0.0.1 "$SERVER_PORT" "$CLIENT_SECONDS" >"$WORK/client.out" 2>"$WORK/client.err" \
  || { kill -CONT "$DAEMON_PID"; fail "the tapped client failed while the daemon was stopped: $(cat "$WORK/client.out"; grep -v CRITICAL "$WORK/client.err" | head)"; }
took=$((SECONDS - started))
kill -CONT "$DAEMON_PID"
grep -q "^channels opened:.*usbredir:0" "$WORK/client.out" || fail "the client did not open every channel: $(cat "$WORK/client.out")"
[ "$took" -le $((CLIENT_SECONDS + 4)) ] || fail "a ${CLIENT_SECONDS} s session took ${took} s under the tap with a stopped daemon"
if grep -q "spicecap-tap" "$WORK/client.err"; then fail "the tap complained: $(grep spicecap-tap "$WORK/client.err")"; fi
"$SPICECAP" status >/dev/null || fail "the daemon does not answer after SIGCONT"
pass "with the daemon stopped the tapped client finished its ${CLIENT_SECONDS} s session normally in ${took} s"
