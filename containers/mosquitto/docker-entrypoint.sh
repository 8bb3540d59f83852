#!/bin/sh
# As eclipse-mosquitto's: as root, hand /mosquitto to the mosquitto user, then run the command (Mosquitto itself
# drops from root to that user).
set -e
if [ "$(id -u)" = 0 ]; then
  chown -R mosquitto:mosquitto /mosquitto 2>/dev/null || true
fi
exec "$@"
