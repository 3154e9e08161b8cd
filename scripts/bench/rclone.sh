# shellcheck shell=bash
# The rclone side of scripts/bench.sh: `rclone serve webdav` over a local folder, `rclone mount` of it with
# --vfs-cache-mode full and the same write-back delay as ours, and curl against the WebDAV server. Sourced.

RC_DATA="$RUN/rclone-data"
RC_MP="$RUN/mnt-rclone"

rclone_mount() {
  local mp="$1" cache="$2" i
  mkdir -p "$mp" "$cache"
  register_mount rclone "$mp"
  rclone mount :webdav: "$mp" --config /dev/null --webdav-url "$RC_URL" --webdav-vendor other \
    --vfs-cache-mode full --vfs-write-back "$WBD" --cache-dir "$cache" \
    --log-file "$RUN/rclone-mount.log" --log-level NOTICE &
  register_pid rclone-daemon $!
  for i in $(seq 300); do is_mounted "$mp" && return 0; sleep 0.1; done
  log "rclone mount did not come up; see its log:"; tail -5 "$RUN/rclone-mount.log" >&2
  return 1
}

rclone_unmount() {
  local mp="$1" pid
  pid=$(awk '$1 == "rclone-daemon" { p = $2 } END { print p }' "$RUN/pids")
  fusermount3 -u "$mp" 2>/dev/null || fusermount3 -uz "$mp"
  [ -n "$pid" ] && { wait_pid_exit "$pid" 60 || stop_pid "$pid"; }
  unregister_mount "$mp"
}

# rclone_durable REMOTEDIR MANIFEST: the WebDAV server's backing folder is the "server side" here.
rclone_durable() { python3 "$LIB/benchlib.py" wait-local "$RC_DATA" "$2" "$DURABLE_TIMEOUT"; }

side_rclone() {
  local port out
  mkdir -p "$RC_DATA"
  port=$(python3 "$LIB/benchlib.py" freeport)
  RC_URL="http://127.0.0.1:$port/"
  log "rclone: serve webdav on $RC_URL"
  rclone serve webdav "$RC_DATA" --config /dev/null --addr "127.0.0.1:$port" >"$RUN/rclone-serve.log" 2>&1 &
  register_pid rclone-server $!
  for _ in $(seq 100); do curl -s -o /dev/null "$RC_URL" && break; sleep 0.1; done

  rclone_mount "$RC_MP" "$RUN/rclone-cache1"
  workload_writes rclone "$RC_MP"
  rclone_unmount "$RC_MP"

  rclone_mount "$RC_MP" "$RUN/rclone-cache2"
  workload_reads rclone "$RC_MP"
  rclone_unmount "$RC_MP"

  rclone_mount "$RC_MP" "$RUN/rclone-cache3"
  workload_fio rclone "$RC_MP"
  rclone_unmount "$RC_MP"
  record rclone change_median n/a ms "rclone's webdav backend has no change notification: a remote change shows only after --dir-cache-time (5m by default)"

  log "rclone: raw HTTP (curl) against the WebDAV server"
  drop_caches
  read -r code down _ secs < <(curl_time "${RC_URL}big.bin")
  [ "$code" = 200 ] && [ "$down" -eq "$SIZE" ] || { log "rclone: curl GET answered $code with $down bytes"; return 1; }
  record rclone_raw read_cold "$(python3 -c "print(f'{$down/1e6/max($secs,1e-9):.3f}')")" MB/s
  cat "$SRC/up.bin" >/dev/null
  read -r code _ up secs < <(curl_time -T "$SRC/up.bin" "${RC_URL}raw-up.bin")
  [ "${code:0:1}" = 2 ] || { log "rclone: curl PUT answered $code"; return 1; }
  out=$(python3 -c "print(f'{$up/1e6/max($secs,1e-9):.3f}')")
  record rclone_raw write_close "$out" MB/s
  record rclone_raw write_durable "$out" MB/s "one PUT: it returns once the server stored the file"
  drop_caches
  read -r n secs < <(python3 "$LIB/benchlib.py" dav-list "$RC_URL" empty)
  record rclone_raw ls_cold "$(python3 -c "print(f'{$n/max($secs,1e-9):.3f}')")" entries/s "one PROPFIND depth 1"
}
