#!/usr/bin/env bash
# Installs the Debian packages spicecap builds and tests with, on Debian 12 (bookworm) and 13 (trixie).
# Quick when they are already there.
#
#   tools/install-deps.sh               everything: what tests/run and the quick start need (as root)
#   tools/install-deps.sh build         only what building spicecap needs (a user building from source)
#   tools/install-deps.sh GROUP...      the groups named:
#     build     toolchain and libraries
#     tests     tshark and the tools the unit, end-to-end, fault, .deb and fuzz tests use, the benchmarks
#     peers     real SPICE peers: qemu's spice-server, spice-gtk, remote-viewer under Xvfb, tcpdump, openssl
#     gui       the Wireshark GUI tests: wireshark-qt under Xvfb, driven by xdotool
#     compat    tests/compat: debootstrap for the Debian 13 and sid roots
set -euo pipefail

declare -A groups=(
  [build]="cmake g++ make pkg-config libpcap-dev nlohmann-json3-dev libasio-dev doctest-dev"
  # tshark is the real peer; python3, xxd, procps, iproute2 what the shell tests use; dpkg-dev, file, help2man,
  # lintian and systemd the .deb (cpack, manual pages, its test); clang the libFuzzer targets (plus its
  # runtime, below); libbenchmark-dev the producer call cost in tests/bench.
  [tests]="tshark python3 xxd procps iproute2 dpkg-dev file help2man lintian systemd clang libbenchmark-dev"
  # qemu (SPICE server), spice-gtk for Python (client), remote-viewer on Xvfb, tcpdump (what the wire
  # carried), openssl (a throwaway TLS CA), curl (a program that speaks no SPICE, for the tap), imagemagick;
  # OpenSSH's server and client for the remote capture tests (an sshd of the test's own on 127.0.0.1).
  [peers]="qemu-system-x86 python3-gi gir1.2-spiceclientglib-2.0 virt-viewer xvfb tcpdump openssl curl imagemagick openssh-server openssh-client"
  [gui]="WIRESHARK_QT xvfb xdotool x11-utils imagemagick fonts-dejavu-core"
  [compat]="debootstrap"
)
order=(build tests peers gui compat)

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${order[@]}")
packages=()
for group in "${wanted[@]}"; do
  case "$group" in
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
  esac
  [ -n "${groups[$group]:-}" ] || { echo "install-deps.sh: unknown group '$group' (${order[*]})" >&2; exit 2; }
  read -ra more <<<"${groups[$group]}"
  packages+=("${more[@]}")
done

# Names that depend on the release, known once the package lists are read: the Qt GUI is wireshark-qt on
# Debian 12 and wireshark on 13; libFuzzer and the sanitizer runtimes come with the versioned clang
# (libclang-rt-14-dev on Debian 12, libclang-rt-19-dev on 13), the installed clang's, else the one
# `clang` would bring.
wireshark_qt() {
  if apt-cache show wireshark-qt >/dev/null 2>&1; then echo wireshark-qt; else echo wireshark; fi
}
clang_runtime() {
  local major=""
  if command -v clang >/dev/null; then
    major=$(clang -dumpversion | cut -d. -f1)
  else
    major=$(apt-cache depends clang 2>/dev/null | sed -n 's/^ *Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -n 1)
  fi
  [ -n "$major" ] && echo "libclang-rt-$major-dev"
}
# The package list with the release's names; fails if a name cannot be told yet.
resolved_packages() {
  local p
  for p in "${packages[@]}"; do
    case "$p" in
      WIRESHARK_QT) wireshark_qt ;;
      clang) echo clang; clang_runtime || return 1 ;;
      *) echo "$p" ;;
    esac
  done | sort -u
}
missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

if list=$(resolved_packages 2>/dev/null); then
  mapfile -t missing < <(missing_packages $list)
  if [ ${#missing[@]} -eq 0 ]; then
    echo "spicecap: every package of ${wanted[*]} is installed"
    exit 0
  fi
else
  missing=("${packages[@]}")
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "spicecap: missing packages: ${missing[*]}; run this as root (or: sudo tools/install-deps.sh ${wanted[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
list=$(resolved_packages) || { echo "spicecap: cannot tell which clang this Debian has (apt-cache depends clang)" >&2; exit 1; }
mapfile -t missing < <(missing_packages $list)
[ ${#missing[@]} -gt 0 ] || exit 0
echo "spicecap: installing ${missing[*]}"
apt-get install -y -qq --no-install-recommends "${missing[@]}"
