#!/bin/bash
# Build the Debian packages (debian/), install them, serve a file with the
# installed /usr/sbin/tftpd and fetch it with the installed /usr/bin/tftp
# (and as in.tftpd, with tftp-hpa's command line), then purge them and put
# back tftp-hpa's packages if they were there. As root, on Debian 12;
# changes the machine's packages while it runs. Exit 0 if all went well.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "debian-check: needs root" >&2; exit 1; }

work=$(mktemp -d /tmp/debian-check.XXXXXX)
had=()
for p in tftpd-hpa tftp-hpa; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && had+=("$p")
done
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq tftpd-ng tftp-ng >/dev/null 2>&1 || true
	if [ ${#had[@]} -gt 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${had[@]}" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# dpkg-buildpackage writes beside the tree: build in a copy.
mkdir "$work/src"
git ls-files -z | xargs -0 cp --parents -t "$work/src"
(cd "$work/src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 ||
	{ tail -40 "$work/build.log"; exit 1; }
lintian --allow-root --fail-on error "$work"/*.changes
echo "debian-check: built $(cd "$work" && ls ./*.deb | tr '\n' ' ')"

# Never let a package start a daemon here (CI machines have no systemd).
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	"$work"/tftpd-ng_*.deb "$work"/tftp-ng_*.deb >/dev/null
getent passwd tftp >/dev/null || { echo "no tftp user" >&2; exit 1; }
[ -L /usr/sbin/in.tftpd ] && [ -d /srv/tftp ] && [ -f /etc/default/tftpd ]

root="$work/root"
mkdir -m 0755 "$root"
head -c 100000 /dev/urandom >"$root/boot.img"
chmod 0644 "$root/boot.img"
port() { python3 -c 'import socket; s=socket.socket(2,2); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fetch() { # port name out
	for _ in $(seq 50); do
		/usr/bin/tftp get "127.0.0.1:$1" "$2" "$3" 2>/dev/null && return 0
		sleep 0.1 # until it listens
	done
	return 1
}

p1=$(port)
/usr/sbin/tftpd -r "$root" -a "127.0.0.1:$p1" & pids+=($!)
fetch "$p1" boot.img "$work/got1"
cmp "$root/boot.img" "$work/got1"

p2=$(port)
/usr/sbin/in.tftpd -L -a "127.0.0.1:$p2" -s "$root" & pids+=($!)
fetch "$p2" /boot.img "$work/got2"
cmp "$root/boot.img" "$work/got2"
echo "debian-check: installed tftpd and in.tftpd served, installed tftp fetched"

for p in "${pids[@]}"; do kill "$p"; wait "$p" || true; done
pids=()
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq tftpd-ng tftp-ng >/dev/null
[ ! -e /usr/sbin/tftpd ] && [ ! -e /usr/bin/tftp ] && [ ! -e /usr/sbin/in.tftpd ]
echo "debian-check: purged"
