#!/usr/bin/env bash
# The real services the tests use (docs/testing.md, "What the integration tests need"): RabbitMQ with its management plugin and
# PostgreSQL on loopback, and Mosquitto's and HAProxy's binaries (HAProxy for `scripts/run.sh --replicas N`, docs/fleet.md).
#
#   scripts/deps.sh          install what is missing, start what is down, wait until each answers,
#                            write the addresses to .deps/env and print them
#   scripts/deps.sh stop     stop the servers that deps.sh started (packages stay installed)
#   . scripts/deps.sh        the same as the first form, and export the addresses into this shell
#   scripts/deps.sh install PACKAGE...   install those of the Debian packages that are missing (no server started)
#
# It uses Debian's packages and starts the servers as plain processes (there is no systemd on CI machines),
# whether or not a Docker engine runs here: the container path is scripts/containers.sh, a separate phase of
# scripts/test.sh whose containers publish on other ports. A second run finds everything up and returns in well
# under a second.

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  # Sourced: do the work in a child shell, so that `set -e` and `exit` never reach the caller's
  # shell, then export what it wrote.
  bash "${BASH_SOURCE[0]}" "$@" || return $?
  if [[ "${1:-up}" == up && -f "$(dirname "${BASH_SOURCE[0]}")/../.deps/env" ]]; then
    # shellcheck source=/dev/null
    . "$(dirname "${BASH_SOURCE[0]}")/../.deps/env"
  fi
  return 0
fi

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS_DIR="$ROOT/.deps"
ENV_FILE="$DEPS_DIR/env"
# Servers are machine-wide, so the record of which ones deps.sh started is machine-wide too.
STATE_DIR=/run/provisioning-deps

# procps (pgrep) and curl are not in a minimal Debian image, nor pulled in by the servers; e2fsprogs (chattr, for the
# fault suite's read-only directory) is in most images but not guaranteed in a container's. haproxy: the load balancer in
# front of a broker group's replicas (docs/fleet.md); installed only, never run as a system service (quiet_haproxy).
PACKAGES=(postgresql rabbitmq-server mosquitto mosquitto-clients curl ca-certificates procps e2fsprogs prometheus haproxy)

PG_USER=provisioning
PG_PASSWORD=provisioning
PG_DATABASE=provisioning
PG_PORT=5432
RMQ_USER=provisioning
RMQ_PASSWORD=provisioning
RMQ_PORT=5672
RMQ_MANAGEMENT_PORT=15672
RMQ_NODE=rabbit@localhost
RMQ_LOG_DIR=/var/log/rabbitmq

POSTGRES_ADDRESS="Host=127.0.0.1;Port=$PG_PORT;Username=$PG_USER;Password=$PG_PASSWORD;Database=$PG_DATABASE"
RABBITMQ_ADDRESS="amqp://$RMQ_USER:$RMQ_PASSWORD@127.0.0.1:$RMQ_PORT/"
RABBITMQ_MANAGEMENT_ADDRESS="http://$RMQ_USER:$RMQ_PASSWORD@127.0.0.1:$RMQ_MANAGEMENT_PORT"

die() {
  echo "deps.sh: error: $*" >&2
  exit 1
}

note() {
  [[ -n "${DEPS_VERBOSE:-}" ]] && echo "deps.sh: $*" >&2
  return 0
}

port_open() {
  # bash's /dev/tcp: no nc or ss needed on a fresh machine.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_env() {
  mkdir -p "$DEPS_DIR"
  local tmp="$ENV_FILE.$$"
  cat >"$tmp" <<EOF
# Written by scripts/deps.sh: the addresses of the services the integration tests use.
export PROVISIONING_TEST_POSTGRES='$POSTGRES_ADDRESS'
export PROVISIONING_TEST_RABBITMQ='$RABBITMQ_ADDRESS'
export PROVISIONING_TEST_RABBITMQ_MANAGEMENT='$RABBITMQ_MANAGEMENT_ADDRESS'
EOF
  mv "$tmp" "$ENV_FILE"
  grep '^export ' "$ENV_FILE" | sed 's/^export //'
}

# ---------------------------------------------------------------- packages

missing_packages() {
  local p status
  for p in "$@"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
    [[ "$status" == installed ]] || echo "$p"
  done
}

