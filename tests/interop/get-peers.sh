#!/usr/bin/env bash
# Unpack the peer servers the interop and fault suites run against into DIR
# (default: .peers at the top of the tree), without installing them:
#   DIR/usr/sbin/atftpd   from Debian's atftpd package (apt-get download +
#                         dpkg-deb -x; it conflicts with tftpd-hpa, which
#                         .ci/run installs for in.tftpd)
# Needs the Debian package mirrors; idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-$here/.peers}
mkdir -p "$dir"
if [ -x "$dir/usr/sbin/atftpd" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # apt's download user must be able to write here
(cd "$tmp" && apt-get download -q atftpd >/dev/null)
dpkg-deb -x "$tmp"/atftpd_*.deb "$dir"
"$dir/usr/sbin/atftpd" --help >/dev/null 2>&1 || true
test -x "$dir/usr/sbin/atftpd"
echo "peers: atftpd unpacked into $dir"
