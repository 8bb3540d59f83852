#!/usr/bin/env bash
# The benchmark of issue 5, in one run on this machine: seeds N devices, then measures the worker (a separate
# process, Release build) against real RabbitMQ, PostgreSQL and a private Mosquitto, beside the seed's
# mosquitto_passwd-per-event baseline, the transport ceiling and, last, the reload floor: Mosquitto alone (worker
# stopped) reloading the file the worker last wrote, SIGHUP until a password only that file holds logs in.
# Prints a table, then one summary line (with p99 / floor).
#
#   scripts/bench.sh                                   N=100,000 devices, M=20,000 registrations, 200/s paced
#   scripts/bench.sh --devices 10000 --registrations 2000 --paced-seconds 5    a quick run
#   scripts/bench.sh --devices 1000000 --registrations 5000                    the memory target
#   scripts/bench.sh --help                            every option (--skip, --floor-sample, --worker-setting KEY=VALUE, --keep ...)
#
# Services come from scripts/deps.sh (installed and started when missing); the run creates and drops its own
# database, virtual hosts, broker and temp directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

for arg in "$@"; do
  if [[ "$arg" == -h || "$arg" == --help ]]; then
    dotnet run --project bench/Provisioning.Worker.Benchmarks -c Release -v quiet -- --help
    exit 0
  fi
done

scripts/deps.sh >/dev/null
set -a
# shellcheck source=/dev/null
. "$ROOT/.deps/env"
set +a
command -v mosquitto >/dev/null 2>&1 || [[ -x /usr/sbin/mosquitto ]] || { echo "bench.sh: mosquitto is not installed" >&2; exit 1; }
command -v mosquitto_passwd >/dev/null 2>&1 || { echo "bench.sh: mosquitto_passwd is not installed" >&2; exit 1; }
export PATH="$PATH:/usr/sbin"

# Thousands of idle MQTT connections need as many descriptors in the broker (a child of the benchmark).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "bench.sh: building (Release)" >&2
dotnet build bench/Provisioning.Worker.Benchmarks -c Release -v quiet -nologo >"$ROOT/.deps/bench-build.log" 2>&1 ||
  { cat "$ROOT/.deps/bench-build.log" >&2; exit 1; }
exec dotnet bench/Provisioning.Worker.Benchmarks/bin/Release/net10.0/Provisioning.Worker.Benchmarks.dll "$@"
