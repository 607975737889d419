#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
# Creates the login role Grafana's PostgreSQL datasource uses with deploy/sql/readonly-role.sql,
# the same file an administrator runs on a managed PostgreSQL. The exporter grants the role the
# analytics views (no phone numbers, no message text) at every start; it never creates roles.
set -eu
: "${POSTGRES_READONLY_PASSWORD:?set POSTGRES_READONLY_PASSWORD in .env}"
case "$POSTGRES_READONLY_PASSWORD" in
  change-me*) echo "POSTGRES_READONLY_PASSWORD is the placeholder from .env.example; set a real password in .env" >&2; exit 1 ;;
esac
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="$POSTGRES_READONLY_PASSWORD" -f /opt/whatsapp-helpdesk/readonly-role.sql
# This stack's database serves only the exporter: nobody else may connect or use schema public.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -v database="$POSTGRES_DB" <<'SQL'
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO whatsapp_readonly;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
