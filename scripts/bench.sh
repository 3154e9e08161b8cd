#!/usr/bin/env bash
# ScaiDriveFS benchmark suite (issue 7): the same workloads on a ScaiDriveFS mount of the local server, on an rclone
# mount (--vfs-cache-mode full) of `rclone serve webdav`, and with curl against each server as the raw-HTTP ceiling.
# Prints a markdown table and writes bench-results/<date>.json|.md and bench-results/latest.json|.md.
# See docs/BENCHMARKS.md for what each row measures.
#
#   scripts/bench.sh                 # full run (1 GiB files, 2,000 small files, 10,000 empty files); meant to take < 15 min
#   scripts/bench.sh --quick         # 64 MiB files and smaller counts: for development
#   scripts/bench.sh --only rclone   # one side only (scaidrive | rclone); --no-client skips the client-library rows
#   scripts/bench.sh --update-docs   # also puts the table into docs/BENCHMARKS.md ("Latest table")
#
# Environment (defaults in brackets; --quick changes them): BENCH_SIZE_MB [1024|64], BENCH_SMALL_FILES [2000|500],
# BENCH_EMPTY_FILES [10000|2000], BENCH_FIO_SECONDS [20|5], BENCH_CHANGES [100|20], BENCH_WRITE_BACK_DELAY [1s],
# BENCH_READ_ROUNDS [5|2] (side-by-side rounds of cold mount read and curl GET),
# BENCH_RCLONE_EMPTY_CAP [60] (seconds to wait for rclone's empty files to upload; 0 = wait for all),
# BENCH_TMP [/tmp] (scratch space on a real disk, not tmpfs), BENCH_KEEP=1 keeps the scratch directory.
# Needs root (FUSE mounts, dropping the page cache); installs rclone, fio, python3 and curl when missing.
# The whole script is one { ... } block, so bash parses all of it before running: editing this file while a run
# is going on cannot derail that run.
{
set -euo pipefail
shopt -s inherit_errexit
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
LIB="$root/scripts/bench"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

quick=0 only="" client=1 docs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --only) only="$2"; shift ;;
    --no-client) client=0 ;;
    --update-docs) docs="$root/docs/BENCHMARKS.md" ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$only" in ""|scaidrive|rclone) ;; *) echo "bench.sh: --only takes scaidrive or rclone" >&2; exit 2 ;; esac
if [ "$quick" = 1 ]; then
  : "${BENCH_SIZE_MB:=64}" "${BENCH_SMALL_FILES:=500}" "${BENCH_EMPTY_FILES:=2000}" "${BENCH_FIO_SECONDS:=5}" "${BENCH_CHANGES:=20}"
  : "${BENCH_READ_ROUNDS:=2}"
fi
SIZE_MB="${BENCH_SIZE_MB:-1024}"
SMALL="${BENCH_SMALL_FILES:-2000}"
EMPTY="${BENCH_EMPTY_FILES:-10000}"
FIO_S="${BENCH_FIO_SECONDS:-20}"
CHANGES="${BENCH_CHANGES:-100}"
READ_ROUNDS="${BENCH_READ_ROUNDS:-5}"
WBD="${BENCH_WRITE_BACK_DELAY:-1s}"
RCLONE_EMPTY_CAP="${BENCH_RCLONE_EMPTY_CAP:-60}"
SIZE=$((SIZE_MB * 1024 * 1024))
# pyenv's shim costs seconds per start on a busy machine; the system python has everything benchlib needs.
PY="$(command -v /usr/bin/python3 || command -v python3)"
export PY
# Generous limits: a stuck step fails the step, never hangs the run.
DURABLE_TIMEOUT=$((120 + SIZE_MB / 4 + EMPTY / 10 + SMALL / 10))

# ---- dependencies -------------------------------------------------------------------------------------
need=()
for tool in rclone:rclone fio:fio python3:python3 curl:curl fusermount3:fuse3; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "bench.sh: missing ${need[*]}; run as root or install them" >&2; exit 1; }
  echo "bench.sh: installing ${need[*]} ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -e /dev/fuse ] || { echo "bench.sh: /dev/fuse is missing: no FUSE on this machine" >&2; exit 1; }