# install_packages PACKAGE...: those not installed yet, with apt-get (scripts/containers.sh uses it too).
install_packages() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  ((${#missing[@]} == 0)) && return 0

  [[ $(id -u) == 0 ]] || die "packages missing (${missing[*]}) and not root: run as root or install them with apt-get"
  mkdir -p "$DEPS_DIR"
  local log="$DEPS_DIR/apt.log"
  echo "deps.sh: installing ${missing[*]} (apt-get, log: $log)" >&2

  # The packages' maintainer scripts would start the servers through invoke-rc.d with their
  # own settings; deps.sh starts them itself, so keep them from starting during the install.
  local own_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local rc=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  } >"$log" 2>&1 || rc=$?
  [[ -n "$own_policy" ]] && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || die "apt-get could not install ${missing[*]}; read $log"
}

# Debian's haproxy package enables a system service (systemd unit or init script) with /etc/haproxy/haproxy.cfg. The
# fleet scripts run their own HAProxy with their own configuration, so when deps.sh has just installed the package, the
# service is disabled, and stopped if the package's scripts got to start it (a policy-rc.d that allowed it, or systemd).
# A haproxy service the machine had before is not deps.sh's, and left alone.
quiet_haproxy() {
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now haproxy.service >>"$DEPS_DIR/apt.log" 2>&1 || true
  fi
  if [[ -x /etc/init.d/haproxy ]]; then
    /etc/init.d/haproxy stop >>"$DEPS_DIR/apt.log" 2>&1 || true
    command -v update-rc.d >/dev/null 2>&1 && { update-rc.d haproxy disable >>"$DEPS_DIR/apt.log" 2>&1 || true; }
  fi
  # Whatever started it: the package's pid file names the service's master process.
  local pid
  pid="$(cat /run/haproxy.pid 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
  note "haproxy installed; its system service is disabled and not running"
}

# ---------------------------------------------------------------- PostgreSQL

pg_version() {
  local v
  v="$(pg_lsclusters -h 2>/dev/null | awk '$2 == "main" { print $1; exit }')"
  [[ -n "$v" ]] || v="$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)"
  [[ -n "$v" ]] || die "PostgreSQL is not installed (no /usr/lib/postgresql/*)"
  echo "$v"
}

as_postgres() {
  (cd / && runuser -u postgres -- "$@")
}

pg_answers_as_provisioning() {
  [[ "$(PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=3 psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" \
    -qAtX -c 'select rolcreatedb from pg_roles where rolname = current_user' 2>/dev/null)" == t ]]
}

start_postgres() {
  if port_open "$PG_PORT" && pg_answers_as_provisioning; then
    note "PostgreSQL already up"
    return 0
  fi

  local v log
  v="$(pg_version)"
  log="/var/log/postgresql/postgresql-$v-main.log"
  if ! pg_lsclusters -h | awk -v v="$v" '$1 == v && $2 == "main" { found = 1 } END { exit !found }'; then
    note "creating cluster $v/main"
    pg_createcluster "$v" main --port "$PG_PORT" >"$DEPS_DIR/pg_createcluster.log" 2>&1 ||
      die "pg_createcluster $v main failed; read $DEPS_DIR/pg_createcluster.log"
  fi

  local conf="/etc/postgresql/$v/main/conf.d/90-provisioning-tests.conf"
  local want
  want="$(
    cat <<EOF
# Written by scripts/deps.sh: a disposable loopback server for tests and local runs.
# Durability is traded for speed (every test creates and drops its own database).
listen_addresses = '127.0.0.1'
port = $PG_PORT
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  )"
  local conf_changed=""
  if [[ ! -f "$conf" || "$(cat "$conf")" != "$want" ]]; then
    printf '%s\n' "$want" >"$conf"
    chown postgres:postgres "$conf"
    conf_changed=1
  fi

  local status
  status="$(pg_lsclusters -h | awk -v v="$v" '$1 == v && $2 == "main" { print $4 }')"
  if [[ "$status" != online* ]]; then
    note "starting PostgreSQL $v/main"
    pg_ctlcluster "$v" main start >"$DEPS_DIR/pg_ctlcluster.log" 2>&1 ||
      die "PostgreSQL $v/main did not start; read $log (and $DEPS_DIR/pg_ctlcluster.log)"
    mkdir -p "$STATE_DIR" && echo "$v" >"$STATE_DIR/postgresql"
  elif [[ -n "$conf_changed" ]]; then
    # Someone else's running server: reload what can be reloaded, never restart it.
    pg_ctlcluster "$v" main reload >/dev/null 2>&1 || true
  fi

  local deadline=$((SECONDS + 60))
  until pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; do
    ((SECONDS < deadline)) || die "PostgreSQL $v/main does not answer on 127.0.0.1:$PG_PORT after 60 s; read $log"
    sleep 0.5
  done

  if ! pg_answers_as_provisioning; then
    note "creating role and database $PG_USER"
    as_postgres psql -p "$PG_PORT" -qAtX -v ON_ERROR_STOP=1 >"$DEPS_DIR/pg_setup.log" 2>&1 <<SQL ||
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $PG_DATABASE OWNER $PG_USER'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DATABASE')\gexec
SQL
      die "could not create the PostgreSQL role/database '$PG_USER'; read $DEPS_DIR/pg_setup.log and $log"
    pg_answers_as_provisioning ||
      die "PostgreSQL refuses $PG_USER/$PG_PASSWORD on 127.0.0.1:$PG_PORT; read $log and /etc/postgresql/$v/main/pg_hba.conf"
  fi
}

