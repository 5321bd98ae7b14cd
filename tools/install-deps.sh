#!/usr/bin/env bash
# Installs the Debian packages spicecap builds and tests with. Quick when they are already there.
# Usage: tools/install-deps.sh            build + test dependencies
set -euo pipefail

packages=(
  cmake g++ make pkg-config            # toolchain
  libpcap-dev nlohmann-json3-dev libasio-dev doctest-dev   # libraries
  tshark xxd procps                    # the real peer in end-to-end tests, and what the tests use
  qemu-system-x86 python3-gi gir1.2-spiceclientglib-2.0 tcpdump iproute2   # real SPICE server and client test
  openssl curl virt-viewer xvfb imagemagick   # spicecap tap tests: TLS CA, a non-SPICE program, remote-viewer on X
  clang libclang-rt-14-dev             # libFuzzer targets
  libbenchmark-dev                     # producer call cost in tests/bench
  dpkg-dev file help2man lintian systemd   # the .deb: cpack (dpkg-shlibdeps, file), manual pages, its test
  wireshark-qt xvfb xdotool x11-utils imagemagick fonts-dejavu-core   # the GUI tests (tests/gui)
  openssh-client openssh-server util-linux passwd   # remote capture tests: ssh, a test sshd, setpriv, useradd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "spicecap: all build and test dependencies are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "spicecap: missing packages: ${missing[*]}; run this as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "spicecap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
