#!/usr/bin/env bash
# The broker fleet on this machine (docs/fleet.md), reached through scripts/run.sh:
#
#   scripts/run.sh --replicas N   N Mosquitto replicas of the group `default` on loopback (mqtt-a on 1884, mqtt-b on
#                                 1885, ...), a broker agent beside each (`Provisioning.Worker agent`, HTTP on 8081,
#                                 8082, ...), HAProxy in TCP mode on MQTT_PORT (1883) balancing the replicas and
#                                 health-checking each agent's /health/ready, then the central worker (Brokers__Groups__
#                                 default__Host/Port = HAProxy) in the foreground. Ctrl+C stops the central worker only.
#   scripts/run.sh stop-fleet     stops HAProxy, the agents and the replicas this script started (pid files under
#                                 .state/fleet); RabbitMQ and PostgreSQL stay (scripts/deps.sh stop).
#
# Ports: MQTT_PORT (HAProxy's frontend, what devices are told; 1883), FLEET_BROKER_PORT (the first replica's listener;
# 1884), FLEET_AGENT_PORT (the first agent's HTTP port; 8081), HAPROXY_STATS_PORT (HAProxy's stats page; 8404),
# ASPNETCORE_URLS (the central worker; http://127.0.0.1:8080). A second run reuses the replicas that still run,
# restarts the agents (on the binary just built) and reloads HAProxy; it stops replicas beyond N.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state="$root/.state/fleet"
mqtt_port=${MQTT_PORT:-1883}
broker_port0=${FLEET_BROKER_PORT:-1884}
agent_port0=${FLEET_AGENT_PORT:-8081}
stats_port=${HAPROXY_STATS_PORT:-8404}
http_urls=${ASPNETCORE_URLS:-http://127.0.0.1:8080}
group=default
dll="$root/src/Provisioning.Worker/bin/Release/net10.0/Provisioning.Worker.dll"

die() {
  echo "run.sh: error: $*" >&2
  exit 1
}

usage() {
  echo "usage: scripts/run.sh [--replicas N | stop-fleet | stop-broker]" >&2
  exit 2
}

# A live pid read from FILE, printed; fails when there is none.
live_pid() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null && cat "$1"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop_pid FILE WHAT [GROUP]: TERM the pid in FILE (its whole process group when GROUP is set: the agent's restart loop
# and the agent), wait up to 15 s, then KILL; removes FILE.
stop_pid() {
  local file="$1" what="$2" pid target
  if pid=$(live_pid "$file"); then
    target="$pid"
    [ -n "${3:-}" ] && target="-$pid"
    kill -TERM -- "$target" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "$target" 2>/dev/null || true; }
    echo "stopped $what ($pid)"
  fi
  rm -f "$file"
}

broker_name() { printf 'mqtt-%s' "$(printf '%b' "\\$(printf '%03o' $((97 + $1)))")"; }

stop_broker_dir() {
  local dir="$1" name
  name=$(basename "$dir")
  stop_pid "$dir/agent.pid" "agent $name" group
  stop_pid "$dir/mosquitto.pid" "mosquitto $name"
}

stop_fleet() {
  stop_pid "$state/haproxy.pid" haproxy
  local dir
  for dir in "$state"/mqtt-*; do
    [ -d "$dir" ] && stop_broker_dir "$dir"
  done
  return 0
}

# ---------------------------------------------------------------- arguments

replicas=""
case "${1:-}" in
  stop-fleet)
    stop_fleet
    exit 0
    ;;
  --replicas) replicas="${2:-}" ;;
  --replicas=*) replicas="${1#--replicas=}" ;;
  *) usage ;;
esac
if ! [[ "$replicas" =~ ^[0-9]+$ ]] || ((replicas < 1 || replicas > 26)); then
  die "--replicas takes a number from 1 to 26 (got '${replicas}')"
fi

"$root/scripts/deps.sh"
# shellcheck disable=SC1091
. "$root/.deps/env"
command -v haproxy >/dev/null 2>&1 || die "haproxy is not installed (scripts/deps.sh installs it as root)"

