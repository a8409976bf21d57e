-- Metering (issue #14): usage reported by the merchant's product for on-demand and package instances, the
-- per-instance totals that queryInstance and the package rules read, and the hourly push items sent to the
-- marketplace's usage-data API with their answers. Written by the intake API and the push activities only.

-- The per-instance registry: one row per metered instance (ON_DEMAND / ON_DEMAND_PKG), created at its first
-- usage record from the orders read model's facts, with the running total kept by the intake statement itself.
CREATE TABLE metering_instances (
  instance_id        text PRIMARY KEY,
  charging_mode      text NOT NULL CHECK (charging_mode IN ('ON_DEMAND', 'ON_DEMAND_PKG')),
  customer_id        text,
  product_id         text,
  sku_code           text,
  used               numeric(20, 4) NOT NULL DEFAULT 0,
  record_count       bigint NOT NULL DEFAULT 0,
  -- Packages only: the quota, whether service stops when it is used up, and the repurchase/alert threshold.
  quota              numeric(20, 4),
  stop_when_used_up  boolean,
  threshold_kind     text CHECK (threshold_kind IN ('PERCENT', 'REMAINING')),
  threshold_value    numeric(20, 4),
  -- Whether the buyer's auto-repurchase is expected at the threshold (false: a remainder alert only).
  repurchase         boolean,
  -- Auto-repurchase: the package that follows this one (and the one it follows), once linked.
  next_instance_id   text,
  prev_instance_id   text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX metering_instances_customer_product ON metering_instances (customer_id, product_id);
-- A package is followed by at most one package, and follows at most one.
CREATE UNIQUE INDEX metering_instances_next ON metering_instances (next_instance_id) WHERE next_instance_id IS NOT NULL;
CREATE UNIQUE INDEX metering_instances_prev ON metering_instances (prev_instance_id) WHERE prev_instance_id IS NOT NULL;

-- Every accepted usage record, idempotent by the reporter's recordId. `period_start` is the UTC hour of
-- begin_time (the push aggregates per instance and hour); `push_sn` is the push item it went into (NULL until
-- its hour is closed and aggregated).
CREATE TABLE metering_usage_records (
  record_id     text PRIMARY KEY,
  instance_id   text NOT NULL,
  usage_value   numeric(16, 4) NOT NULL CHECK (usage_value > 0),
  begin_time    timestamptz NOT NULL,
  end_time      timestamptz NOT NULL CHECK (end_time >= begin_time),
  period_start  timestamptz NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  push_sn       text
);
CREATE INDEX metering_usage_records_unpushed ON metering_usage_records (period_start) WHERE push_sn IS NULL;
CREATE INDEX metering_usage_records_instance ON metering_usage_records (instance_id, period_start);

-- One push item per (instance, hour, revision): what one usage_records entry of a push carries. metering_sn is
-- derived from (instance, hour, revision), so every retry of the item sends the same sn and the marketplace
-- bills it once. Revision 0 is the hour's usage at aggregation; a record arriving after that (late, but within
-- 21 days) goes into revision 1, 2, ... of the same hour, never into an item already sent.
CREATE TABLE metering_push_items (
  metering_sn          text PRIMARY KEY,
  instance_id          text NOT NULL,
  period_start         timestamptz NOT NULL,
  period_end           timestamptz NOT NULL,
  revision             integer NOT NULL,
  usage_value          numeric(20, 4) NOT NULL,
  relate_pkg_instance  text,
  record_time          timestamptz NOT NULL,
  -- PENDING: not yet accepted (never sent, or a retryable failure); ACCEPTED: the marketplace took it;
  -- FLAGGED: refused for good, or too many failed attempts: waits for ops (GET /ops/metering/flagged).
  status               text NOT NULL CHECK (status IN ('PENDING', 'ACCEPTED', 'FLAGGED')),
  attempts             integer NOT NULL DEFAULT 0,
  last_code            text,
  last_message         text,
  last_attempt_at      timestamptz,
  -- The push run that last sent it: a run sends each item at most once (whatever the clocks say).
  last_run             text,
  accepted_at          timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (instance_id, period_start, revision)
);
CREATE INDEX metering_push_items_pending ON metering_push_items (period_start, metering_sn) WHERE status = 'PENDING';
CREATE INDEX metering_push_items_flagged ON metering_push_items (metering_sn) WHERE status = 'FLAGGED';
