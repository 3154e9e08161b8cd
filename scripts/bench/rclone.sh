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
rclone_durable() { "$PY" "$LIB/benchlib.py" wait-local "$RC_DATA" "$2" "$DURABLE_TIMEOUT" "$3" "$4"; }

rclone_serve() {
  local i
  log "rclone: serve webdav on $RC_URL"
  rclone serve webdav "$RC_DATA" --config /dev/null --addr "127.0.0.1:$1" >>"$RUN/rclone-serve.log" 2>&1 &
  RC_SERVE_PID=$!
  register_pid rclone-server "$RC_SERVE_PID"
  for i in $(seq 100); do curl -s -o /dev/null "$RC_URL" && return 0; sleep 0.1; done
  log "rclone serve webdav did not come up:"; tail -5 "$RUN/rclone-serve.log" >&2
  return 1
}

side_rclone() {
  local port out code down up secs n
  mkdir -p "$RC_DATA"
  port=$("$PY" "$LIB/benchlib.py" freeport)
  RC_URL="http://127.0.0.1:$port/"
  rclone_serve "$port"

  rclone_mount "$RC_MP" "$RUN/rclone-cache1"
  workload_writes rclone "$RC_MP"
  rclone_unmount "$RC_MP"
  # When the empty-file wait was capped, the rest go straight into the backing folder so that the listing below
  # still has all of them; the uploads rclone had not done yet died with its daemon.
  local filled
  filled=$("$PY" - "$RC_DATA" "$RUN/empty.manifest" <<'PYEOF'
import os, sys
filled = 0
for line in open(sys.argv[2]):
    path = os.path.join(sys.argv[1], line.split()[0])
    if not os.path.exists(path):
        open(path, "w").close()
        filled += 1
print(filled)
PYEOF
)
  if [ "$filled" -ne 0 ]; then
    note "rclone: $filled of the $EMPTY empty files were not uploaded within the capped wait and were created directly in the WebDAV backing folder (server restarted to see them) for the listing rows"
    # The server's own directory cache would hide them for its --dir-cache-time.
    stop_pid "$RC_SERVE_PID"
    rclone_serve "$port"
  fi

  settle_server_files "$RC_DATA"
  rclone_mount "$RC_MP" "$RUN/rclone-cache2"
  workload_reads rclone "$RC_MP"
  rclone_unmount "$RC_MP"

  rclone_mount "$RC_MP" "$RUN/rclone-cache3"
  workload_fio rclone "$RC_MP"
  rclone_unmount "$RC_MP"
  record rclone change_median n/a ms "rclone's webdav backend has no change notification: a remote change shows only after --dir-cache-time (5m by default)"

  log "rclone: raw HTTP (curl) against the WebDAV server"
  read -r code down _ secs < <(raw_read_cold "${RC_URL}big.bin")
  [ "$code" = 200 ] && [ "$down" -eq "$SIZE" ] || { log "rclone: curl GET answered $code with $down bytes"; return 1; }
  record rclone_raw read_cold "$(mb_per_s "$down" "$secs")" MB/s
  cat "$SRC/up.bin" >/dev/null
  read -r code _ up secs < <(curl_time -T "$SRC/up.bin" "${RC_URL}raw-up.bin")
  [ "${code:0:1}" = 2 ] || { log "rclone: curl PUT answered $code"; return 1; }
  out=$(mb_per_s "$up" "$secs")
  record rclone_raw write_close "$out" MB/s
  record rclone_raw write_durable "$out" MB/s "one PUT: it returns once the server stored the file"
  curl -sS -o /dev/null -X MKCOL "${RC_URL}raw-small/"
  "$PY" "$LIB/benchlib.py" curl-config webdav "$RC_URL" - - "$SRC" "$SRC/small.manifest" "$RUN/raw-small-rclone.curl" -
  raw_small rclone_raw "$RUN/raw-small-rclone.curl"
  drop_caches
  read -r n secs < <("$PY" "$LIB/benchlib.py" dav-list "$RC_URL" empty)
  record rclone_raw ls_cold "$(per_s "$n" "$secs")" entries/s "one PROPFIND depth 1"
}
