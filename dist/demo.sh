#!/usr/bin/env bash
# The first Quick start command: on a fresh Debian 12 machine, as root,
#
#   sudo bash dist/demo.sh
#
# installs what the build needs, builds, makes a small demo root with a
# sample file, prints the command that downloads it, and runs tftpd in the
# foreground on 127.0.0.1:6969 until Ctrl-C.
#
# Environment (all optional):
#   BUILD_DIR   meson build directory (default: build; reused if it exists)
#   DEMO_ROOT   the directory served (default: BUILD_DIR/demo-root; not
#               under /tmp, where as root a planted symlink could redirect
#               the writes below)
#   DEMO_ADDR   listen address (default: 127.0.0.1:6969)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
case $BUILD_DIR in
  /*) ;;
  *) BUILD_DIR=./$BUILD_DIR ;;
esac
DEMO_ROOT=${DEMO_ROOT:-$BUILD_DIR/demo-root}
DEMO_ADDR=${DEMO_ADDR:-127.0.0.1:6969}

# Only what building the two programs takes; the test suites need more
# (bash .ci/run installs everything).
PKGS=(gcc libc6-dev meson ninja-build pkg-config libevent-dev libedit-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "demo: missing ${missing[*]}; run as root (sudo bash $0) to install them" >&2
    exit 1
  fi
  echo "demo: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  meson setup "$BUILD_DIR" >/dev/null
fi
ninja -C "$BUILD_DIR" >/dev/null

# A root anyone may read: with -u or under systemd tftpd reads as an
# unprivileged user.
mkdir -p "$DEMO_ROOT"
chmod 0755 "$DEMO_ROOT"
printf 'Hello from tftpd!\n' > "$DEMO_ROOT/hello.txt"
chmod 0644 "$DEMO_ROOT/hello.txt"

cat <<EOF

Serving $DEMO_ROOT on $DEMO_ADDR (Ctrl-C stops the server).
In another terminal, download the sample with:

    $BUILD_DIR/tftp/tftp get $DEMO_ADDR hello.txt

EOF
exec "$BUILD_DIR/tftpd/tftpd" -r "$DEMO_ROOT" -a "$DEMO_ADDR" -v
