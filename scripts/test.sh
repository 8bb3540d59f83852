#!/usr/bin/env bash
# Every test of the solution against real services: scripts/deps.sh (installs and starts
# PostgreSQL and RabbitMQ when needed), then `dotnet test`, then one summary line read from the
# trx files:  N passed, N failed, N skipped
# Exits non-zero when the build or any test failed, or when no test ran.
# Extra arguments go to `dotnet test` (e.g. --filter "FullyQualifiedName~Smoke").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

scripts/deps.sh
set -a
# shellcheck source=/dev/null
. "$ROOT/.deps/env"
set +a

# Each test project writes its trx into its own TestResults/ (one shared directory lets two
# projects that finish in the same second overwrite each other's file).
find tests -type d -name TestResults -prune -exec rm -rf {} +
# The fault scenarios append their measured figures here (one JSON line each); summed up at the end.
export PROVISIONING_FAULT_FIGURES="$ROOT/tests/TestResults/fault-figures.jsonl"

rc=0
dotnet test Provisioning.Worker.sln --configuration Release --logger trx "$@" || rc=$?

passed=0 failed=0 skipped=0 files=0
counter() {
  local n
  n="$(sed -n "s/.*<Counters[^>]* $1=\"\([0-9]*\)\".*/\1/p" "$2" | head -1)"
  echo "${n:-0}"
}
while IFS= read -r -d '' trx; do
  files=$((files + 1))
  passed=$((passed + $(counter passed "$trx")))
  failed=$((failed + $(counter failed "$trx") + $(counter error "$trx") + $(counter timeout "$trx") + $(counter aborted "$trx")))
  # xunit's skipped tests are results with outcome NotExecuted; the Counters leave them out.
  skipped=$((skipped + $({ grep -o '<UnitTestResult [^>]*outcome="NotExecuted"' "$trx" || true; } | wc -l)))
done < <(find tests -path '*/TestResults/*.trx' -print0)

if ((rc != 0 && failed == 0)); then
  echo "test.sh: dotnet test exited with $rc (build failure or crashed test host: see above)" >&2
fi
if ((passed + failed == 0)); then
  echo "test.sh: no test ran ($files trx files)" >&2
fi
if [[ -s $PROVISIONING_FAULT_FIGURES ]]; then
  sum() { grep -o "\"$1\":[0-9]*" "$PROVISIONING_FAULT_FIGURES" | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }'; }
  echo "fault suite: $(wc -l <"$PROVISIONING_FAULT_FIGURES") scenarios passed, $(sum messages) messages, $(sum faults) faults injected, $(sum deadLettered) dead-lettered as expected, $(sum lost) messages lost, $(sum credentialsChecked) logins tried against Mosquitto"
fi
echo "$passed passed, $failed failed, $skipped skipped"

((rc == 0 && failed == 0 && passed + failed > 0))
