#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
# Creates the login role Grafana's PostgreSQL datasource uses. The exporter's migrations grant it
# read access to the analytics views only (no phone numbers, no message text); they keep this
# role as it is when it already exists.
set -eu
: "${POSTGRES_READONLY_PASSWORD:?set POSTGRES_READONLY_PASSWORD in .env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="$POSTGRES_READONLY_PASSWORD" -v database="$POSTGRES_DB" <<'SQL'
SELECT format('CREATE ROLE whatsapp_readonly LOGIN PASSWORD %L', :'password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'whatsapp_readonly') \gexec
ALTER ROLE whatsapp_readonly WITH LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
ALTER ROLE whatsapp_readonly SET default_transaction_read_only = on;
ALTER ROLE whatsapp_readonly SET statement_timeout = '10s';
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO whatsapp_readonly;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
