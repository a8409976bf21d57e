-- Notifications run on Temporal now (one notificationWorkflow per message and channel; README, "Notifications"):
-- Temporal keeps, retries and shows them, so the PostgreSQL outbox, its leased claims and its purge go.
--
-- Rows the outbox had not delivered (PENDING) or had given up on (FAILED) are not thrown away with it: when there
-- are any, they move to notification_outbox_undelivered, for ops to read (and resend by hand if still relevant),
-- then drop. Nothing delivers them any more:
--   SELECT status, kind, recipient, channel, order_id, subject, last_error FROM notification_outbox_undelivered;
--   DROP TABLE notification_outbox_undelivered;
-- To have none, let the previous version's worker drain the outbox before upgrading
-- (SELECT count(*) FROM notification_outbox WHERE status = 'PENDING' is 0).

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM notification_outbox WHERE status <> 'SENT') THEN
    CREATE TABLE notification_outbox_undelivered AS
      SELECT id, dedupe_key, request_key, kind, recipient, channel, order_id, instance_id, subject, body, data,
             status, attempts, last_error, created_at
      FROM notification_outbox
      WHERE status <> 'SENT';
    RAISE NOTICE 'notification_outbox: % undelivered rows kept in notification_outbox_undelivered',
      (SELECT count(*) FROM notification_outbox_undelivered);
  END IF;
END
$$;

DROP TABLE notification_outbox;
