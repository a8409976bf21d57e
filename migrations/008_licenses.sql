-- License products (issue #13). License instances themselves are order-like: their row is in `instances` (the
-- read model every order workflow writes), so queryInstance, the ops API and reconciliation see them. Here: the
-- licenses they issued, and the license codes (授权码 2.0) activated through this service.

-- Every license issued, exactly as it was handed out: a repeat of the same request gets these bytes again.
CREATE TABLE licenses (
  license_id               text PRIMARY KEY,
  instance_id              text NOT NULL,
  family                   text NOT NULL CHECK (family IN ('ONLINE_LICENSE', 'LICENSE_V1', 'LICENSE_CODE')),
  event_id                 text NOT NULL,
  -- '' when the request named no device; kept in full for ops, keyed by its hash (up to 1024 characters of any
  -- script do not fit a btree entry).
  device_fingerprint       text NOT NULL DEFAULT '',
  fingerprint_sha256       text NOT NULL,
  kid                      text NOT NULL,
  token                    text NOT NULL,
  claims                   jsonb NOT NULL,
  test_order               boolean NOT NULL DEFAULT false,
  issued_at                timestamptz NOT NULL DEFAULT now(),
  -- Set when the instance was released: the license no longer counts against a quota (a replayed test order).
  released_at              timestamptz,
  -- The idempotency key of getLicenseAsync (instanceId + eventId + deviceFingerprint).
  UNIQUE (instance_id, event_id, fingerprint_sha256)
);
CREATE INDEX licenses_instance_issued ON licenses (instance_id, issued_at);
CREATE INDEX licenses_fingerprint ON licenses (fingerprint_sha256);

-- The read model of activated license codes: one row per code, written at every transition of its workflow (the
-- workflow's history is the code's timeline).
CREATE TABLE license_codes (
  license_code        text PRIMARY KEY,
  workflow_id         text NOT NULL UNIQUE,
  phase               text NOT NULL CHECK (phase IN ('ACTIVE', 'FROZEN', 'RELEASED')),
  order_id            text,
  order_line_id       text,
  product_id          text,
  sku_code            text,
  customer_id         text,
  expire_time         timestamptz,
  device_fingerprint  text,
  test_order          boolean NOT NULL DEFAULT false,
  activated_at        timestamptz NOT NULL,
  last_heartbeat_at   timestamptz,
  -- The marketplace's answer to the last heartbeat (error_code), for ops.
  heartbeat_result    text,
  -- The workflow's transition counter: a write with a lower or equal seq is stale and ignored.
  seq                 integer NOT NULL,
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX license_codes_order_id ON license_codes (order_id);
