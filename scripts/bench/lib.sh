# shellcheck shell=bash
# Shared pieces of scripts/bench.sh: clock, records, cache dropping, the cleanup registry.
# Sourced, never run. Expects $RUN (the run's scratch directory) and $LIB (scripts/bench).

# Wall clock in seconds with microseconds, without forking.
now() { echo "$EPOCHREALTIME"; }

# per_s COUNT SECONDS: COUNT per second (bash has integers only; awk starts faster than python).
per_s() { awk -v c="$1" -v s="$2" 'BEGIN { if (s < 1e-9) s = 1e-9; printf "%.3f\n", c / s }'; }

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# record SYSTEM METRIC VALUE UNIT [NOTE]: one result line for report.py.
record() {
  local note="${5:-}"
  "$PY" - "$1" "$2" "$3" "$4" "$note" >>"$RUN/results.jsonl" <<'EOF'
import json, sys
system, metric, value, unit, note = sys.argv[1:6]
rec = {"system": system, "metric": metric, "value": None if value in ("", "n/a") else float(value), "unit": unit}
if note:
    rec["note"] = note
print(json.dumps(rec))
EOF
  log "$1 $2 = $3 $4${note:+ ($note)}"
}

# note TEXT: a line under the table.
note() { printf '%s\n' "$*" >>"$RUN/notes.txt"; log "note: $*"; }

# rate COUNT START END: COUNT per second between two $EPOCHREALTIME stamps.
rate() { per_s "$1" "$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.6f", b - a }')"; }

# mb_per_s BYTES SECONDS: MB/s (10^6 bytes).
mb_per_s() { per_s "$(awk -v b="$1" 'BEGIN { printf "%.6f", b / 1e6 }')" "$2"; }

# mbps BYTES START END: MB/s (10^6 bytes) between two $EPOCHREALTIME stamps.
mbps() { rate "$(awk -v b="$1" 'BEGIN { printf "%.6f", b / 1e6 }')" "$2" "$3"; }

# Durability waits run in the background from before the workload starts, so the poller is warm when it matters,
# and begin polling when the go file appears (touched right after the workload returns).
# durable_begin SYSTEM REMOTEDIR MANIFEST [CAP]; <workload>; durable_end -> the epoch time of durability in
# $DURABLE_AT and the number of durable files in $DURABLE_COUNT (less than the manifest only when CAP ran out).
durable_begin() {
  DUR_GO="$RUN/go.$BASHPID.$RANDOM"
  DUR_OUT="$DUR_GO.out"
  "${1}_durable" "$2" "$3" "$DUR_GO" "${4:-0}" >"$DUR_OUT" &
  DUR_PID=$!
  register_pid waiter "$DUR_PID"
}
durable_end() {
  touch "$DUR_GO"
  wait "$DUR_PID" || { log "the durability wait failed"; return 1; }
  read -r DURABLE_AT DURABLE_COUNT <"$DUR_OUT"
}

# curl_time ARGS...: runs curl and prints "http_code bytes_down bytes_up seconds".
curl_time() { curl -sS -o /dev/null -w '%{http_code} %{size_download} %{size_upload} %{time_total}\n' "$@"; }

# raw_read_cold CURLARGS...: an untimed GET of the file after drop_caches, then the timed one (curl_time's output)
# after drop_caches_fresh. In side-by-side rounds (scripts/bench/read-ab.sh) the first full GET after the mount's reads cost the
# server about twice the system time of every later one (1.2-1.7 s against 0.6-0.8 s per GiB) and ran at 650-840
# MB/s against 1.2-1.9 GB/s; the untimed GET keeps that one-off out of the figure the mount is compared with. (That
# was measured before drop_caches_fresh existed, and was most likely the reported pages it describes.)
raw_read_cold() {
  drop_caches
  curl -sS -o /dev/null "$@" || true
  drop_caches_fresh
  curl_time "$@"
}

# raw_small SYSTEM CURLCONFIG: the small files as one request each, in order, over one connection (curl -K).
# Each request returns once the server stored the file, so this is "until durable" for raw HTTP.
raw_small() {
  local t0 t1 ok
  cat "$SRC/small.tar" >/dev/null
  t0=$(now); curl -sS -K "$2" >"$RUN/raw-small-$1.codes" 2>>"$RUN/curl.log" || true; t1=$(now)
  ok=$(grep -c '^2' "$RUN/raw-small-$1.codes" || true)
  [ "$ok" -eq "$SMALL" ] || { log "$1: $ok of $SMALL small-file requests succeeded"; return 1; }
  record "$1" small_durable "$(rate "$SMALL" "$t0" "$t1")" files/s "one request per file, one at a time, one connection"
}

