#!/bin/sh
# verify-unit.sh UNIT TFTPD: check a systemd unit with systemd-analyze
# verify, its ExecStart pointed at the tftpd just built (verify insists the
# program exists). Exit 77 (skipped) where systemd-analyze is missing.
set -eu
unit=$1 tftpd=$2
command -v systemd-analyze >/dev/null 2>&1 || { echo "no systemd-analyze"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/local/sbin/tftpd|$tftpd|" "$unit" > "$dir/$(basename "$unit")"
grep -q "^ExecStart=$tftpd " "$dir/$(basename "$unit")"
# A problem in the unit makes verify exit non-zero; a warning about it
# names it. (Warnings about other units installed on the host do not
# count.)
name=$(basename "$unit")
out=$(systemd-analyze verify "$dir/$name" 2>&1) || {
  printf '%s\n' "$out"; exit 1; }
printf '%s\n' "$out"
case $out in *"$name"*) exit 1 ;; esac
echo "$(basename "$unit"): verified"