stop_postgres() {
  [[ -f "$STATE_DIR/postgresql" ]] || {
    echo "deps.sh: PostgreSQL was not started by deps.sh; left alone" >&2
    return 0
  }
  local v
  v="$(cat "$STATE_DIR/postgresql")"
  if pg_lsclusters -h | awk -v v="$v" '$1 == v && $2 == "main" && $4 ~ /^online/ { found = 1 } END { exit !found }'; then
    pg_ctlcluster "$v" main stop -m fast || die "could not stop PostgreSQL $v/main; read /var/log/postgresql/postgresql-$v-main.log"
  fi
  rm -f "$STATE_DIR/postgresql"
  echo "deps.sh: PostgreSQL $v/main stopped" >&2
}

# ---------------------------------------------------------------- RabbitMQ

rabbitmqctl_q() {
  # /usr/sbin/rabbitmqctl switches to the rabbitmq user (and its Erlang cookie) when run as root.
  rabbitmqctl -q -n "$RMQ_NODE" "$@"
}

rabbit_answers_as_provisioning() {
  port_open "$RMQ_PORT" &&
    curl -fsS -m 5 -u "$RMQ_USER:$RMQ_PASSWORD" "http://127.0.0.1:$RMQ_MANAGEMENT_PORT/api/whoami" 2>/dev/null |
    grep -q administrator
}

rabbit_running() {
  # The Erlang VM of the rabbitmq user, whatever state it is in.
  pgrep -u rabbitmq -x beam.smp >/dev/null 2>&1
}

configure_rabbit() {
  # Loopback only, a node name that does not depend on the machine's hostname, and statistics
  # (queue depths in the management API) refreshed every second instead of every five.
  local env_conf=/etc/rabbitmq/rabbitmq-env.conf conf=/etc/rabbitmq/rabbitmq.conf
  grep -q "^NODENAME=$RMQ_NODE\$" "$env_conf" 2>/dev/null || {
    sed -i '/^NODENAME=/d' "$env_conf" 2>/dev/null || true
    echo "NODENAME=$RMQ_NODE" >>"$env_conf"
  }
  local want
  want="$(
    cat <<EOF
# Written by scripts/deps.sh: a loopback server for tests and local runs.
listeners.tcp.default = 127.0.0.1:$RMQ_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $RMQ_MANAGEMENT_PORT
collect_statistics_interval = 1000
EOF
  )"
  [[ -f "$conf" && "$(cat "$conf")" == "$want" ]] || printf '%s\n' "$want" >"$conf"
  grep -q rabbitmq_management /etc/rabbitmq/enabled_plugins 2>/dev/null ||
    rabbitmq-plugins enable --offline rabbitmq_management >"$DEPS_DIR/rabbitmq-plugins.log" 2>&1 ||
    die "could not enable rabbitmq_management; read $DEPS_DIR/rabbitmq-plugins.log"
}

