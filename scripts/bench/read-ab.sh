#!/usr/bin/env bash
# Side-by-side rounds of the cold sequential read: `dd` through a fresh mount, then curl's GET of the same file from
# the same server, alternating, with the CPU each process spent; each timed read starts from lib.sh's
# drop_caches_fresh. Finer than bench.sh's single pair of reads when a change to the read path needs a verdict on
# this noisy machine.
#
#   scripts/bench/read-ab.sh                 # 5 rounds, 1 GiB
#   ROUNDS=3 SIZE_MB=512 EXTRA=--direct-io scripts/bench/read-ab.sh
#   WARM_MB=32 scripts/bench/read-ab.sh      # each fresh mount first reads another 32 MiB file (JIT warmed up)
#   SPLIT=1 scripts/bench/read-ab.sh         # also the server's user and system ticks around each curl GET
#   CLI_DLL=/tmp/other/scaidrivefs.dll scripts/bench/read-ab.sh   # another build of the CLI (server and daemon)
#   DAEMONS="/tmp/a/scaidrivefs.dll /tmp/b/scaidrivefs.dll" scripts/bench/read-ab.sh
#                                            # each round mounts with each of these builds in turn (same server);
#                                            # a path without .dll is run as an executable (a self-contained build)
#   DAEMONS="$dll $dll" MOUNT_ENVS="- DOTNET_X=1+DOTNET_Y=0" scripts/bench/read-ab.sh
#                                            # the same, with environment variables for the second mount ("-": none)
#   DAEMONS="$dll $dll" MOUNT_ARGS="- --streamed-reads-from+off" scripts/bench/read-ab.sh
#                                            # the same, with extra mount arguments for the second mount ("+": space)
#
# Needs root (mounts, drop_caches). Builds the CLI with scripts/build-cli.sh unless CLI_DLL names one.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
CLI_DLL=${CLI_DLL:-$(bash "$root/scripts/build-cli.sh")} # the ReadyToRun build people run, unless told otherwise
CLI="dotnet $CLI_DLL"
PY=python3
LIB=$root/scripts/bench
ROUNDS=${ROUNDS:-5}
SIZE_MB=${SIZE_MB:-1024}
EXTRA=${EXTRA:-}
WARM_MB=${WARM_MB:-0}
RUN=$(mktemp -d /tmp/sdfs-read-ab.XXXXXX)
MP=$RUN/mnt
server=""

cleanup() {
  if mountpoint -q "$MP" 2>/dev/null; then $CLI unmount "$MP" >/dev/null 2>&1 || fusermount3 -uz "$MP" || true; fi
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$RUN"
}
trap cleanup EXIT

# shellcheck source=lib.sh
source "$LIB/lib.sh" # drop_caches, drop_caches_fresh, settle_server_files
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
split_ticks() { awk '{print "user " $14 " sys " $15}' "/proc/$1/stat"; }

