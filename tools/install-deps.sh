#!/usr/bin/env bash
# Installs the Debian packages spicecap builds and tests with, on Debian 12 (bookworm) and 13 (trixie).
# Quick when they are already there.
# Usage: tools/install-deps.sh            build + test dependencies
set -euo pipefail

packages=(
  cmake g++ make pkg-config            # toolchain
  libpcap-dev nlohmann-json3-dev libasio-dev doctest-dev   # libraries
  tshark xxd procps                    # the real peer in end-to-end tests, and what the tests use
  qemu-system-x86 python3-gi gir1.2-spiceclientglib-2.0 tcpdump iproute2   # real SPICE server and client test
  openssl curl virt-viewer xvfb imagemagick   # spicecap tap tests: TLS CA, a non-SPICE program, remote-viewer on X
  clang                                # libFuzzer targets (+ the runtime of this clang: see below)
  libbenchmark-dev                     # producer call cost in tests/bench
  dpkg-dev file help2man lintian systemd   # the .deb: cpack (dpkg-shlibdeps, file), manual pages, its test
  wireshark-qt xvfb xdotool x11-utils imagemagick fonts-dejavu-core   # the GUI tests (tests/gui)
  debootstrap                          # tests/compat: Debian 13 and sid roots (Wireshark 4.4 and 4.6)
)

# libFuzzer and the sanitizer runtimes come with the versioned clang: libclang-rt-14-dev on Debian 12,
# libclang-rt-19-dev on 13. The version is the installed clang's, else the one `clang` would bring.
clang_runtime() {
  local major=""
  if command -v clang >/dev/null; then
    major=$(clang -dumpversion | cut -d. -f1)
  else
    major=$(apt-cache depends clang 2>/dev/null | sed -n 's/^ *Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -n 1)
  fi
  [ -n "$major" ] && echo "libclang-rt-$major-dev"
}

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

runtime=$(clang_runtime || true)
mapfile -t missing < <(missing_packages "${packages[@]}" $runtime)
if [ ${#missing[@]} -eq 0 ] && [ -n "$runtime" ]; then
  echo "spicecap: all build and test dependencies are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "spicecap: missing packages: ${missing[*]}${runtime:+}${runtime:- (then libclang-rt-N-dev for clang N)};" \
       "run this as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Known only now that the package lists are read (a fresh machine has none before `apt-get update`).
runtime=$(clang_runtime) || { echo "spicecap: cannot tell which clang this Debian has (apt-cache depends clang)" >&2; exit 1; }
mapfile -t missing < <(missing_packages "${packages[@]}" "$runtime")
[ ${#missing[@]} -gt 0 ] || exit 0
echo "spicecap: installing ${missing[*]}"
apt-get install -y -qq --no-install-recommends "${missing[@]}"
