#!/usr/bin/env bash
# Every test of the solution against real services, in two phases (docs/testing.md):
#   1. the loopback suite: scripts/deps.sh (installs and starts PostgreSQL and RabbitMQ on loopback when needed),
#      then `dotnet test` of the solution without the Category=Containers tests;
#   2. the container path: scripts/containers.sh (Docker engine and local images), then the Category=Containers
#      tests; the dockerd it started for this run is stopped again at the end.
# Then one summary line over both phases, read from the trx files:  N passed, N failed, N skipped
# Exits non-zero when the build or any test of either phase failed, or when no test ran.
# Extra arguments go to `dotnet test` in both phases; a --filter is combined with each phase's own.
# PROVISIONING_SKIP_CONTAINERS=1 leaves phase 2 out (said in the output, never silently).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# A --filter among the arguments is and-ed with each phase's category filter.
user_filter="" args=()
while (($#)); do
  case "$1" in
    --filter)
      user_filter="$2"
      shift 2
      ;;
    --filter=*)
      user_filter="${1#--filter=}"
      shift
      ;;
    *)
      args+=("$1")
      shift
      ;;
  esac
done
phase_filter() {
  if [[ -n "$user_filter" ]]; then echo "($user_filter)&$1"; else echo "$1"; fi
}

scripts/deps.sh
set -a
# shellcheck source=/dev/null
. "$ROOT/.deps/env"
set +a

# Each test project writes its trx into its own TestResults/ (one shared directory lets two
# projects that finish in the same second overwrite each other's file); the container phase into its own.
find tests -type d -name TestResults -prune -exec rm -rf {} +
CONTAINER_RESULTS="$ROOT/tests/TestResults/containers"
# The fault scenarios append their measured figures here (one JSON line each); summed up at the end.
export PROVISIONING_FAULT_FIGURES="$ROOT/tests/TestResults/fault-figures.jsonl"

counter() {
  local n
  n="$(sed -n "s/.*<Counters[^>]* $1=\"\([0-9]*\)\".*/\1/p" "$2" | head -1)"
  echo "${n:-0}"
}
# count_trx FIND-ARGS...: sets passed, failed, skipped, files over the trx files found.
count_trx() {
  passed=0 failed=0 skipped=0 files=0
  local trx
  while IFS= read -r -d '' trx; do
    files=$((files + 1))
    passed=$((passed + $(counter passed "$trx")))
    failed=$((failed + $(counter failed "$trx") + $(counter error "$trx") + $(counter timeout "$trx") + $(counter aborted "$trx")))
    # xunit's skipped tests are results with outcome NotExecuted; the Counters leave them out.
    skipped=$((skipped + $({ grep -o '<UnitTestResult [^>]*outcome="NotExecuted"' "$trx" || true; } | wc -l)))
  done < <(find "$@" -print0)
}

# ---------------------------------------------------------------- phase 1: loopback
rc=0
dotnet test Provisioning.Worker.sln --configuration Release --logger trx --filter "$(phase_filter 'Category!=Containers')" "${args[@]}" || rc=$?
count_trx tests -path "$CONTAINER_RESULTS" -prune -o -path '*/TestResults/*.trx' -type f
loop_passed=$passed loop_failed=$failed loop_skipped=$skipped
if ((rc != 0 && failed == 0)); then
  echo "test.sh: dotnet test exited with $rc (build failure or crashed test host: see above)" >&2
fi
echo "loopback suite: $loop_passed passed, $loop_failed failed, $loop_skipped skipped"

# ---------------------------------------------------------------- phase 2: containers
ct_rc=0 ct_passed=0 ct_failed=0 ct_skipped=0
if [[ "${PROVISIONING_SKIP_CONTAINERS:-}" == 1 ]]; then
  echo "container phase: skipped (PROVISIONING_SKIP_CONTAINERS=1)"
else
  ct_started=$SECONDS
  # Stop at the end only an engine that this run started.
  engine_was_ours_before=""
  [[ -f /run/provisioning-containers/dockerd.pid ]] && engine_was_ours_before=1
  containers_rc=0
  scripts/containers.sh up >"$ROOT/.deps/containers-up.out" || containers_rc=$?
  images_seconds=$((SECONDS - ct_started))
  if ((containers_rc != 0)); then
    # The tests still run, and each fails with this reason: a machine that cannot run containers is a failure here.
    export PROVISIONING_CONTAINERS_UNAVAILABLE="scripts/containers.sh exited with $containers_rc (its error is printed above; logs in .deps/)"
  else
    set -a
    # shellcheck source=/dev/null
    . "$ROOT/.deps/containers.env"
    set +a
  fi
  dotnet test tests/Provisioning.Worker.IntegrationTests --configuration Release --no-build --logger trx \
    --results-directory "$CONTAINER_RESULTS" --filter "$(phase_filter 'Category=Containers')" "${args[@]}" || ct_rc=$?
  if [[ -z "$engine_was_ours_before" && -f /run/provisioning-containers/dockerd.pid ]]; then
    scripts/containers.sh down || true
  fi
  count_trx "$CONTAINER_RESULTS" -name '*.trx' -type f
  ct_passed=$passed ct_failed=$failed ct_skipped=$skipped
  if ((ct_rc != 0 && ct_failed == 0)); then
    echo "test.sh: the container phase's dotnet test exited with $ct_rc (see above)" >&2
  fi
  if ((containers_rc != 0 && ct_failed == 0)); then
    # No test reported the engine's failure (a filter left none): count it as one.
    ct_failed=1
  fi
  echo "container phase: $ct_passed passed, $ct_failed failed, $ct_skipped skipped in $((SECONDS - ct_started)) s (engine and images $images_seconds s)"
fi

passed=$((loop_passed + ct_passed)) failed=$((loop_failed + ct_failed)) skipped=$((loop_skipped + ct_skipped))
if ((passed + failed == 0)); then
  echo "test.sh: no test ran" >&2
fi
if [[ -s $PROVISIONING_FAULT_FIGURES ]]; then
  sum() { grep -o "\"$1\":[0-9]*" "$PROVISIONING_FAULT_FIGURES" | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }'; }
  echo "fault suite: $(wc -l <"$PROVISIONING_FAULT_FIGURES") scenarios passed, $(sum messages) messages, $(sum faults) faults injected, $(sum deadLettered) dead-lettered as expected, $(sum lost) messages lost, $(sum credentialsChecked) logins tried against Mosquitto"
fi
echo "$passed passed, $failed failed, $skipped skipped"

((rc == 0 && ct_rc == 0 && failed == 0 && passed + failed > 0))