mkdir -p "$state"
as_root=""
[ "$(id -u)" = 0 ] && getent group mosquitto >/dev/null && as_root=1

# The single-broker path's Mosquitto holds 1883 too: one or the other.
if ! live_pid "$state/haproxy.pid" >/dev/null && port_open "$mqtt_port"; then
  die "127.0.0.1:$mqtt_port is taken (the single broker of scripts/run.sh? stop it with 'scripts/run.sh stop-broker'), or set MQTT_PORT"
fi

# ---------------------------------------------------------------- replicas

# Replicas beyond N from an earlier run: stopped (their broker record goes silent: `brokers out <name>`, docs/fleet.md).
for dir in "$state"/mqtt-*; do
  [ -d "$dir" ] || continue
  keep=""
  for ((i = 0; i < replicas; i++)); do [ "$(basename "$dir")" = "$(broker_name "$i")" ] && keep=1; done
  [ -n "$keep" ] || stop_broker_dir "$dir"
done

start_broker() {
  local name="$1" port="$2" dir="$state/$1"
  mkdir -p "$dir"
  [ -e "$dir/passwd" ] || : >"$dir/passwd"
  [ -e "$dir/acl" ] || printf '# Operators: your accounts get their own block; the agent keeps these lines.\nuser service-pulse\ntopic readwrite #\n' >"$dir/acl"
  chmod 0640 "$dir/passwd" "$dir/acl"
  if [ -n "$as_root" ]; then
    # Mosquitto started as root drops to the mosquitto user: it reads the files through its group, writes its pid here.
    chgrp mosquitto "$dir" "$dir/passwd" "$dir/acl"
    chmod 0770 "$dir"
  fi
  local conf
  conf="$(
    cat <<CONF
listener $port 127.0.0.1
allow_anonymous false
password_file $dir/passwd
acl_file $dir/acl
pid_file $dir/mosquitto.pid
log_dest file $dir/mosquitto.log
CONF
  )"
  if live_pid "$dir/mosquitto.pid" >/dev/null && [ "$(cat "$dir/mosquitto.conf" 2>/dev/null)" != "$conf" ]; then
    stop_pid "$dir/mosquitto.pid" "mosquitto $name (its configuration changed)"
  fi
  if ! live_pid "$dir/mosquitto.pid" >/dev/null; then
    port_open "$port" && die "127.0.0.1:$port, $name's listener, is taken; set FLEET_BROKER_PORT"
    printf '%s\n' "$conf" >"$dir/mosquitto.conf"
    if [ -n "$as_root" ]; then touch "$dir/mosquitto.log" && chgrp mosquitto "$dir/mosquitto.log" && chmod 0660 "$dir/mosquitto.log"; fi
    mosquitto -d -c "$dir/mosquitto.conf"
    for _ in $(seq 50); do live_pid "$dir/mosquitto.pid" >/dev/null && break; sleep 0.1; done
    live_pid "$dir/mosquitto.pid" >/dev/null || die "mosquitto $name did not start; see $dir/mosquitto.log"
  fi
  echo "mosquitto $name: 127.0.0.1:$port (pid $(cat "$dir/mosquitto.pid")), files in $dir"
}

for ((i = 0; i < replicas; i++)); do
  start_broker "$(broker_name "$i")" $((broker_port0 + i))
done

echo "building the worker (Release)"
dotnet build "$root/src/Provisioning.Worker" -c Release -v quiet -nologo

# ---------------------------------------------------------------- agents

