#!/usr/bin/env bash
# Runs the worker with everything it needs on this machine: RabbitMQ, PostgreSQL (scripts/deps.sh) and a
# Mosquitto broker that reads the worker's passwd file. Ctrl+C stops the worker; the servers keep running
# (scripts/deps.sh stop, scripts/run.sh stop-broker).
#
#   scripts/run.sh --replicas N   a broker fleet instead (docs/fleet.md): N Mosquitto replicas of the group `default`,
#                                 a broker agent beside each, HAProxy in front on MQTT_PORT, and the central worker in
#                                 the foreground. Ctrl+C stops the worker; `scripts/run.sh stop-fleet` stops the rest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

case "${1:-}" in
  --replicas | --replicas=* | stop-fleet)
    # The fleet has a script of its own; this is its only entry (the default path below is unchanged).
    exec "$root/scripts/run-fleet.sh" "$@"
    ;;
esac
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
# Topic access (docs/topic-authorization.md): every device gets devices/<tenant>/<device>/# only. The worker keeps
# the device blocks; an operator's account gets its own block, as the platform's service-pulse does here.
acl="$state/acl"
[ -e "$acl" ] || printf '# Operators: your accounts get their own block; the worker keeps these lines.\nuser service-pulse\ntopic readwrite #\n' > "$acl"
chmod 0640 "$acl"
if [ "$(id -u)" = 0 ] && getent group mosquitto >/dev/null; then
  # Mosquitto started as root drops to the mosquitto user: it reads the file through its group, and writes its pid here.
  chgrp mosquitto "$state" "$passwd" "$acl"
  chmod 0770 "$state"
fi

if ! broker_pid >/dev/null; then
  cat > "$state/mosquitto.conf" <<CONF
listener $mqtt_port 127.0.0.1
allow_anonymous false
password_file $passwd
acl_file $acl
pid_file $state/mosquitto.pid
log_dest file $state/mosquitto.log
CONF
  [ "$(id -u)" = 0 ] && touch "$state/mosquitto.log" && chgrp mosquitto "$state/mosquitto.log" && chmod 0660 "$state/mosquitto.log"
  mosquitto -d -c "$state/mosquitto.conf"
  for _ in $(seq 50); do broker_pid >/dev/null && break; sleep 0.1; done
  broker_pid >/dev/null || { echo "mosquitto did not start; see $state/mosquitto.log" >&2; exit 1; }
fi
grep -q "^acl_file " "$state/mosquitto.conf" || echo "warning: the running mosquitto was started without acl_file; run '$0 stop-broker' and start again for topic access" >&2
echo "mosquitto: 127.0.0.1:$mqtt_port (pid $(broker_pid)), passwd file $passwd, acl_file $acl"

export ConnectionStrings__Provisioning="$PROVISIONING_TEST_POSTGRES"
export RabbitMq__Uri="$PROVISIONING_TEST_RABBITMQ"
export Mosquitto__PasswdFile="$passwd"
export Mosquitto__PidFile="$state/mosquitto.pid"
export Mosquitto__AclFile="${Mosquitto__AclFile-$acl}"
export Mosquitto__BrokerHost=127.0.0.1
export Mosquitto__BrokerPort="$mqtt_port"
export ASPNETCORE_URLS="$http_urls"
echo "worker: health on $http_urls/health/ready; Ctrl+C to stop"
dotnet build "$root/src/Provisioning.Worker" -c Release -v quiet -nologo
exec dotnet "$root/src/Provisioning.Worker/bin/Release/net10.0/Provisioning.Worker.dll"
