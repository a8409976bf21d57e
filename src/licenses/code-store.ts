import type { Pool } from 'pg';
import type { LicenseCodePhase, LicenseCodeState } from './contract.js';

// All SQL on the `license_codes` read model (migrations/008_licenses.sql).

/** One activated code as the read model holds it. */
export interface LicenseCodeRow {
  licenseCode: string;
  workflowId: string;
  phase: LicenseCodePhase;
  orderId: string | null;
  orderLineId: string | null;
  productId: string | null;
  customerId: string | null;
  expireTime: Date | null;
  deviceFingerprint: string | null;
  testOrder: boolean;
  activatedAt: Date;
  lastHeartbeatAt: Date | null;
  heartbeatResult: string | null;
  seq: number;
}

/** Writes a code's state; a write with an older (or equal) seq than the stored one changes nothing. */
export async function recordLicenseCode(pool: Pool, workflowId: string, s: LicenseCodeState): Promise<void> {
  const f = s.facts;
  await pool.query(
    `INSERT INTO license_codes AS c (license_code, workflow_id, phase, order_id, order_line_id, product_id, sku_code, customer_id, expire_time,
       device_fingerprint, test_order, activated_at, last_heartbeat_at, heartbeat_result, seq)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
     ON CONFLICT (license_code) DO UPDATE SET (workflow_id, phase, order_id, order_line_id, product_id, sku_code, customer_id, expire_time,
       device_fingerprint, last_heartbeat_at, heartbeat_result, seq, updated_at) =
       (EXCLUDED.workflow_id, EXCLUDED.phase, EXCLUDED.order_id, EXCLUDED.order_line_id, EXCLUDED.product_id, EXCLUDED.sku_code, EXCLUDED.customer_id,
        EXCLUDED.expire_time, EXCLUDED.device_fingerprint, EXCLUDED.last_heartbeat_at, EXCLUDED.heartbeat_result, EXCLUDED.seq, now())
     WHERE c.seq < EXCLUDED.seq`,
    [
      s.code, workflowId, s.phase, f.orderId ?? null, f.orderLineId ?? null, f.productId ?? null, f.skuCode ?? null, f.customerId ?? null,
      f.expireTime ?? null, s.deviceFingerprint ?? null, s.testOrder, s.activatedAt, s.lastHeartbeat?.at ?? null, s.lastHeartbeat?.result ?? null, s.seq,
    ],
  );
}

/** A code's row, or undefined when it was never activated here. */
export async function findLicenseCode(pool: Pool, code: string): Promise<LicenseCodeRow | undefined> {
  const r = await pool.query<LicenseCodeRow>(
    `SELECT license_code AS "licenseCode", workflow_id AS "workflowId", phase, order_id AS "orderId", order_line_id AS "orderLineId",
       product_id AS "productId", customer_id AS "customerId", expire_time AS "expireTime", device_fingerprint AS "deviceFingerprint",
       test_order AS "testOrder", activated_at AS "activatedAt", last_heartbeat_at AS "lastHeartbeatAt", heartbeat_result AS "heartbeatResult", seq
     FROM license_codes WHERE license_code = $1`,
    [code],
  );
  return r.rows[0];
}
