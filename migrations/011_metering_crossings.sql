-- Metering (issue #14): what intake owes the package workflows, kept durably. A crossing (threshold crossed,
-- quota used up) is written in the same transaction as the usage that caused it, and marked delivered once the
-- signal-with-start succeeded; the hourly push run delivers whatever is left (the API could not reach Temporal,
-- or died between commit and signal). RELEASED rows are written by that same sweep for packages whose instance
-- was released (or is gone) before their package was used up, so their workflows end.
CREATE TABLE metering_crossings (
  instance_id        text NOT NULL,
  kind               text NOT NULL CHECK (kind IN ('THRESHOLD_CROSSED', 'EXHAUSTED', 'RELEASED')),
  -- The total only grows, so each kind happens at most once per package.
  used_after         numeric(20, 4) NOT NULL,
  quota              numeric(20, 4) NOT NULL,
  stop_when_used_up  boolean NOT NULL,
  repurchase         boolean NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  delivered_at       timestamptz,
  PRIMARY KEY (instance_id, kind)
);
CREATE INDEX metering_crossings_undelivered ON metering_crossings (created_at) WHERE delivered_at IS NULL;
