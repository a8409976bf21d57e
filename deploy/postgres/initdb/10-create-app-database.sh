#!/usr/bin/env bash
# Creates the application's role and database next to Temporal's on the compose stack's PostgreSQL.
#
# Run by the postgres image's entrypoint from /docker-entrypoint-initdb.d, once, when the data directory is
# empty (a fresh volume). It is executed if it has the executable bit and sourced otherwise, so it sets no
# shell options of its own and uses no `exit`. Temporal's databases are not made here: the `temporal`
# database is POSTGRES_DB (default: POSTGRES_USER) and the temporal-schema one-shot creates `temporal_visibility`.
#
# Inputs (environment of the postgres service): APP_DB_NAME, APP_DB_USER, APP_DB_PASSWORD.

psql -v ON_ERROR_STOP=1 --no-psqlrc \
  --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
  --set=app_db="${APP_DB_NAME:-koogallery_orders}" \
  --set=app_user="${APP_DB_USER:-koogallery}" \
  --set=app_password="${APP_DB_PASSWORD:?APP_DB_PASSWORD must be set on the postgres service}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'app_user', :'app_password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_user')
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'app_db', :'app_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'app_db')
\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'app_db')
\gexec
SQL