# Drops the kernel page cache (and dentries/inodes), so the next read goes to the filesystem.
drop_caches() {
  sync
  if ! echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
    if [ ! -f "$RUN/.no-drop" ]; then
      touch "$RUN/.no-drop"
      note "the page cache could not be dropped (not root?): cold figures are warmer than they should be"
    fi
  fi
}

# drop_caches_fresh: drop_caches, right after reading 3 × the file's size of a scratch file, so that the drop frees
# that much memory the next read can have; for the side-by-side read rounds. Why: this machine is a VM whose freed memory is reported to its host (virtio-balloon free page reporting; see
# /sys/module/page_reporting) within seconds, and the first touch of a reported page costs about 1.2 s of system
# time per GiB. A cold 1 GiB dd took 0.06 s of system time right after drop_caches, 0.42 s after a 6 s pause (424 MiB
# reported meanwhile), 1.6 s after 10 s; and 0.08-0.10 s after the same 10 s when 3 GiB of another file was read and
# dropped just before it. Whether a timed read got reported pages depended on how long ago memory had last been freed,
# which made curl's figure bimodal (0.7 or 1.5 GB/s) and the ratio with it. So: read 3 × the file's size of scratch
# file (room for the server's page cache plus the mount's), drop it with the rest, and the timed read gets unreported
# pages, as it would on a machine without a host in the way.
drop_caches_fresh() {
  make_fill
  cat "$RUN/fill.bin" >/dev/null
  drop_caches
}

# make_fill: drop_caches_fresh's scratch file, unless it exists. Writing 3 GiB (and the host flushing them) right
# before a timed read would slow that read: bench.sh makes it before any workload.
make_fill() {
  [ -f "$RUN/fill.bin" ] || head -c $((SIZE_MB * 3 * 1024 * 1024)) /dev/zero >"$RUN/fill.bin"
}

# Reads the server-side files under DIR once, untimed, then drops the page cache. On this machine the first read
# of a file just written costs its reader several times the CPU of every later cold read (a fresh 1 GiB blob: 0.42 s
# of system time and 0.49 s, then 0.05 s and 0.2 s), and that first read would land on whichever timed read came
# first: the mount's or curl's. After this, every timed cold read starts from the same state.
settle_server_files() {
  sync
  find "$1" -type f -size +1M -exec cat {} + >/dev/null
  drop_caches
}

# ---- cleanup registry: survives subshells because it lives in files -------------------------------
# $RUN/mounts: "kind mountpoint" (kind scaidrive, rclone or nullfs); $RUN/pids: "label pid" of daemons and servers we
# started (also read by the RSS sampler).

register_pid() { echo "$1 $2" >>"$RUN/pids"; }
register_mount() { echo "$1 $2" >>"$RUN/mounts"; }
unregister_mount() {
  [ -f "$RUN/mounts" ] || return 0
  grep -v " $1\$" "$RUN/mounts" >"$RUN/mounts.tmp" || true
  mv "$RUN/mounts.tmp" "$RUN/mounts"
}

is_mounted() { awk -v mp="$1" '$2 == mp { found = 1 } END { exit !found }' /proc/mounts; }

# Waits up to $2 seconds for pid $1 to exit.
wait_pid_exit() {
  local pid="$1" deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

# Stops one process we started, by its pid: TERM, then KILL after a grace period.
stop_pid() {
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 0
  # A pid of ours that exited long ago may have been reused: only stop what still looks like ours.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq 'rclone|scaidrive|benchlib|nullfs' || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_pid_exit "$pid" 30 || { log "pid $pid ignored SIGTERM; killing it"; kill -KILL "$pid" 2>/dev/null || true; }
}

# Unmounts every registered mount and stops every registered process. Safe to call twice.
cleanup_all() {
  local kind mp label pid
  if [ -f "$RUN/mounts" ]; then
    while read -r kind mp; do
      [ -n "$mp" ] || continue
      if is_mounted "$mp"; then
        log "cleanup: unmounting $mp"
        if [ "$kind" = scaidrive ] && [ -n "${SD_CLI:-}" ]; then
          timeout 120 $SD_CLI unmount "$mp" >/dev/null 2>&1 || true
        fi
        is_mounted "$mp" && { fusermount3 -u "$mp" 2>/dev/null || fusermount3 -uz "$mp" 2>/dev/null || true; }
      fi
    done <"$RUN/mounts"
    : >"$RUN/mounts"
  fi
  if [ -f "$RUN/pids" ]; then
    while read -r label pid; do
      [ -n "$pid" ] && stop_pid "$pid"
    done <"$RUN/pids"
  fi
}
