#!/bin/bash
# The official image's contract, in small: initialise PGDATA on first start with POSTGRES_USER / POSTGRES_PASSWORD
# (password authentication from other hosts) and POSTGRES_DB, then run the server as the postgres user.
set -euo pipefail

if [[ "${1:-}" == -* ]]; then
  set -- postgres "$@"
fi
if [[ "${1:-}" != postgres ]]; then
  exec "$@"
fi

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
[[ -n "${POSTGRES_PASSWORD:-}" ]] || {
  echo "entrypoint: POSTGRES_PASSWORD is not set (the official image refuses too)" >&2
  exit 1
}

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 0700 "$PGDATA"

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  chown postgres "$pwfile"
  as_postgres initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [[ "$POSTGRES_DB" != postgres ]]; then
    as_postgres postgres -D "$PGDATA" -c listen_addresses='' >/tmp/postgres-init.log 2>&1 &
    until as_postgres pg_isready -q -h /var/run/postgresql -U "$POSTGRES_USER" -d postgres; do sleep 0.2; done
    as_postgres psql -h /var/run/postgresql -U "$POSTGRES_USER" -d postgres -v ON_ERROR_STOP=1 -qAtX \
      -c "CREATE DATABASE \"$POSTGRES_DB\""
    as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  echo "entrypoint: PostgreSQL init process complete; ready for start up."
fi

exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$@" -c listen_addresses='*'
