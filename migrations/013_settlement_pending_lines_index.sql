-- The settlement gauges (src/settlement/gauges.ts) count the lines waiting outside any statement for a condition of
-- §10 (supervision, activation) and read the oldest of them at every scrape: an index of just those rows keeps
-- that cheap however many lines are paid.
CREATE INDEX settlement_lines_pending ON settlement_lines (created_at)
  WHERE state = 'PENDING' AND statement_id IS NULL AND NOT test_order;
