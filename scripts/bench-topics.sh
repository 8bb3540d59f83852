#!/usr/bin/env bash
# Issue 11's comparison: the same benchmark (scripts/bench.sh) once per topic-authorization mode, one after the
# other, then the summary line of each run side by side. Every figure comes from scripts/bench.sh; the full table
# of each run is kept in .deps/bench-topics-<devices>-<mode>.log.
#
#   scripts/bench-topics.sh                                       100,000 devices: off, pattern, block
#   scripts/bench-topics.sh --modes off,pattern --devices 1000000 --registrations 5000
#   scripts/bench-topics.sh --devices 10000 --registrations 2000 --paced-seconds 5    a quick run
#
# Modes (docs/topic-authorization.md): off = no acl_file; pattern = the default rule
# readwrite devices/{tenantId}/{deviceId}/# (one pattern line, %u); block = readwrite tenants/{tenantId}/devices/{deviceId}/#
# (the ids apart: a user block per device, Mosquitto's reload CPU grows with the square of the fleet, so expect
# minutes per reload past ~50,000 devices).
# Every other argument goes to scripts/bench.sh unchanged.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
modes=off,pattern,block
devices=100000
args=()
while (($#)); do
  case "$1" in
    --modes) modes="$2"; shift 2 ;;
    --devices) devices="$2"; args+=("$1" "$2"); shift 2 ;;
    --topics) echo "bench-topics.sh: --topics is chosen per run; use --modes" >&2; exit 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

mkdir -p "$ROOT/.deps"
summaries=()
IFS=, read -r -a mode_list <<<"$modes"
for mode in "${mode_list[@]}"; do
  case "$mode" in off | pattern | block) ;; *) echo "bench-topics.sh: unknown mode '$mode' (off, pattern, block)" >&2; exit 2 ;; esac
  log="$ROOT/.deps/bench-topics-$devices-$mode.log"
  echo "bench-topics.sh: $mode ($devices devices), table in $log" >&2
  "$ROOT/scripts/bench.sh" --topics "$mode" "${args[@]}" >"$log"
  summaries+=("$(printf '%-8s %s' "$mode" "$(grep '^summary:' "$log" | sed 's/^summary: //')")")
done

echo "topic authorization at $devices devices ($(date -u +%Y-%m-%d), $(nproc) cores):"
printf '%s\n' "${summaries[@]}"
