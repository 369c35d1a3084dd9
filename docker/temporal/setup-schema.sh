#!/bin/sh
# Creates Temporal's two databases on PostgreSQL and brings their schemas up to date.
# Safe to run again: `create` of an existing database fails harmlessly, and update-schema
# applies only what is missing.
set -eu
sql() {
    temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" --port "$DB_PORT" \
        --user "$POSTGRES_USER" --password "$POSTGRES_PWD" "$@"
}
schemas=/etc/temporal/schema/postgresql/v12
until nc -z "$POSTGRES_SEEDS" "$DB_PORT"; do sleep 1; done
for db in temporal temporal_visibility; do
    sql --db "$db" create || true
done
sql --db temporal setup-schema -v 0.0
sql --db temporal update-schema -d "$schemas/temporal/versioned"
sql --db temporal_visibility setup-schema -v 0.0
sql --db temporal_visibility update-schema -d "$schemas/visibility/versioned"
