# What the tests/compat scripts share: where the roots, caches and builds live, and the Debian mirror.
#
# Everything is under SPICECAP_COMPAT_DIR, by default build/compat/ in the source tree (a CI machine that
# keeps a folder between runs can point it there to skip making the roots).
COMPAT_DIR=${SPICECAP_COMPAT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/compat}
COMPAT_ROOTS=$COMPAT_DIR/roots    # the Debian roots, one folder per release, and their keys and logs
COMPAT_CACHE=$COMPAT_DIR/cache    # downloaded packages, kept across rebuilds of the roots
COMPAT_RUNS=$COMPAT_DIR/runs      # overlay upper layers of the running tests, removed at their end

# The Debian mirror apt uses on this machine (deb822 .sources or one-line sources.list), else Debian's.
debian_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk 'tolower($1) == "uris:" && $2 ~ /\/debian\/?$/ {print $2; exit}')
  [ -n "$uri" ] || uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" && $2 !~ /^\[/ && $2 ~ /\/debian\/?$/ {print $2; exit}')
  echo "${uri:-http://deb.debian.org/debian}"
}
