#!/bin/sh
# Migrate to head before the web process starts (migrations are safe to run again).
set -e
if [ "${MIGRATE_ON_START:-1}" = "1" ]; then
  membership db upgrade
fi
exec "$@"