port=$($PY "$LIB/benchlib.py" freeport)
$CLI serve --data "$RUN/data" --listen "127.0.0.1:$port" >"$RUN/serve.log" 2>&1 &
server=$!
for _ in $(seq 300); do grep -q 'listening on' "$RUN/serve.log" && break; sleep 0.1; done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$RUN/serve.log" | head -1); url=${url%/}
tokfile=$(sed -n 's/^token file: *//p' "$RUN/serve.log" | head -1)
(umask 077; printf 'Authorization: Bearer %s\n' "$(sed '1s/^\xEF\xBB\xBF//' "$tokfile")" >"$RUN/auth.hdr")
share=$($PY "$LIB/benchlib.py" sd-share "$url" "$tokfile")
# upload NAME MIB: a file of random bytes, one multipart POST.
upload() {
  head -c $(($2 * 1024 * 1024)) /dev/urandom >"$RUN/$1"
  curl -sS -o /dev/null -H @"$RUN/auth.hdr" -F "share_id=$share" -F "name=$1" \
    -F "file=@$RUN/$1;type=application/octet-stream" "$url/api/v1/files"
  rm "$RUN/$1"
}
upload big.bin "$SIZE_MB"
if [ "$WARM_MB" -gt 0 ]; then upload warm.bin "$WARM_MB"; fi
id=$($PY "$LIB/benchlib.py" sd-find "$url" "$tokfile" "$share" /big.bin | $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')
settle_server_files "$RUN/data/blobs"
mkdir -p "$MP"
make_fill # drop_caches_fresh's scratch file, made before the rounds
# The server's first full GET costs it far more than later ones (bench.sh's raw_read_cold): make it here, untimed.
curl -sS -o /dev/null -H @"$RUN/auth.hdr" "$url/api/v1/files/$id/content"
read -r -a daemons <<<"${DAEMONS:-$CLI_DLL}"
read -r -a mount_envs <<<"${MOUNT_ENVS:-}"
read -r -a mount_args <<<"${MOUNT_ARGS:-}"
read -r -a ra_kbs <<<"${RA_KBS:-}" # per daemon: the kernel's read-ahead for the mount, in KiB ("-": the daemon's own)
labels=(A B C D E F)

printf '%-5s %10s %10s %7s | %12s %12s %10s | %12s %10s\n' round "mount MB/s" "curl MB/s" ratio "daemon s" "server s" "dd sys s" "server s" "curl s"
for i in $(seq "$ROUNDS"); do
for d in "${!daemons[@]}"; do
  rm -rf "$RUN/cache"
  MCLI="dotnet ${daemons[$d]}"
  case "${daemons[$d]}" in *.dll) ;; *) MCLI="${daemons[$d]}" ;; esac # an apphost (self-contained build)
  menv=${mount_envs[$d]:--}
  [ "$menv" != - ] && MCLI="env ${menv//+/ } $MCLI"
  # shellcheck disable=SC2086
  margs=${mount_args[$d]:--}; [ "$margs" = - ] && margs=""
  $MCLI mount "$MP" --url "$url" --token-file "$tokfile" --share "$share" --cache-dir "$RUN/cache" $EXTRA ${margs//+/ } >>"$RUN/mount.log" 2>&1
  stat "$MP/big.bin" >/dev/null
  ra=${ra_kbs[$d]:--}
  if [ "$ra" != - ]; then
    dev=$(mountpoint -d "$MP"); echo "$ra" >"/sys/class/bdi/$dev/read_ahead_kb"
  fi
  if [ "$WARM_MB" -gt 0 ]; then cat "$MP/warm.bin" >/dev/null; fi
  daemon=$($CLI status "$MP" --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
  drop_caches_fresh
  d0=$(cpu_ticks "$daemon"); s0=$(cpu_ticks "$server")
  t0=$(date +%s.%N)
  /usr/bin/time -f '%S' -o "$RUN/dd.time" dd if="$MP/big.bin" of=/dev/null bs=1M status=none
  t1=$(date +%s.%N)
  d1=$(cpu_ticks "$daemon"); s1=$(cpu_ticks "$server")
  $MCLI unmount "$MP" >>"$RUN/mount.log" 2>&1
  # A streamed run that ended early (the read went on through block read-ahead) explains a slow round.
  grep -h "Streamed run.*ended\|not spliced\|Streamed reads are off" "$RUN/cache/logs/"*.log 2>/dev/null | sed 's/^/  daemon: /' || true
  drop_caches_fresh
  s2=$(cpu_ticks "$server")
  [ -n "${SPLIT:-}" ] && echo "server before curl: $(split_ticks "$server")"
  read -r bytes secs < <(/usr/bin/time -f '%U %S' -o "$RUN/curl.time" curl -sS -o /dev/null -w '%{size_download} %{time_total}\n' \
    -H @"$RUN/auth.hdr" "$url/api/v1/files/$id/content")
  s3=$(cpu_ticks "$server")
  [ -n "${SPLIT:-}" ] && echo "server after curl:  $(split_ticks "$server")"
  mount=$(echo "$SIZE_MB * 1.048576 / ($t1 - $t0)" | bc -l)
  http=$(echo "$bytes / 1000000 / $secs" | bc -l)
  hz=$(getconf CLK_TCK)
  label=$i; [ "${#daemons[@]}" -gt 1 ] && label="$i${labels[$d]}"
  printf '%-5s %10.0f %10.0f %7.3f | %12.2f %12.2f %10s | %12.2f %10s\n' "$label" "$mount" "$http" "$(echo "$mount / $http" | bc -l)" \
    "$(echo "($d1 - $d0) / $hz" | bc -l)" "$(echo "($s1 - $s0) / $hz" | bc -l)" "$(cat "$RUN/dd.time")" \
    "$(echo "($s3 - $s2) / $hz" | bc -l)" "$(awk '{print $1 + $2}' "$RUN/curl.time")"
done
done
