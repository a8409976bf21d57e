#!/bin/sh
# Registers custom search attributes in a Temporal namespace, idempotently.
#
#   register-search-attributes.sh Name=Type [Name=Type ...]
#
# Run by the one-shot `temporal-register-search-attributes` service of docker-compose.yml (image
# temporalio/admin-tools: the `temporal` CLI, jq, busybox sh). The Name=Type list lives in that service's
# `command:`; test/unit/compose.test.ts holds it equal to src/shared/search-attributes.ts.
#
# - Waits (with retries) until the server answers and the namespace exists: auto-setup creates the
#   `default` namespace in the background after the server reports SERVING.
# - Creates only what is missing, so a second run is a no-op; a concurrent run that wins the race is fine.
# - An attribute that already exists with a different type is an error: Temporal cannot change a type in
#   place (remove it with `temporal operator search-attribute remove` and re-run, on a dev stack only).
# - Types: Keyword Text Int Double Bool Datetime KeywordList (case-insensitive).
#
# Environment: TEMPORAL_ADDRESS (default temporal:7233), TEMPORAL_NAMESPACE (default default),
# REGISTER_MAX_ATTEMPTS (default 90), REGISTER_RETRY_DELAY_SECONDS (default 2).
set -eu
set -f # names and types are validated below and word-split on purpose; never glob them

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
MAX_ATTEMPTS="${REGISTER_MAX_ATTEMPTS:-90}"
RETRY_DELAY="${REGISTER_RETRY_DELAY_SECONDS:-2}"

log() { printf 'register-search-attributes: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# KEYWORD_LIST, KeywordList, INDEXED_VALUE_TYPE_KEYWORD_LIST -> keywordlist
normalize_type() {
  printf '%s' "$1" | sed 's/^INDEXED_VALUE_TYPE_//' | tr -d '_' | tr '[:upper:]' '[:lower:]'
}

[ "$#" -gt 0 ] || die "usage: register-search-attributes.sh Name=Type [Name=Type ...]"
command -v temporal >/dev/null 2>&1 || die "the temporal CLI is not on PATH"
command -v jq >/dev/null 2>&1 || die "jq is not on PATH"

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

# Prints "Name<TAB>type" for the attributes of the namespace; fails while the server or the namespace is not
# ready. Enum values may come back as shorthand (Keyword), full names (INDEXED_VALUE_TYPE_KEYWORD) or numbers
# depending on the CLI version; all are accepted. If the JSON shape is not the expected one (no custom
# attributes found), the text table ("Name  Type" rows, system attributes included) is read instead.
current_attributes() {
  json="$(temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE" --output json 2>"$errfile")" || return 1
  parsed="$(printf '%s' "$json" | jq -r '
    (.customAttributes // .custom_attributes // {}) | to_entries[]
    | "\(.key)\t\(if (.value | type) == "number"
                 then (["unspecified","text","keyword","int","double","bool","datetime","keywordlist"][.value] // "unknown")
                 else .value end)"' 2>"$errfile")" || return 1
  if [ -n "$parsed" ]; then
    printf '%s\n' "$parsed"
    return 0
  fi
  table="$(temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE" 2>"$errfile")" || return 1
  printf '%s\n' "$table" | awk 'NF >= 2 && $1 != "Name" { print $1 "\t" $2 }'
}

attempt=1
while :; do
  if listing="$(current_attributes)"; then
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
      log "all $# search attributes are registered in namespace '$NAMESPACE' at $ADDRESS"
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
    # Success or not, the next iteration lists again: that is the verification.
  else
    log "attempt $attempt/$MAX_ATTEMPTS: namespace '$NAMESPACE' at $ADDRESS not ready: $(tail -n 1 "$errfile")"
  fi

  [ "$attempt" -lt "$MAX_ATTEMPTS" ] || die "gave up after $attempt attempts"
  attempt=$((attempt + 1))
  sleep "$RETRY_DELAY"
done
