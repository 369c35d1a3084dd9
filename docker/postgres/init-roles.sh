#!/bin/sh
# Runs once, when the PostgreSQL volume is first created (docker-entrypoint-initdb.d).
#
#   temporal        owns Temporal's databases (temporal-setup creates them)
#   riposte_owner   owns the audit database; Riposte's migrations run as it (audit-migrate)
#   riposte_writer  what the worker and the API connect as: SELECT and INSERT on events, the
#                   chain head, the schema version; granted once the tables exist (audit-grants)
set -eu
psql --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    --set temporal_password="$TEMPORAL_DB_PASSWORD" \
    --set owner_password="$RIPOSTE_OWNER_PASSWORD" \
    --set writer_password="$RIPOSTE_WRITER_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE riposte_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE riposte_writer LOGIN PASSWORD :'writer_password';
CREATE DATABASE riposte_audit OWNER riposte_owner;
REVOKE ALL ON DATABASE riposte_audit FROM PUBLIC;
GRANT CONNECT ON DATABASE riposte_audit TO riposte_owner, riposte_writer;
SQL
