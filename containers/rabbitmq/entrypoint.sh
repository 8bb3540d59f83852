#!/bin/bash
# The official image's contract, in small: listeners on every address, the default user from RABBITMQ_DEFAULT_USER /
# RABBITMQ_DEFAULT_PASS (an administrator of "/"), then the server as the rabbitmq user.
set -euo pipefail

if [[ "${1:-}" != rabbitmq-server ]]; then
  exec "$@"
fi

user="${RABBITMQ_DEFAULT_USER:-guest}"
pass="${RABBITMQ_DEFAULT_PASS:-guest}"
cat >/etc/rabbitmq/conf.d/10-defaults.conf <<CONF
# Written by the entrypoint from RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS.
loopback_users = none
listeners.tcp.default = 5672
management.tcp.port = 15672
default_user = $user
default_pass = $pass
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
CONF
chown -R rabbitmq:rabbitmq /etc/rabbitmq /var/lib/rabbitmq
# The Debian wrapper (/usr/sbin/rabbitmq-server) switches to the rabbitmq user itself when run as root.
exec "$@"
