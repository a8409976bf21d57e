-- Purchase lines of supervisions that closed without acceptance (released before it, or an appeal closed) were
-- written off by the order workflow alone until 2026-12-07 and stayed PENDING here, shown to ops and reports as
-- sales waiting for an acceptance that cannot come. Since patch write-off-unaccepted-purchase-line-in-store the
-- order writes them off here too (with this reason); this moves the ones from before. Such a line never reached a
-- statement (a supervised purchase is eligible only from acceptance), so it has no journal to reverse. A line in a
-- statement is left to it. Safe to run again: it matches nothing the second time.
UPDATE settlement_lines l
   SET state = 'WRITTEN_OFF',
       ineligible_reason = 'supervision closed ' || s.outcome || ' without acceptance',
       updated_at = now()
  FROM supervisions s
 WHERE s.order_workflow_id = l.order_workflow_id
   AND s.outcome IN ('RELEASED', 'APPEAL_CLOSED')
   AND l.event_kind = 'PURCHASE'
   AND l.statement_id IS NULL
   AND l.state IN ('PENDING', 'ELIGIBLE');
