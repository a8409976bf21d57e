-- Settlement (spec §10, issue #15): settlement lines (one per billable event of an order), monthly statements, the
-- merchant's VAT invoices, platform-fee invoice requests, and a double-entry ledger. Money is bigint fen; rates are
-- integer parts per million. Written by the settlement activities; read by the ops API.

-- One row per billable event (purchase, renewal, upgrade, downgrade, refund, usage) of an order line.
CREATE TABLE settlement_lines (
  line_key           text PRIMARY KEY,
  order_workflow_id  text NOT NULL,
  instance_id        text NOT NULL,
  order_id           text NOT NULL,
  product_id         text NOT NULL,
  event_kind         text NOT NULL,
  goods              text NOT NULL CHECK (goods IN ('GENERAL', 'JOINT_OPERATION', 'HUAWEI', 'YANXUAN')),
  settlement_type    text NOT NULL CHECK (settlement_type IN ('PLATFORM_FEE', 'REVENUE_SPLIT')),
  tax_rate_ppm       integer NOT NULL CHECK (tax_rate_ppm BETWEEN 0 AND 1000000),
  -- Revenue split: the marketplace's share; general goods: set at statement build from the GMV tier.
  share_rate_ppm     integer NOT NULL CHECK (share_rate_ppm BETWEEN 0 AND 1000000),
  gross_minor        bigint NOT NULL,
  test_order         boolean NOT NULL,
  -- When the line became eligible under §10; NULL while it is not (unpaid, supervision pending, not activated).
  eligible_at        timestamptz,
  ineligible_reason  text,
  state              text NOT NULL CHECK (state IN ('PENDING', 'ELIGIBLE', 'IN_STATEMENT', 'INVOICED', 'COUNTERSIGNED', 'PAID', 'WRITTEN_OFF')),
  statement_id       text,
  share_minor        bigint,
  net_minor          bigint,
  tax_minor          bigint,
  event              jsonb NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
-- What the next statement of a type collects.
CREATE INDEX settlement_lines_unbilled ON settlement_lines (settlement_type, eligible_at)
  WHERE statement_id IS NULL AND eligible_at IS NOT NULL AND NOT test_order;
CREATE INDEX settlement_lines_statement ON settlement_lines (statement_id, order_workflow_id) WHERE statement_id IS NOT NULL;
CREATE INDEX settlement_lines_order ON settlement_lines (order_workflow_id);

-- One statement per period and settlement type.
CREATE TABLE settlement_statements (
  statement_id            text PRIMARY KEY,
  period                  text NOT NULL CHECK (period ~ '^\d{4}-\d{2}$'),
  settlement_type         text NOT NULL CHECK (settlement_type IN ('PLATFORM_FEE', 'REVENUE_SPLIT')),
  step                    text NOT NULL,
  summary                 jsonb,
  state                   jsonb,
  marketplace_bill_minor  bigint,
  -- Marketplace bill − our net: not zero is flagged to ops (GET /ops/settlement/statements?flagged=true).
  difference_minor        bigint,
  payment_request_no      text,
  -- Lines whose key starts with this (empty: every line): a statement over part of the lines (tests, benchmarks).
  scope                   text NOT NULL DEFAULT '',
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  UNIQUE (period, settlement_type, scope)
);

-- The merchant's VAT special invoices to Huawei. The invoice number is the key: one invoice never covers two
-- payment requests (§10).
CREATE TABLE settlement_invoices (
  invoice_no          text PRIMARY KEY,
  statement_id        text NOT NULL REFERENCES settlement_statements (statement_id),
  payment_request_no  text NOT NULL,
  tax_rate_ppm        integer NOT NULL,
  amount_minor        bigint NOT NULL,
  remark              text NOT NULL CHECK (remark LIKE '%申付单号%' AND remark LIKE '%对账期次%'),
  mailed_to           text NOT NULL,
  issued_at           timestamptz NOT NULL,
  signed_for_at       timestamptz,
  UNIQUE (statement_id, tax_rate_ppm)
);

-- General goods: the platform-fee invoice request prepared from the merchant's invoice template.
CREATE TABLE platform_fee_invoice_requests (
  statement_id  text PRIMARY KEY REFERENCES settlement_statements (statement_id),
  fee_minor     bigint NOT NULL,
  template      jsonb NOT NULL,
  requested_at  timestamptz NOT NULL DEFAULT now()
);

-- The ledger: each journal (line, period, kind) is a set of postings that sums to zero (debits positive). Posting
-- is idempotent by that key: a retried activity inserts nothing twice (ON CONFLICT DO NOTHING).
CREATE TABLE ledger_postings (
  line_key      text NOT NULL,
  period        text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('SALE', 'MARKETPLACE_SHARE', 'PLATFORM_FEE', 'OUTPUT_VAT', 'PAYOUT', 'WRITE_OFF')),
  account       text NOT NULL,
  amount_minor  bigint NOT NULL,
  statement_id  text NOT NULL,
  posted_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (line_key, period, kind, account)
);
CREATE INDEX ledger_postings_statement ON ledger_postings (statement_id);
CREATE INDEX ledger_postings_period ON ledger_postings (period);

-- Postings are never changed or removed: a correction is a new journal.
CREATE FUNCTION ledger_postings_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger postings are immutable (% of journal %/%/%)', TG_OP, OLD.line_key, OLD.period, OLD.kind
    USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER ledger_postings_immutable BEFORE UPDATE OR DELETE ON ledger_postings
  FOR EACH ROW EXECUTE FUNCTION ledger_postings_immutable();

-- Every journal an INSERT touched balances, checked by the database in the writing transaction (a statement-level
-- trigger over the inserted rows: one query per INSERT, not one per row). Statement and period balances follow,
-- and the store checks them again before it commits.
CREATE FUNCTION ledger_journals_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
  SELECT p.line_key, p.period, p.kind, sum(p.amount_minor) AS total INTO bad
    FROM ledger_postings p
    JOIN (SELECT DISTINCT line_key, period, kind FROM posted) j USING (line_key, period, kind)
   GROUP BY p.line_key, p.period, p.kind
  HAVING sum(p.amount_minor) <> 0
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'unbalanced journal %/%/% (sums to %)', bad.line_key, bad.period, bad.kind, bad.total
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_journals_balance AFTER INSERT ON ledger_postings
  REFERENCING NEW TABLE AS posted FOR EACH STATEMENT EXECUTE FUNCTION ledger_journals_balance();
