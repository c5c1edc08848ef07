#!/bin/sh
# verify-unit.sh UNIT TFTPD [SOCKET]: check a systemd unit (and the socket
# unit that starts it) with systemd-analyze verify, its ExecStart pointed
# at the tftpd just built (verify insists the program exists). Exit 77
# (skipped) where systemd-analyze is missing.
set -eu
unit=$1 tftpd=$2 socket=${3:-}
command -v systemd-analyze >/dev/null 2>&1 || { echo "no systemd-analyze"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/local/sbin/tftpd|$tftpd|" "$unit" > "$dir/$(basename "$unit")"
[ -z "$socket" ] || cp "$socket" "$dir/"
grep -q "^ExecStart=$tftpd " "$dir/$(basename "$unit")"
# A problem in the unit makes verify exit non-zero; a warning about it
# names it. (Warnings about other units installed on the host do not
# count.)
name=$(basename "$unit")
sname=
[ -z "$socket" ] || sname=$(basename "$socket")
out=$(systemd-analyze verify "$dir/$name" ${sname:+"$dir/$sname"} 2>&1) || {
  printf '%s\n' "$out"; exit 1; }
printf '%s\n' "$out"
case $out in *"$name"*) exit 1 ;; esac
if [ -n "$sname" ]; then case $out in *"$sname"*) exit 1 ;; esac; fi
echo "$(basename "$unit"): verified"
