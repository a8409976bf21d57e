#!/bin/sh
# Creates Temporal's two PostgreSQL databases and brings their schemas to the version of the temporal-sql-tool that
# runs it (the admin-tools image's, which matches the server image's version), idempotently.
#
# Run by the one-shot `temporal-schema` service of docker-compose.yml (image temporalio/admin-tools) before the
# server starts, and again on every `docker compose up`: each step is a no-op when already done, so a server
# upgrade is "bump both image tags, up again" (update-schema applies the new versions first).
#
#   persistence: database `temporal`            schema postgresql/v12/temporal
#   visibility:  database `temporal_visibility` schema postgresql/v12/visibility  (SQL visibility, PostgreSQL 12+)
#
# Environment, read by temporal-sql-tool itself (so the password is never on a command line): SQL_PLUGIN
# (postgres12), SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD. TEMPORAL_DB and TEMPORAL_VISIBILITY_DB (defaults temporal,
# temporal_visibility: the names in deploy/temporal/config/temporal-server.yaml). SETUP_MAX_ATTEMPTS (default 30)
# and SETUP_RETRY_DELAY_SECONDS (default 2) bound the wait for PostgreSQL to accept the user.
set -eu

: "${SQL_PLUGIN:=postgres12}"
: "${SQL_PORT:=5432}"
export SQL_PLUGIN SQL_PORT
[ -n "${SQL_HOST:-}" ] || { echo "setup-schema: SQL_HOST must be set" >&2; exit 1; }
[ -n "${SQL_USER:-}" ] || { echo "setup-schema: SQL_USER must be set" >&2; exit 1; }
[ -n "${SQL_PASSWORD:-}" ] || { echo "setup-schema: SQL_PASSWORD must be set" >&2; exit 1; }
DB="${TEMPORAL_DB:-temporal}"
VISIBILITY_DB="${TEMPORAL_VISIBILITY_DB:-temporal_visibility}"
for name in "$DB" "$VISIBILITY_DB"; do
  printf '%s' "$name" | grep -Eq '^[a-z_][a-z0-9_]*$' || { echo "setup-schema: invalid database name '$name'" >&2; exit 1; }
done
MAX_ATTEMPTS="${SETUP_MAX_ATTEMPTS:-30}"
RETRY_DELAY="${SETUP_RETRY_DELAY_SECONDS:-2}"

log() { printf 'setup-schema: %s\n' "$*" >&2; }

# `create` connects to the maintenance database `postgres` and creates the database unless it exists; it is also
# the connection check, retried while PostgreSQL starts or runs its init scripts.
create() {
  attempt=1
  until temporal-sql-tool --db "$1" create --defaultdb postgres; do
    [ "$attempt" -lt "$MAX_ATTEMPTS" ] || { log "gave up creating database $1 after $attempt attempts"; exit 1; }
    log "attempt $attempt/$MAX_ATTEMPTS: PostgreSQL at $SQL_HOST:$SQL_PORT not ready, retrying in ${RETRY_DELAY}s"
    attempt=$((attempt + 1))
    sleep "$RETRY_DELAY"
  done
}

for pair in "$DB:temporal" "$VISIBILITY_DB:visibility"; do
  db="${pair%%:*}"
  schema="postgresql/v12/${pair#*:}"
  create "$db"
  # Version tables, and version 0.0 when the database is new (skipped when it is already further).
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  # Every versioned step above the current version, from the schemas embedded in the tool.
  temporal-sql-tool --db "$db" update-schema --schema-name "$schema"
  log "database $db is at the schema of this temporal-sql-tool ($schema)"
done
