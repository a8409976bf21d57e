#!/bin/sh
# Creates the Temporal namespace (when missing) and registers custom search attributes in it, idempotently.
#
#   setup-namespace.sh Name=Type [Name=Type ...]
#
# Run by the one-shot `temporal-namespace` service of docker-compose.yml (image temporalio/admin-tools: the
# `temporal` CLI and busybox sh; no jq, so the CLI's table output is read) once the server serves. The Name=Type list
# lives in that service's `command:`; test/unit/compose.test.ts holds it equal to src/kernel/search-attributes.ts.
# Usable against any self-hosted cluster (set TEMPORAL_ADDRESS); Temporal Cloud namespaces are made in its console.
#
# - Retries until the server answers; a namespace it creates becomes usable after the server's namespace cache
#   refresh (seconds), which the retries also cover.
# - Creates only what is missing, so a second run is a no-op; a concurrent run that wins the race is fine.
# - An existing namespace keeps its retention (change it with `temporal operator namespace update --retention`).
# - An attribute that already exists with a different type is an error: Temporal cannot change a type in place.
# - Types: Keyword Text Int Double Bool Datetime KeywordList (case-insensitive).
#
# Environment: TEMPORAL_ADDRESS (default temporal:7233), TEMPORAL_NAMESPACE (default default),
# TEMPORAL_NAMESPACE_RETENTION (default 30d: how long closed workflows stay queryable), SETUP_MAX_ATTEMPTS
# (default 90), SETUP_RETRY_DELAY_SECONDS (default 2).
set -eu
set -f # names and types are validated below and word-split on purpose; never glob them

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-30d}"
MAX_ATTEMPTS="${SETUP_MAX_ATTEMPTS:-90}"
RETRY_DELAY="${SETUP_RETRY_DELAY_SECONDS:-2}"

log() { printf 'setup-namespace: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# KEYWORD_LIST, KeywordList, INDEXED_VALUE_TYPE_KEYWORD_LIST -> keywordlist
normalize_type() {
  printf '%s' "$1" | sed 's/^INDEXED_VALUE_TYPE_//' | tr -d '_' | tr '[:upper:]' '[:lower:]'
}

[ "$#" -gt 0 ] || die "usage: setup-namespace.sh Name=Type [Name=Type ...]"
command -v temporal >/dev/null 2>&1 || die "the temporal CLI is not on PATH"

for spec in "$@"; do
  name="${spec%%=*}"
  type="${spec#*=}"
  [ "$name" != "$spec" ] || die "'$spec' is not Name=Type"
  printf '%s' "$name" | grep -Eq '^[A-Za-z][A-Za-z0-9_]*$' || die "invalid search attribute name '$name'"
  case "$(normalize_type "$type")" in
    keyword | text | int | double | bool | datetime | keywordlist) ;;
    *) die "unsupported type '$type' for '$name'" ;;
  esac
done

errfile="$(mktemp)"
trap 'rm -f "$errfile"' EXIT

# Prints "Name<TAB>Type" for every search attribute of the namespace (system ones included), from the table the
# CLI prints (a "Name  Type" header, then one row each); fails while the server or the namespace is not ready.
current_attributes() {
  table="$(temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE" 2>"$errfile")" || return 1
  printf '%s\n' "$table" | awk 'NF >= 2 && $1 != "Name" { print $1 "\t" $2 }'
}

attempt=1
while :; do
  if ! temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>"$errfile"; then
    # Not found, or the server is not up yet: try to create it; the next round tells which it was.
    log "attempt $attempt/$MAX_ATTEMPTS: namespace '$NAMESPACE' at $ADDRESS not found or not ready: $(tail -n 1 "$errfile")"
    if temporal operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION" 2>"$errfile"; then
      log "created namespace '$NAMESPACE' (retention $RETENTION)"
    fi
  elif listing="$(current_attributes)"; then
    missing=""
    for spec in "$@"; do
      name="${spec%%=*}"
      type="${spec#*=}"
      have="$(printf '%s\n' "$listing" | awk -F '\t' -v n="$name" '$1 == n { print $2; exit }')"
      if [ -z "$have" ]; then
        missing="$missing $name=$type"
      elif [ "$(normalize_type "$have")" != "$(normalize_type "$type")" ]; then
        die "'$name' already exists in namespace '$NAMESPACE' with type $have, not $type"
      fi
    done

    if [ -z "$missing" ]; then
      log "namespace '$NAMESPACE' at $ADDRESS has all $# search attributes"
      exit 0
    fi

    create_args=""
    for spec in $missing; do
      create_args="$create_args --name ${spec%%=*} --type ${spec#*=}"
    done
    log "attempt $attempt/$MAX_ATTEMPTS: creating$missing"
    # shellcheck disable=SC2086 # validated tokens, split on purpose
    if ! temporal operator search-attribute create --address "$ADDRESS" --namespace "$NAMESPACE" $create_args 2>"$errfile"; then
      log "create failed (will re-check and retry): $(tail -n 1 "$errfile")"
    fi
    # Success or not, the next round lists again: that is the verification.
  else
    log "attempt $attempt/$MAX_ATTEMPTS: search attributes of '$NAMESPACE' not readable yet: $(tail -n 1 "$errfile")"
  fi

  [ "$attempt" -lt "$MAX_ATTEMPTS" ] || die "gave up after $attempt attempts"
  attempt=$((attempt + 1))
  sleep "$RETRY_DELAY"
done
