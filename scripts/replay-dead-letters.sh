#!/usr/bin/env bash
# The worker's dead-letter tool for operators: list, replay or purge what MassTransit moved to a queue's
# _error (or _skipped) queue. A thin wrapper around `Provisioning.Worker dead-letters ...`: it finds (or
# builds) the worker and passes every argument through. Run it with --help for the details.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
published="$root/.state/dead-letters-tool"

usage() {
  cat <<'USAGE'
usage: scripts/replay-dead-letters.sh <command> --queue <queue> [options]

commands:
  list    --queue <q>                                   what is in the queue: message id, type, tenant/device,
                                                        the fault (exception type and message) and when; consumes nothing
  replay  --queue <q> [--message-id <id>]... [--limit <n>] [--dry-run]
                                                        move messages back to the queue they failed on (same id and
                                                        body: the worker's inbox ignores one it already handled); each is
                                                        removed from <q> only after the broker confirmed the copy
  purge   --queue <q> --message-id <id>...              remove messages for good; each is printed in full first

  <q> is a dead-letter queue: device-registered_error, device-deleted_error, or a *_skipped queue.
  <command> --help shows the tool's own help.

configuration (the worker's): RabbitMq__Uri (amqp://user:pass@host:5672/vhost) from the environment, else
  appsettings.json beside the worker. In a source checkout where scripts/deps.sh ran and RabbitMq__Uri is unset,
  the local broker of .deps/env is used (the one scripts/run.sh gives the worker).
the tool: $PROVISIONING_WORKER_DLL when set (a deployed worker), else built from this checkout into
  .state/dead-letters-tool (again whenever src/ changed).

exit codes: 0 done; 1 a --message-id is not in the queue (the others were handled); 2 bad arguments or
  configuration, the queue (or the one to replay to) does not exist or is not a dead-letter queue; 3 RabbitMQ
  unreachable, refused the connection or dropped it; 4 the tool could not be built; 5 RabbitMQ blocks
  publishers (a memory or disk alarm); 130 interrupted.
  Whatever happens, a message is removed from the dead-letter queue only once it is safe elsewhere (replay)
  or printed (purge).
USAGE
}

case "${1:-}" in
  ""|-h|--help|help) usage; exit 0 ;;
esac

if [ -n "${PROVISIONING_WORKER_DLL:-}" ]; then
  dll=$PROVISIONING_WORKER_DLL
  [ -f "$dll" ] || { echo "error: PROVISIONING_WORKER_DLL=$dll does not exist" >&2; exit 2; }
else
  dll="$published/Provisioning.Worker.dll"
  if [ ! -f "$dll" ] || [ -n "$(find "$root/src" "$root/Directory.Packages.props" "$root/Directory.Build.props" \( -name bin -o -name obj \) -prune -o -type f -newer "$dll" -print -quit)" ]; then
    mkdir -p "$root/.state"
    echo "building the worker into ${published#"$root"/} ..." >&2
    if ! dotnet publish "$root/src/Provisioning.Worker" -c Release -o "$published" --nologo -v quiet >"$root/.state/dead-letters-build.log" 2>&1; then
      cat "$root/.state/dead-letters-build.log" >&2
      echo "error: the build failed (log: .state/dead-letters-build.log)" >&2
      exit 4
    fi
    touch "$dll"
  fi
fi

if [ -z "${RabbitMq__Uri+set}" ] && [ -f "$root/.deps/env" ] && [ -z "${PROVISIONING_WORKER_DLL:-}" ]; then
  # shellcheck disable=SC1091
  . "$root/.deps/env"
  export RabbitMq__Uri="$PROVISIONING_TEST_RABBITMQ"
  echo "using the local broker of .deps/env (set RabbitMq__Uri to choose another)" >&2
fi

exec dotnet "$dll" dead-letters "$@"
