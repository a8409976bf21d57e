-- Service supervision (spec §9): one row per supervised order line, written by the supervision workflow's
-- activity at every transition (seq-guarded like the instances row), and a timeline of its events. The merchant
-- operations API lists and reads from here; the workflow stays the source of truth.

CREATE TABLE supervisions (
  workflow_id        text PRIMARY KEY,
  order_workflow_id  text NOT NULL,
  instance_id        text NOT NULL,
  order_id           text NOT NULL,
  order_line_id      text,
  customer_id        text,
  product_id         text,
  kind               text NOT NULL CHECK (kind IN ('GENERAL', 'HARDWARE')),
  node               text NOT NULL,
  -- What the marketplace shows: PROCESSING (处理中) until acceptance, COMPLETED (已完成) after, or CLOSED.
  status             text NOT NULL CHECK (status IN ('PROCESSING', 'COMPLETED', 'CLOSED')),
  appeal_open        boolean NOT NULL DEFAULT false,
  test_order         boolean NOT NULL DEFAULT false,
  started_at         timestamptz NOT NULL,
  accepted_at        timestamptz,
  outcome            text,
  validity_start     timestamptz,
  validity_end       timestamptz,
  reminders_sent     integer NOT NULL DEFAULT 0,
  last_reminder_at   timestamptz,
  -- The workflow's whole supervision state (shipment, sign-for, appeal, requirement), for the ops API.
  state              jsonb NOT NULL,
  seq                integer NOT NULL,
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX supervisions_order_id ON supervisions (order_id);
CREATE INDEX supervisions_instance_id ON supervisions (instance_id);
-- "Every order waiting for acceptance", "everything older than 180 days": the ops list filters on these.
CREATE INDEX supervisions_node_started ON supervisions (node, started_at);

CREATE TABLE supervision_events (
  workflow_id  text NOT NULL,
  seq          integer NOT NULL,
  node         text NOT NULL,
  event        text NOT NULL,
  detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
  at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workflow_id, seq)
);

-- The order's read-model row shows its supervision too (written only by the supervision writer, guarded by its
-- own counter, so the order workflow's writes and these never overwrite each other).
ALTER TABLE instances ADD COLUMN supervision_node text;
ALTER TABLE instances ADD COLUMN supervision_status text;
ALTER TABLE instances ADD COLUMN supervision_seq integer NOT NULL DEFAULT 0;
