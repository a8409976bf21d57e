-- Reconciliation: what the read model says against what the order workflows (and, where configured, the
-- marketplace's Query Order) say. Written by the reconciliation activities; read by GET /ops/drift and the
-- API's drift gauge.

-- One row per reconciliation run (a scheduled workflow, continue-as-new included).
CREATE TABLE reconciliation_runs (
  run_key            text PRIMARY KEY,
  started_at         timestamptz NOT NULL DEFAULT now(),
  finished_at        timestamptz,
  -- Every page was checked: only a complete run resolves findings it did not see again.
  complete           boolean NOT NULL DEFAULT false,
  checked            integer NOT NULL DEFAULT 0,
  unchecked          integer NOT NULL DEFAULT 0,
  new_findings       integer NOT NULL DEFAULT 0,
  resolved_findings  integer NOT NULL DEFAULT 0,
  open_findings      integer NOT NULL DEFAULT 0
);
CREATE INDEX reconciliation_runs_started_at ON reconciliation_runs (started_at DESC);

-- One row per (instance, kind of drift). Upserted while it is seen; resolved when a complete run no longer sees
-- it; reopened (a new occurrence, opened_run changes) if it comes back.
CREATE TABLE reconciliation_findings (
  instance_id    text NOT NULL,
  kind           text NOT NULL,
  workflow_id    text NOT NULL,
  order_id       text NOT NULL,
  details        jsonb NOT NULL DEFAULT '{}'::jsonb,
  first_seen_at  timestamptz NOT NULL DEFAULT now(),
  last_seen_at   timestamptz NOT NULL DEFAULT now(),
  opened_run     text NOT NULL,
  last_seen_run  text NOT NULL,
  resolved_at    timestamptz,
  PRIMARY KEY (instance_id, kind)
);
CREATE INDEX reconciliation_findings_open ON reconciliation_findings (kind, instance_id) WHERE resolved_at IS NULL;

-- GET /ops/orders pages the read model newest first by (updated_at, instance_id).
CREATE INDEX instances_updated_at_instance_id ON instances (updated_at DESC, instance_id DESC);
