#!/bin/sh
# The offline PostgreSQL image's entry point (docker/offline/postgres.Dockerfile): `postgres`
# initialises an empty data directory once, as the official image does (superuser
# $POSTGRES_USER with $POSTGRES_PASSWORD, password logins over TCP, then the scripts in
# /docker-entrypoint-initdb.d against a server on the socket only), then runs the server;
# any other command runs as given.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
export PGDATA POSTGRES_USER
if [ "${1:-}" != postgres ]; then
    exec "$@"
fi
shift
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "postgres-entrypoint: POSTGRES_PASSWORD must be set" >&2
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    pg_ctl --silent --wait --options="-c listen_addresses=''" start
    for script in /docker-entrypoint-initdb.d/*; do
        case "$script" in
            *.sh) echo "postgres-entrypoint: running $script"; sh "$script" ;;
            *.sql) echo "postgres-entrypoint: running $script"
                psql --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
                    --file "$script" ;;
        esac
    done
    pg_ctl --silent --wait --mode=fast stop
fi
exec postgres "$@"
