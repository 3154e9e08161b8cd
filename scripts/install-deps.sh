#!/usr/bin/env bash
# Installs the system packages ScaiDriveFS needs, when they are missing, so nothing depends on what an
# earlier session left on the machine. As root it installs; otherwise it says what is missing.
#   runtime: fuse3 (fusermount3), libfuse3-3
#   build:   libfuse3-dev and a C compiler (native/ layout probe)
#   tests:   git, sqlite3, rsync, attr (getfattr), tar, curl, fio
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in fuse3 libfuse3-3 libfuse3-dev gcc git sqlite3 rsync attr tar curl fio "$@"; do
  have_pkg "$p" || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "scaidrivefs: missing system packages: ${need[*]}" >&2
  echo "scaidrivefs: install them as root: apt-get install ${need[*]}" >&2
  exit 1
fi
echo "scaidrivefs: installing ${need[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