# Each agent runs in a restart loop of its own session (a crash, or PostgreSQL not migrated yet at first start, is
# retried every 2 s, as a service manager would); stop-fleet stops the loop and the agent together.
# shellcheck disable=SC2016 # expanded by the loop's own shell, $0 being the worker's dll
agent_loop='while :; do dotnet "$0" agent; echo "run.sh: the agent exited ($?); starting it again in 2 s"; sleep 2; done'
start_agent() {
  local name="$1" broker_port="$2" agent_port="$3" dir="$state/$1"
  stop_pid "$dir/agent.pid" "agent $name" group
  port_open "$agent_port" && die "127.0.0.1:$agent_port, $name's agent port, is taken; set FLEET_AGENT_PORT"
  setsid env \
    Agent__Broker="$name" \
    Agent__Group="$group" \
    Mosquitto__PasswdFile="$dir/passwd" \
    Mosquitto__AclFile="$dir/acl" \
    Mosquitto__PidFile="$dir/mosquitto.pid" \
    Mosquitto__ProbeHost=127.0.0.1 \
    Mosquitto__ProbePort="$broker_port" \
    ConnectionStrings__Provisioning="$PROVISIONING_TEST_POSTGRES" \
    ASPNETCORE_URLS="http://127.0.0.1:$agent_port" \
    bash -c "$agent_loop" "$dll" \
    >>"$dir/agent.log" 2>&1 </dev/null &
  echo $! >"$dir/agent.pid"
  echo "agent $name: http://127.0.0.1:$agent_port/health/ready (log $dir/agent.log)"
}

for ((i = 0; i < replicas; i++)); do
  start_agent "$(broker_name "$i")" $((broker_port0 + i)) $((agent_port0 + i))
done

# ---------------------------------------------------------------- HAProxy

cfg="$state/haproxy.cfg"
{
  cat <<CFG
# Written by scripts/run.sh --replicas $replicas (docs/fleet.md): the group's endpoint, in front of its replicas.
global
  log stdout format raw local0 info
  stats socket $state/haproxy.sock mode 600 level admin

defaults
  mode tcp
  log global
  option tcplog
  timeout connect 5s
  # MQTT sessions are long and quiet between keepalives: these bound an idle connection, not a request.
  timeout client 15m
  timeout server 15m

frontend mqtt
  bind 127.0.0.1:$mqtt_port
  default_backend group-$group

# A replica takes devices only while its agent says its broker runs the group's current files.
backend group-$group
  balance leastconn
  option httpchk GET /health/ready
  http-check expect status 200
  default-server inter 2s fall 2 rise 2 on-marked-down shutdown-sessions
CFG
  for ((i = 0; i < replicas; i++)); do
    echo "  server $(broker_name "$i") 127.0.0.1:$((broker_port0 + i)) check port $((agent_port0 + i))"
  done
  cat <<CFG

frontend stats
  mode http
  bind 127.0.0.1:$stats_port
  stats enable
  stats uri /
  stats refresh 5s
CFG
} >"$cfg.new"
haproxy -c -q -f "$cfg.new" || die "haproxy refuses $cfg.new (haproxy -c -f $cfg.new)"
mv "$cfg.new" "$cfg"

old=""
old=$(live_pid "$state/haproxy.pid") || old=""
# -sf: a running HAProxy hands over its listeners and finishes its connections (a soft reload).
setsid haproxy -db -f "$cfg" ${old:+-sf "$old"} >>"$state/haproxy.log" 2>&1 </dev/null &
echo $! >"$state/haproxy.pid"
for _ in $(seq 50); do port_open "$mqtt_port" && break; sleep 0.1; done
port_open "$mqtt_port" || die "haproxy does not listen on 127.0.0.1:$mqtt_port; see $state/haproxy.log"
echo "haproxy: 127.0.0.1:$mqtt_port -> ${replicas} replica(s) (pid $(cat "$state/haproxy.pid")), stats http://127.0.0.1:$stats_port/, config $cfg"

# ---------------------------------------------------------------- the central worker

export ConnectionStrings__Provisioning="$PROVISIONING_TEST_POSTGRES"
export RabbitMq__Uri="$PROVISIONING_TEST_RABBITMQ"
export "Brokers__Groups__${group}__Host=127.0.0.1"
export "Brokers__Groups__${group}__Port=$mqtt_port"
# The key ring of undelivered passwords: the central worker's alone (no broker file beside it to default to).
export Secrets__KeyRingDirectory="${Secrets__KeyRingDirectory-$state/worker-keys}"
export ASPNETCORE_URLS="$http_urls"
echo "worker: health on $http_urls/health/ready, devices told 127.0.0.1:$mqtt_port; Ctrl+C stops it, 'scripts/run.sh stop-fleet' the rest"
exec dotnet "$dll"