start_rabbitmq() {
  if rabbit_answers_as_provisioning; then
    note "RabbitMQ already up"
    return 0
  fi

  local log="$RMQ_LOG_DIR/$RMQ_NODE.log" startup="$DEPS_DIR/rabbitmq-server.out"
  if ! rabbit_running; then
    configure_rabbit
    note "starting RabbitMQ ($RMQ_NODE)"
    # As the rabbitmq user (never root: root-owned files in /var/lib/rabbitmq break later
    # starts), in its own session so that it outlives this script and CI's process group.
    (cd /var/lib/rabbitmq && setsid runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq \
      /usr/lib/rabbitmq/bin/rabbitmq-server >"$startup" 2>&1 </dev/null &)
    mkdir -p "$STATE_DIR" && echo "$RMQ_NODE" >"$STATE_DIR/rabbitmq"
  fi

  local deadline=$((SECONDS + 180))
  until rabbitmqctl_q await_startup --timeout 30 >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "RabbitMQ ($RMQ_NODE) did not start within 180 s; read $log and $startup"
    rabbit_running || die "RabbitMQ ($RMQ_NODE) exited while starting; read $startup and $log"
    sleep 1
  done

  if ! grep -q rabbitmq_management /etc/rabbitmq/enabled_plugins 2>/dev/null; then
    # A node someone else started without the plugin: enable it online.
    rabbitmq-plugins -n "$RMQ_NODE" enable rabbitmq_management >"$DEPS_DIR/rabbitmq-plugins.log" 2>&1 ||
      die "could not enable rabbitmq_management; read $DEPS_DIR/rabbitmq-plugins.log"
  fi

  if ! rabbit_answers_as_provisioning; then
    note "creating RabbitMQ user $RMQ_USER"
    {
      rabbitmqctl_q list_users | awk '{ print $1 }' | grep -qx "$RMQ_USER" ||
        rabbitmqctl_q add_user "$RMQ_USER" "$RMQ_PASSWORD"
      rabbitmqctl_q change_password "$RMQ_USER" "$RMQ_PASSWORD" &&
        rabbitmqctl_q set_user_tags "$RMQ_USER" administrator &&
        rabbitmqctl_q set_permissions -p / "$RMQ_USER" '.*' '.*' '.*'
    } >"$DEPS_DIR/rabbitmq-setup.log" 2>&1 || die "could not create the RabbitMQ user '$RMQ_USER'; read $DEPS_DIR/rabbitmq-setup.log"
  fi

  deadline=$((SECONDS + 60))
  until rabbit_answers_as_provisioning; do
    ((SECONDS < deadline)) ||
      die "RabbitMQ does not answer on 127.0.0.1:$RMQ_PORT and its management API on :$RMQ_MANAGEMENT_PORT as $RMQ_USER after 60 s; read $log"
    sleep 1
  done
}

stop_rabbitmq() {
  [[ -f "$STATE_DIR/rabbitmq" ]] || {
    echo "deps.sh: RabbitMQ was not started by deps.sh; left alone" >&2
    return 0
  }
  if rabbit_running; then
    rabbitmqctl_q shutdown >"$DEPS_DIR/rabbitmq-stop.log" 2>&1 ||
      die "could not stop RabbitMQ ($RMQ_NODE); read $DEPS_DIR/rabbitmq-stop.log and $RMQ_LOG_DIR/$RMQ_NODE.log"
  fi
  rm -f "$STATE_DIR/rabbitmq"
  echo "deps.sh: RabbitMQ ($RMQ_NODE) stopped" >&2
}

# ---------------------------------------------------------------- main

case "${1:-up}" in
  up)
    mkdir -p "$DEPS_DIR"
    haproxy_was_missing="$(missing_packages haproxy)"
    install_packages "${PACKAGES[@]}"
    [[ -z "$haproxy_was_missing" ]] || quiet_haproxy
    start_postgres
    start_rabbitmq
    command -v mosquitto >/dev/null 2>&1 || [[ -x /usr/sbin/mosquitto ]] || die "mosquitto is not installed"
    command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]] || die "haproxy is not installed"
    write_env
    ;;
  stop)
    mkdir -p "$DEPS_DIR"
    stop_rabbitmq
    stop_postgres
    ;;
  install)
    shift
    haproxy_was_missing="$(missing_packages haproxy)"
    install_packages "$@"
    if [[ -n "$haproxy_was_missing" && " $* " == *" haproxy "* ]]; then quiet_haproxy; fi
    ;;
  env)
    [[ -f "$ENV_FILE" ]] || die "no $ENV_FILE yet: run scripts/deps.sh"
    grep '^export ' "$ENV_FILE" | sed 's/^export //'
    ;;
  *)
    echo "usage: scripts/deps.sh [up|stop|env|install PACKAGE...]" >&2
    exit 2
    ;;
esac
