-- Grafana's read-only login for the WhatsApp helpdesk exporter (optional).
--
-- The exporter itself needs only ownership of its database: it never creates roles. If Grafana's
-- PostgreSQL datasource should read the analytics views (no phone numbers, no message text), an
-- administrator — a role with CREATEROLE: postgres, or the admin user of RDS, Cloud SQL or Azure —
-- runs this file once, connected to the exporter's database:
--
--   psql "postgres://admin@db.example.org:5432/whatsapp" -v password="$READONLY_PASSWORD" \
--        -f deploy/sql/readonly-role.sql
--
-- It creates (or updates) the login role whatsapp_readonly: read-only transactions, a 10 s
-- statement timeout, CONNECT on this database. At every start the exporter grants the role
-- SELECT on every view of the analytics schema and nothing else, so restart the exporter after
-- running this (the grants are also tried here, for an exporter already running). Running the
-- file again changes the password and is otherwise harmless. The docker compose stack runs it
-- when its database volume is created (docker/postgres/init-readonly.sh).
\set ON_ERROR_STOP on
\if :{?password}
\else
  \warn 'readonly-role.sql: pass the new role''s password: psql ... -v password=... -f deploy/sql/readonly-role.sql'
  SELECT 'the psql variable "password" is required'::int;
\endif

SELECT format('CREATE ROLE whatsapp_readonly LOGIN PASSWORD %L', :'password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'whatsapp_readonly') \gexec
ALTER ROLE whatsapp_readonly WITH LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
ALTER ROLE whatsapp_readonly SET default_transaction_read_only = on;
ALTER ROLE whatsapp_readonly SET statement_timeout = '10s';
SELECT format('GRANT CONNECT ON DATABASE %I TO whatsapp_readonly', current_database()) \gexec

-- The exporter repeats these at every start; here they take effect at once when the administrator
-- may grant on the exporter's schema (a superuser, or a member of the exporter's role).
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_namespace WHERE nspname = 'analytics') THEN
    GRANT USAGE ON SCHEMA analytics TO whatsapp_readonly;
    GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO whatsapp_readonly;
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'the exporter grants whatsapp_readonly the analytics views at its next start';
END
$$;
