#!/usr/bin/env bash
# Installs the producer library from a build tree into a temporary prefix, then builds the examples against
# it as another project would (C with pkg-config and the Makefile, C++ with find_package and CMake), outside
# the source tree, and runs them with no daemon (each must exit 0 quickly), then with the build's spicecapd
# (everything they report must be delivered).
#
#   installed_library_test.sh BUILD_DIR SOURCE_DIR LIBDIR     (LIBDIR: CMAKE_INSTALL_LIBDIR, e.g. "lib")
set -euo pipefail
build_dir=$1 source_dir=$2 libdir=$3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build_dir" --prefix "$prefix" --component producer_runtime >/dev/null
cmake --install "$build_dir" --prefix "$prefix" --component producer_dev >/dev/null

# What is installed: the public headers (C, C++, and HeaderMode which the C++ one uses), both libraries
# with the SONAME, the package files.
headers=$(cd "$prefix/include" && find . -type f | sort | tr '\n' ' ')
[[ $headers == "./spicecap/header_mode.hpp ./spicecap/producer.h ./spicecap/producer.hpp " ]] ||
  fail "installed headers are: $headers"
for f in "$libdir/libspicecap.a" "$libdir/libspicecap.so" "$libdir/libspicecap.so.0" "$libdir/pkgconfig/spicecap.pc" \
         "$libdir/cmake/spicecap/spicecapConfig.cmake" "$libdir/cmake/spicecap/spicecapConfigVersion.cmake" \
         "$libdir/cmake/spicecap/spicecapTargets.cmake"; do
  [[ -e $prefix/$f ]] || fail "$f is not installed"
done
soname=$(objdump -p "$prefix/$libdir/libspicecap.so" | awk '$1 == "SONAME" {print $2}')
[[ $soname == libspicecap.so.0 ]] || fail "SONAME is '$soname'"
# Only the API is exported: no wire codec or JSON symbols leak from the shared library.
if nm -D --defined-only "$prefix/$libdir/libspicecap.so" | c++filt | grep -E 'FrameDecoder|append_record_frame|nlohmann'; then
  fail "internal symbols are exported"
fi

# Build the examples from a copy, so nothing of the source or build tree can be found by accident.
cp -r "$source_dir/examples" "$work/examples"
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
make -s -C "$work/examples" CFLAGS="-std=c99 -O2 -Wall -Wextra -Wpedantic -Werror"
cmake -S "$work/examples" -B "$work/examples-build" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
cmake --build "$work/examples-build" >/dev/null

# The static builds do not need libspicecap.so.
for exe in "$work/examples/c_producer_static" "$work/examples-build/cpp_producer_static"; do
  if ldd "$exe" | grep -q libspicecap; then fail "$exe depends on libspicecap.so"; fi
done
used=$(ldd "$work/examples/c_producer" | awk '$1 == "libspicecap.so.0" {print $3}')
[[ -n $used && $(readlink -f "$used") == $(readlink -f "$prefix/$libdir/libspicecap.so.0") ]] ||
  fail "c_producer uses '$used', not the installed libspicecap.so.0"

# No daemon at this socket: every example exits 0 within a second and says it is not capturing.
export SPICECAP_SOCKET=$work/no-daemon.sock
for exe in "$work/examples/c_producer" "$work/examples/c_producer_static" "$work/examples-build/cpp_producer" \
           "$work/examples-build/cpp_producer_static" "$work/examples-build/c_producer_cmake"; do
  start=$(date +%s%N)
  output=$(timeout 10 "$exe" test-label) || fail "$exe exited with status $?"
  elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  (( elapsed_ms < 1000 )) || fail "$exe took $elapsed_ms ms without a daemon"
  [[ $output == *"not capturing (cannot connect to $SPICECAP_SOCKET"* ]] || fail "$exe printed: $output"
  [[ $output == *"accepted 0, delivered 0, dropped 0"* ]] || fail "$exe printed: $output"
  echo "$(basename "$exe"): exit 0 in $elapsed_ms ms"
done

# With the real daemon (when this build has one): everything the examples report is delivered.
daemon=$build_dir/daemon/spicecapd
if [[ -x $daemon ]]; then
  "$daemon" --socket "$SPICECAP_SOCKET" >"$work/spicecapd.log" 2>&1 &
  daemon_pid=$!
  trap 'kill $daemon_pid 2>/dev/null; wait $daemon_pid 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 100); do [[ -S $SPICECAP_SOCKET ]] && break; sleep 0.05; done
  [[ -S $SPICECAP_SOCKET ]] || fail "spicecapd did not start: $(cat "$work/spicecapd.log")"
  for exe in "$work/examples/c_producer" "$work/examples/c_producer_static"; do
    output=$("$exe" with-daemon) || fail "$exe exited with status $?"
    [[ $output == *"accepted 3, delivered 3, dropped 0"* ]] || fail "$exe with a daemon printed: $output"
    echo "$(basename "$exe") with spicecapd: $output"
  done
  for exe in "$work/examples-build/cpp_producer" "$work/examples-build/cpp_producer_static"; do
    output=$("$exe" with-daemon) || fail "$exe exited with status $?"
    [[ $output == *"accepted 200, delivered 200, dropped 0"* ]] || fail "$exe with a daemon printed: $output"
    echo "$(basename "$exe") with spicecapd: $output"
  done
fi
