#!/usr/bin/env bash
# Builds the scaidrivefs CLI for running (not for tests): a ReadyToRun publish into .build/cli, so a fresh mount
# daemon does not spend its first large read compiling its own code. On the 2-core bench machine the JIT was
# 0.1–0.25 s of the daemon's CPU on a cold 1 GiB read, on the cores the server and the reader need. Falls back to a
# plain publish when the ReadyToRun compiler cannot be restored. A no-op when nothing changed since the last build.
# Prints the path of scaidrivefs.dll on stdout; progress and errors go to stderr.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
out="$root/.build/cli"
dll="$out/scaidrivefs.dll"
project="$root/src/ScaiDriveFS.Cli/ScaiDriveFS.Cli.csproj"

if [ ! -f "$dll" ] || [ -n "$(find "$root/src" "$root/Directory.Build.props" "$root/Directory.Packages.props" \
      \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' \) -newer "$dll" -not -path '*/obj/*' -not -path '*/bin/*' -print -quit)" ]; then
  case "$(uname -m)" in
    x86_64) rid=linux-x64 ;;
    aarch64) rid=linux-arm64 ;;
    *) rid="" ;;
  esac
  echo "scaidrivefs: building..." >&2
  rm -rf "$out"
  # A publish for a runtime keeps its intermediate files in obj/Release/net10.0/<rid>/, apart from the plain build
  # the tests use.
  if [ -z "$rid" ] || ! dotnet publish "$project" -c Release -r "$rid" --self-contained false -p:PublishReadyToRun=true \
      -o "$out" -nologo -v q -clp:ErrorsOnly >&2; then
    echo "scaidrivefs: ReadyToRun publish unavailable; building without it" >&2
    rm -rf "$out"
    dotnet publish "$project" -c Release -o "$out" -nologo -v q -clp:ErrorsOnly >&2
  fi
  touch "$dll"
fi
echo "$dll"
