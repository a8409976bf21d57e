-- Core tables of the production interface: replay protection, the read model, the inbox of marketplace calls,
-- and the built-in tenant registry. Written by activities and the API; never by workflow code.

-- V2 nonces seen within the signature window. A nonce seen before is a replay; rows expire with the window.
CREATE TABLE koo_nonces (
  nonce       text PRIMARY KEY,
  seen_at     timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX koo_nonces_expires_at ON koo_nonces (expires_at);

-- The read model: one row per instance, written at every transition of its order workflow.
CREATE TABLE instances (
  instance_id         text PRIMARY KEY,
  workflow_id         text NOT NULL,
  interface_version   text NOT NULL CHECK (interface_version IN ('V1', 'V2')),
  order_id            text NOT NULL,
  order_line_id       text,
  customer_id         text,
  product_id          text,
  sku_code            text,
  charging_mode       text,
  phase               text NOT NULL,
  result_code         text,
  trial               boolean NOT NULL DEFAULT false,
  test_order          boolean NOT NULL DEFAULT false,
  expire_time         timestamptz,
  spec                jsonb NOT NULL DEFAULT '{}'::jsonb,
  front_end_url       text,
  admin_url           text,
  memo                text,
  -- {userName, password} sealed with DATA_ENCRYPTION_KEY (AES-256-GCM); never stored in plain text.
  credentials_sealed  text,
  -- The workflow's transition counter: a write with a lower or equal seq is stale and ignored.
  seq                 integer NOT NULL DEFAULT 0,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX instances_workflow_id ON instances (workflow_id);
CREATE INDEX instances_order_id ON instances (order_id);
CREATE INDEX instances_customer_id ON instances (customer_id);
CREATE INDEX instances_phase ON instances (phase);

-- Every transition, for the ops timeline.
CREATE TABLE instance_transitions (
  instance_id  text NOT NULL,
  seq          integer NOT NULL,
  phase        text NOT NULL,
  event        text NOT NULL,
  detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
  at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (instance_id, seq)
);

-- Every marketplace call we answered (or refused), with what we answered.
CREATE TABLE marketplace_inbox (
  id                 bigserial PRIMARY KEY,
  received_at        timestamptz NOT NULL DEFAULT now(),
  interface_version  text,
  activity           text,
  business_id        text,
  order_id           text,
  order_line_id      text,
  instance_id        text,
  test_flag          boolean,
  body_sha256        text NOT NULL,
  result_code        text NOT NULL,
  http_status        integer NOT NULL,
  latency_ms         integer NOT NULL,
  refusal            text
);
CREATE INDEX marketplace_inbox_instance_id ON marketplace_inbox (instance_id);
CREATE INDEX marketplace_inbox_order_id ON marketplace_inbox (order_id);
CREATE INDEX marketplace_inbox_received_at ON marketplace_inbox (received_at);

-- Built-in provisioner: the merchant's tenants, keyed by instanceId so every step is idempotent.
CREATE TABLE tenants (
  instance_id         text PRIMARY KEY,
  tenant_key          text NOT NULL UNIQUE,
  status              text NOT NULL CHECK (status IN ('ACTIVE', 'FROZEN', 'DELETED')),
  spec                jsonb NOT NULL DEFAULT '{}'::jsonb,
  front_end_url       text NOT NULL,
  admin_url           text,
  credentials_sealed  text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  deleted_at          timestamptz
);

-- One free trial per customer and product (§11): the first claim wins; later trials answer 000105.
CREATE TABLE trial_benefits (
  customer_id  text NOT NULL,
  product_id   text NOT NULL,
  instance_id  text NOT NULL,
  claimed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (customer_id, product_id)
);
