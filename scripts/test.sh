#!/usr/bin/env bash
# Runs the whole test suite: builds, then every test project (unit, in-process core against the local
# server over HTTP, fault injection, model-based, real FUSE mounts). Ends with one line:
#   N passed, N failed, N skipped
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/install-deps.sh || exit 1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

echo "== build" >&2
if ! dotnet build ScaiDriveFS.sln -c Release -nologo -v q -clp:ErrorsOnly; then
  echo "0 passed, 1 failed"
  exit 1
fi
make -s -C native >/dev/null || { echo "native probe failed to build" >&2; echo "0 passed, 1 failed"; exit 1; }

results="$root/artifacts/test-results"
rm -rf "$results"; mkdir -p "$results"
passed=0; failed=0; skipped=0; status=0
for proj in tests/*.Tests; do
  name="$(basename "$proj")"
  dll="$proj/bin/Release/net10.0/$name.dll"
  [ -f "$dll" ] || { echo "missing $dll" >&2; failed=$((failed+1)); status=1; continue; }
  echo "== $name" >&2
  # -noColor: plain logs; -xml: counts we parse below; -longrunning: a test still running after 120 s is named in
  # the log (so a hang says where it is). Each project gets its own hard time limit.
  timeout --kill-after=30 900 dotnet "$dll" -noColor -longrunning 120 -xml "$results/$name.xml" ${TEST_FILTER:-} >"$results/$name.log" 2>&1
  rc=$?
  grep -E "\[FAIL\]|Total:|Assert\.|Exception|Long Running" "$results/$name.log" | head -40 >&2
  if [ -f "$results/$name.xml" ]; then
    tag="$(grep -o '<assembly [^>]*>' "$results/$name.xml" | head -1)"
    get() { echo "$tag" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
    p=$(get passed); f=$(get failed); s=$(get skipped); e=$(get errors)
    passed=$((passed+p)); failed=$((failed+f+e)); skipped=$((skipped+s))
    [ "$rc" -ne 0 ] && [ $((f+e)) -eq 0 ] && { failed=$((failed+1)); echo "$name exited $rc" >&2; }
  else
    echo "$name produced no results (exit $rc); see $results/$name.log" >&2
    tail -20 "$results/$name.log" >&2
    failed=$((failed+1))
  fi
  [ "$rc" -ne 0 ] && status=1
done
# A test must never leave a FUSE mount behind.
left=$(grep -E ' fuse(\.[a-z0-9_-]+)? ' /proc/mounts | awk '{print $2}' | grep -E 'scaidrive|sdfs' || true)
if [ -n "$left" ]; then
  echo "left mounted by the tests: $left" >&2
  failed=$((failed+1)); status=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