RUN="$(mktemp -d "${BENCH_TMP:-/tmp}/scaidrive-bench.XXXXXX")"
export RUN LIB
# shellcheck source=bench/lib.sh
source "$LIB/lib.sh"
: >"$RUN/results.jsonl"; : >"$RUN/notes.txt"; : >"$RUN/pids"; : >"$RUN/mounts"

sampler_pid=""
finish() {
  local rc=$?
  trap - EXIT INT TERM
  cleanup_all
  [ -n "$sampler_pid" ] && { kill -TERM "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; }
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "scratch kept in $RUN"; else rm -rf "$RUN"; fi
  exit "$rc"
}
trap finish EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---- build ---------------------------------------------------------------------------------------------
# The CLI as people run it (scripts/scaidrivefs): the ReadyToRun build in .build/cli, for the server and the daemon.
SD_CLI_DLL="$root/.build/cli/scaidrivefs.dll"
TOOL_DLL="$root/tools/ScaiDrive.Bench/bin/Release/net10.0/scaidrive-bench.dll"
if [ "$only" != rclone ]; then
  log "building the CLI and the bench tool (no-op when up to date)"
  bash "$root/scripts/install-deps.sh" >&2
  SD_CLI_DLL="$(bash "$root/scripts/build-cli.sh")"
  dotnet build "$root/tools/ScaiDrive.Bench/ScaiDrive.Bench.csproj" -c Release -nologo -v q -clp:ErrorsOnly >&2
fi
SD_CLI="dotnet $SD_CLI_DLL"
TOOL="dotnet $TOOL_DLL"
export SD_CLI BENCH_SD_CLI="$SD_CLI"

# ---- run metadata --------------------------------------------------------------------------------------
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
"$PY" - "$RUN/meta.json" "$started" "$quick" "$SIZE_MB" "$SMALL" "$EMPTY" "$FIO_S" "$CHANGES" "$WBD" \
  "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$(rclone version 2>/dev/null | head -1)" \
  "$READ_ROUNDS" <<'EOF'
import json, os, platform, sys
out, started, quick, size, small, empty, fio, changes, wbd, commit, rclone, read_rounds = sys.argv[1:13]
cpu = "?"
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except (OSError, StopIteration):
    pass
mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
json.dump({"started": started,
           "machine": {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": mem, "kernel": platform.release(),
                       "rclone": rclone, "commit": commit},
           "params": {"quick": quick == "1", "size_mb": int(size), "small_files": int(small), "empty_files": int(empty),
                      "fio_seconds": int(fio), "changes": int(changes), "write_back_delay": wbd,
                      "read_rounds": int(read_rounds)}}, open(out, "w"))
EOF

# ---- source data (page-cached before it is copied, so the source disk is not what we measure) ---------
SRC="$RUN/src"; mkdir -p "$SRC"
log "generating source data: ${SIZE_MB} MiB x2 random, $SMALL small files"
head -c "$SIZE" /dev/urandom >"$SRC/big.bin"
head -c "$SIZE" /dev/urandom >"$SRC/up.bin"   # distinct content for uploads, so no dedup against big.bin
BIG_SHA="$(sha256sum "$SRC/big.bin" | cut -d' ' -f1)"
echo "big.bin $SIZE $BIG_SHA" >"$SRC/big.manifest"
"$PY" "$LIB/benchlib.py" gen-small "$SRC" "$SMALL" 7
tar -C "$SRC" -cf "$SRC/small.tar" small
make_fill # drop_caches_fresh's scratch file, made here rather than next to the first timed read
# The 2 GiB just generated (and the scratch file) are dirty pages: written back now, not during the first side's
# write workload.
sync
"$PY" "$LIB/benchlib.py" rss-sample "$RUN/pids" "$RUN/rss.json" &
sampler_pid=$!

# ---- workloads common to both mounts -------------------------------------------------------------------
# Each system provides: <sys>_mount MP CACHE, <sys>_unmount MP, <sys>_durable REMOTEDIR MANIFEST (prints the epoch
# time at which the server held every file of the manifest).

workload_writes() {
  local sys="$1" mp="$2" t0 t1
  cat "$SRC/big.bin" >/dev/null
  log "$sys: sequential write of ${SIZE_MB} MiB"
  durable_begin "$sys" / "$SRC/big.manifest"
  t0=$(now); dd if="$SRC/big.bin" of="$mp/big.bin" bs=1M status=none; t1=$(now)
  durable_end
  record "$sys" write_close "$(mbps "$SIZE" "$t0" "$t1")" MB/s
  record "$sys" write_durable "$(mbps "$SIZE" "$t0" "$DURABLE_AT")" MB/s

  log "$sys: $SMALL small files by tar"
  cat "$SRC/small.tar" >/dev/null
  durable_begin "$sys" small "$SRC/small.manifest"
  t0=$(now); tar -C "$mp" -xf "$SRC/small.tar"; t1=$(now)
  durable_end
  record "$sys" small_close "$(rate "$SMALL" "$t0" "$t1")" files/s
  record "$sys" small_durable "$(rate "$SMALL" "$t0" "$DURABLE_AT")" files/s

  log "$sys: $EMPTY empty files"
  "$PY" "$LIB/benchlib.py" empty-manifest empty "$EMPTY" "$RUN/empty.manifest"
  # rclone uploads about two dozen files a second here: waiting for all 10,000 would take most of the run's budget.
  local cap=0
  [ "$sys" = rclone ] && cap="$RCLONE_EMPTY_CAP"
  durable_begin "$sys" empty "$RUN/empty.manifest" "$cap"
  t0=$(now); "$PY" "$LIB/benchlib.py" mkfiles "$mp/empty" "$EMPTY" >"$RUN/mkfiles.out"; t1=$(now)
  durable_end
  record "$sys" empty_create "$(per_s "$EMPTY" "$(cat "$RUN/mkfiles.out")")" files/s
  if [ "$DURABLE_COUNT" -lt "$EMPTY" ]; then
    record "$sys" empty_durable "$(rate "$DURABLE_COUNT" "$t0" "$DURABLE_AT")" files/s \
      "the wait was capped at ${cap}s after the last file was created: $DURABLE_COUNT of $EMPTY were durable by then, the rate is over those"
  else
    record "$sys" empty_durable "$(rate "$EMPTY" "$t0" "$DURABLE_AT")" files/s
  fi
}

workload_reads() {
  local sys="$1" mp="$2" t0 t1 n
  drop_caches
  log "$sys: ls -l of $EMPTY entries (cold, then warm)"
  t0=$(now); n=$(ls -l "$mp/empty" | tail -n +2 | wc -l); t1=$(now)
  [ "$n" -eq "$EMPTY" ] || { log "$sys: ls -l showed $n entries, expected $EMPTY"; return 1; }
  record "$sys" ls_cold "$(rate "$n" "$t0" "$t1")" entries/s
  t0=$(now); ls -l "$mp/empty" >/dev/null; t1=$(now)
  record "$sys" ls_warm "$(rate "$n" "$t0" "$t1")" entries/s

  log "$sys: sequential read of ${SIZE_MB} MiB (cold, then from the driver's cache)"
  drop_caches_fresh
  t0=$(now); dd if="$mp/big.bin" of=/dev/null bs=1M status=none; t1=$(now)
  record "$sys" read_cold "$(mbps "$SIZE" "$t0" "$t1")" MB/s
  drop_caches_fresh
  t0=$(now); dd if="$mp/big.bin" of=/dev/null bs=1M status=none; t1=$(now)
  record "$sys" read_cached "$(mbps "$SIZE" "$t0" "$t1")" MB/s
  [ "$(sha256sum "$mp/big.bin" | cut -d' ' -f1)" = "$BIG_SHA" ] || { log "$sys: big.bin read back with the wrong content"; return 1; }

  log "$sys: reading the $SMALL small files back"
  drop_caches
  local files bytes secs
  read -r files bytes secs < <("$PY" "$LIB/benchlib.py" readtree "$mp/small")
  [ "${files:-0}" -eq "$SMALL" ] || { log "$sys: read ${files:-0} small files ($bytes bytes), expected $SMALL"; return 1; }
  record "$sys" small_read "$(per_s "$files" "$secs")" files/s
}

workload_fio() {
  local sys="$1" mp="$2"
  log "$sys: fio random 4 KiB reads for ${FIO_S}s"
  drop_caches
  fio --name=rand4k --filename="$mp/big.bin" --rw=randread --bs=4k --direct=1 --ioengine=psync --numjobs=1 \
      --runtime="$FIO_S" --time_based --output-format=json >"$RUN/fio-$sys.json" 2>"$RUN/fio-$sys.err" \
    || { log "$sys: fio failed: $(tail -3 "$RUN/fio-$sys.err")"; return 1; }
  record "$sys" rand4k "$("$PY" "$LIB/benchlib.py" fio-iops "$RUN/fio-$sys.json")" IOPS
}

# Runs one system's whole sequence in a subshell, so a failure ends that side (its mounts and daemons are cleaned
# by the registry) and the other side still runs.
run_side() {
  local name="$1" rc start=$SECONDS
  set +e
  ( set -e; "side_$name" )
  rc=$?
  set -e
  cleanup_mounts_of "$name"
  if [ "$rc" -ne 0 ]; then note "$name: the run of this side stopped early (exit $rc); its missing rows are n/a"; fi
  log "$name side took $((SECONDS - start)) s"
  printf '%s=%ss ' "$name" "$((SECONDS - start))" >>"$RUN/sides.txt"
}

cleanup_mounts_of() {
  local kind mp
  while read -r kind mp; do
    [ "$kind" = "$1" ] || continue
    if is_mounted "$mp"; then "${kind}_unmount" "$mp" || true; fi
  done < <(cat "$RUN/mounts")
}

# shellcheck source=bench/scaidrive.sh
source "$LIB/scaidrive.sh"
# shellcheck source=bench/rclone.sh
source "$LIB/rclone.sh"

[ "$only" = rclone ] || run_side scaidrive
[ "$only" = scaidrive ] || run_side rclone

# ---- memory and the report -----------------------------------------------------------------------------
cleanup_all
kill -TERM "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""
"$PY" - "$RUN/rss.json" >>"$RUN/results.jsonl" <<'EOF'
import json, sys
try:
    peaks = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    peaks = {}
for label, system, metric in [("scaidrive-daemon", "scaidrive", "daemon_rss"), ("scaidrive-server", "scaidrive", "server_rss"),
                              ("rclone-daemon", "rclone", "daemon_rss"), ("rclone-server", "rclone", "server_rss")]:
    if label in peaks:
        print(json.dumps({"system": system, "metric": metric, "value": round(peaks[label]["hwm_kb"] / 1024, 1), "unit": "MiB"}))
EOF
"$PY" - "$RUN/meta.json" "$RUN/notes.txt" "$SECONDS" "$(cat "$RUN/sides.txt" 2>/dev/null)" <<EOF
import json, sys
meta = json.load(open(sys.argv[1]))
meta["duration_s"] = int(sys.argv[3])
meta["side_durations"] = sys.argv[4].split()
meta["notes"] = [l.strip() for l in open(sys.argv[2]) if l.strip()] + [
    "rclone: Debian's rclone, 'rclone serve webdav' over a local folder and 'rclone mount --vfs-cache-mode full "
    "--vfs-write-back $WBD'; ScaiDriveFS: 'scaidrivefs mount --write-back-delay $WBD'.",
    "raw HTTP: curl against the same server: GET of the file (ScaiDrive: /api/v1/files/{id}/content with the bearer token; "
    "rclone: WebDAV GET), upload as one multipart POST (ScaiDrive) or one WebDAV PUT (rclone), listing as the folder "
    "children pages (ScaiDrive) or one PROPFIND depth 1 (rclone).",
    "until durable: ScaiDriveFS: status --json shows no pending upload and the server lists every file with its size and "
    "SHA-256; rclone: the WebDAV backing folder holds every file with its size and SHA-256.",
]
json.dump(meta, open(sys.argv[1], "w"))
EOF
"$PY" "$LIB/report.py" "$RUN" "$root/bench-results" ${docs:+"$docs"}
log "results: $root/bench-results/latest.json and latest.md (whole run: $SECONDS s)"
exit
}
