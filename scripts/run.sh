#!/usr/bin/env bash
# Runs the worker with everything it needs on this machine: RabbitMQ, PostgreSQL (scripts/deps.sh) and a
# Mosquitto broker that reads the worker's passwd file. Ctrl+C stops the worker; the servers keep running
# (scripts/deps.sh stop, scripts/run.sh stop-broker).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state="$root/.state/run"
mqtt_port=${MQTT_PORT:-1883}
http_urls=${ASPNETCORE_URLS:-http://127.0.0.1:8080}

broker_pid() { [ -s "$state/mosquitto.pid" ] && kill -0 "$(cat "$state/mosquitto.pid")" 2>/dev/null && cat "$state/mosquitto.pid"; }

if [ "${1:-}" = "stop-broker" ]; then
  if pid=$(broker_pid); then kill "$pid" && echo "stopped mosquitto ($pid)"; else echo "mosquitto is not running"; fi
  exit 0
fi

"$root/scripts/deps.sh"
# shellcheck disable=SC1091
. "$root/.deps/env"

mkdir -p "$state"
passwd="$state/passwd"
[ -e "$passwd" ] || : > "$passwd"
chmod 0640 "$passwd"
if [ "$(id -u)" = 0 ] && getent group mosquitto >/dev/null; then
  # Mosquitto started as root drops to the mosquitto user: it reads the file through its group, and writes its pid here.
  chgrp mosquitto "$state" "$passwd"
  chmod 0770 "$state"
fi

if ! broker_pid >/dev/null; then
  cat > "$state/mosquitto.conf" <<CONF
listener $mqtt_port 127.0.0.1
allow_anonymous false
password_file $passwd
pid_file $state/mosquitto.pid
log_dest file $state/mosquitto.log
CONF
  [ "$(id -u)" = 0 ] && touch "$state/mosquitto.log" && chgrp mosquitto "$state/mosquitto.log" && chmod 0660 "$state/mosquitto.log"
  mosquitto -d -c "$state/mosquitto.conf"
  for _ in $(seq 50); do broker_pid >/dev/null && break; sleep 0.1; done
  broker_pid >/dev/null || { echo "mosquitto did not start; see $state/mosquitto.log" >&2; exit 1; }
fi
echo "mosquitto: 127.0.0.1:$mqtt_port (pid $(broker_pid)), passwd file $passwd"

export ConnectionStrings__Provisioning="$PROVISIONING_TEST_POSTGRES"
export RabbitMq__Uri="$PROVISIONING_TEST_RABBITMQ"
export Mosquitto__PasswdFile="$passwd"
export Mosquitto__PidFile="$state/mosquitto.pid"
export Mosquitto__BrokerHost=127.0.0.1
export Mosquitto__BrokerPort="$mqtt_port"
export ASPNETCORE_URLS="$http_urls"
echo "worker: health on $http_urls/health/ready; Ctrl+C to stop"
dotnet build "$root/src/Provisioning.Worker" -c Release -v quiet -nologo
exec dotnet "$root/src/Provisioning.Worker/bin/Release/net10.0/Provisioning.Worker.dll"
