#!/usr/bin/env bash
# Publishes one DeviceRegistered or DeviceDeleted the way an upstream MassTransit app does (same exchange,
# envelope and content type), through the RabbitMQ management API: a way to try the worker by hand.
#   scripts/publish.sh DeviceRegistered <tenantId> <deviceId>
#   scripts/publish.sh DeviceDeleted    <tenantId> <deviceId>
#   scripts/publish.sh replies          # binds (once) and reads the queue 'sample-replies' that collects every reply
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC1091
[ -f "$root/.deps/env" ] && . "$root/.deps/env"
api=${PROVISIONING_TEST_RABBITMQ_MANAGEMENT:-http://guest:guest@127.0.0.1:15672}
vhost=${VHOST:-%2F}
json='content-type: application/json'

bind_replies() {
  curl -fsS -X PUT "$api/api/queues/$vhost/sample-replies" -H "$json" -d '{"durable":true}' >/dev/null
  for reply in CredentialsIssued CredentialsRevoked ProvisioningRejected; do
    curl -fsS -X PUT "$api/api/exchanges/$vhost/Provisioning.Contracts%3A$reply" -H "$json" -d '{"type":"fanout","durable":true}' >/dev/null
    curl -fsS -X POST "$api/api/bindings/$vhost/e/Provisioning.Contracts%3A$reply/q/sample-replies" -H "$json" -d '{}' >/dev/null
  done
}

case "${1:-}" in
  DeviceRegistered|DeviceDeleted)
    [ $# -eq 3 ] || { echo "usage: $0 $1 <tenantId> <deviceId>" >&2; exit 2; }
    bind_replies
    type=$1 message_id=$(cat /proc/sys/kernel/random/uuid)
    envelope=$(printf '{"messageId":"%s","messageType":["urn:message:Provisioning.Contracts:%s"],"sentTime":"%s","message":{"tenantId":"%s","deviceId":"%s"}}' \
      "$message_id" "$type" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$2" "$3")
    body=$(printf '{"properties":{"content_type":"application/vnd.masstransit+json","delivery_mode":2,"message_id":"%s"},"routing_key":"","payload":%s,"payload_encoding":"string"}' \
      "$message_id" "$(printf '%s' "$envelope" | sed 's/\\/\\\\/g; s/"/\\"/g; s/^/"/; s/$/"/')")
    curl -fsS -X PUT "$api/api/exchanges/$vhost/Provisioning.Contracts%3A$type" -H "$json" -d '{"type":"fanout","durable":true}' >/dev/null
    curl -fsS -X POST "$api/api/exchanges/$vhost/Provisioning.Contracts%3A$type/publish" -H "$json" -d "$body"
    echo " (messageId $message_id)"
    ;;
  replies)
    bind_replies
    curl -fsS -X POST "$api/api/queues/$vhost/sample-replies/get" -H "$json" \
      -d '{"count":50,"ackmode":"ack_requeue_false","encoding":"auto"}' |
      sed 's/\\n//g; s/\\\\/\x01/g; s/\\"/"/g; s/\x01/\\/g; s/": */":/g; s/  */ /g' | grep -o '"message":{[^}]*}' || echo "(no replies yet)"
    ;;
  *) echo "usage: $0 DeviceRegistered|DeviceDeleted <tenantId> <deviceId> | replies" >&2; exit 2 ;;
esac
