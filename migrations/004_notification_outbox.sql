-- The notification outbox: every notification a workflow asks for (supervision reminders to the merchant and the
-- customer's account manager, hardware auto-acceptance notices, ...) is a row here, one per channel it goes out on.
-- Written by an activity (idempotent on dedupe_key), delivered at least once by the dispatcher
-- (src/notifications/dispatcher.ts), which claims due rows with FOR UPDATE SKIP LOCKED.

CREATE TABLE notification_outbox (
  id               bigserial PRIMARY KEY,
  -- `<request's dedupeKey>#<channel>`: the same request is enqueued once per channel, however often the activity runs.
  dedupe_key       text NOT NULL UNIQUE,
  -- The request's own dedupeKey, shared by the rows of one request fanned out to several channels.
  request_key      text NOT NULL,
  kind             text NOT NULL,
  recipient        text NOT NULL CHECK (recipient IN ('MERCHANT', 'ACCOUNT_MANAGER', 'CUSTOMER')),
  channel          text NOT NULL,
  order_id         text NOT NULL,
  instance_id      text,
  subject          text NOT NULL,
  body             text NOT NULL,
  data             jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- PENDING: to deliver (or being delivered: a claim moves next_attempt_at past its lease); SENT: delivered;
  -- FAILED: dead, every attempt failed or the channel refused it for good (ops may requeue it).
  status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
  -- Delivery attempts started (counted at claim, so a dispatcher that dies mid-send still uses one up).
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz
);

-- The dispatcher's claim: due PENDING rows, oldest due first. Partial, so delivered rows cost the claim nothing.
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at, id) WHERE status = 'PENDING';
-- Ops: an order's notifications; dead rows to look at.
CREATE INDEX notification_outbox_order_id ON notification_outbox (order_id, id);
CREATE INDEX notification_outbox_failed ON notification_outbox (id) WHERE status = 'FAILED';
