import { createHash, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { withTransaction } from '../platform/db/transaction.js';
import type { LicenseClaims, LicenseFamily, LicenseRequest } from './contract.js';

// All SQL of the licenses context: the `licenses` table (migrations/008_licenses.sql), and the order read model's
// rows of license instances (license instances are orders; their rows are the orders context's `instances`).

/** What an issue needs besides the request: the instance's facts, decided by its workflow. */
export interface IssueLicenseInput {
  readonly instanceId: string;
  readonly family: LicenseFamily;
  readonly request: LicenseRequest;
  readonly quota: number;
  /** False while the instance is frozen: repeats are answered, new licenses are not issued. */
  readonly allowNew: boolean;
  readonly productId?: string;
  readonly skuCode?: string;
  readonly customerId?: string;
  /** ISO-8601: the instance's expiry, used when the request names none. */
  readonly instanceExpireTime?: string;
  readonly testOrder: boolean;
}

/** What an issue came to. */
export type IssueLicenseOutcome = IssuedLicense<'ISSUED'> | IssuedLicense<'EXISTING'> | { readonly outcome: 'QUOTA_EXCEEDED'; readonly issued: number } | { readonly outcome: 'FROZEN'; readonly issued: number };

/** A license handed out: newly issued, or the one a request was given before. `issued`: the instance's count. */
interface IssuedLicense<O extends 'ISSUED' | 'EXISTING'> {
  readonly outcome: O;
  readonly licenseId: string;
  readonly token: string;
  readonly issued: number;
  readonly fingerprintLabel?: string;
}

/** SHA-256 hex of a fingerprint ('' when none): the idempotency key's device part. */
export function fingerprintSha256(fingerprint: string | undefined): string {
  return createHash('sha256').update(fingerprint ?? '', 'utf8').digest('hex');
}

/** How a fingerprint appears in the LicenseFingerprints search attribute: itself, or its hash when long. */
export function fingerprintLabel(fingerprint: string | undefined): string | undefined {
  if (fingerprint === undefined || fingerprint === '') return undefined;
  return fingerprint.length <= 100 ? fingerprint : `sha256:${fingerprintSha256(fingerprint)}`;
}

const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/** The claims of a new license. */
export function licenseClaims(input: IssueLicenseInput, licenseId: string, now: Date): LicenseClaims {
  const r = input.request;
  const expireTime = r.expireTime ?? input.instanceExpireTime;
  return {
    licenseId,
    family: input.family,
    instanceId: input.instanceId,
    ...(input.productId ? { productId: input.productId } : {}),
    ...(input.skuCode ? { skuCode: input.skuCode } : {}),
    ...(input.customerId ? { customerId: input.customerId } : {}),
    effectiveTime: r.effectiveTime,
    ...(expireTime ? { expireTime } : {}),
    eventId: r.eventId,
    ...(r.deviceFingerprint ? { deviceFingerprint: r.deviceFingerprint } : {}),
    quota: input.quota,
    ...(input.testOrder ? { testOrder: true as const } : {}),
    iat: Math.floor(now.getTime() / 1000),
    nbf: seconds(r.effectiveTime),
    ...(expireTime ? { exp: seconds(expireTime) } : {}),
  };
}

/** The stored license for one request, if it was issued. */
export async function findLicense(pool: Pool, instanceId: string, eventId: string, fingerprint: string | undefined): Promise<{ licenseId: string; token: string } | undefined> {
  const r = await pool.query<{ licenseId: string; token: string }>(
    `SELECT license_id AS "licenseId", token FROM licenses WHERE instance_id = $1 AND event_id = $2 AND fingerprint_sha256 = $3`,
    [instanceId, eventId, fingerprintSha256(fingerprint)],
  );
  return r.rows[0];
}

/**
 * Returns the license already issued for this request, or issues a new one within the quota. Idempotent (a retried
 * activity finds its own insert), and serialised per instance by an advisory lock, so even two runs of the same
 * instance (a replayed test order) cannot exceed the quota together.
 */
export async function issueOrFindLicense(pool: Pool, input: IssueLicenseInput, sign: (claims: LicenseClaims) => Promise<{ token: string; kid: string }>, now = new Date()): Promise<IssueLicenseOutcome> {
  const r = input.request;
  const sha = fingerprintSha256(r.deviceFingerprint);
  return withTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('license:' || $1, 0))`, [input.instanceId]);
    const count = async () =>
      Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM licenses WHERE instance_id = $1 AND released_at IS NULL`, [input.instanceId])).rows[0]!.n);
    const existing = await client.query<{ licenseId: string; token: string }>(
      `SELECT license_id AS "licenseId", token FROM licenses WHERE instance_id = $1 AND event_id = $2 AND fingerprint_sha256 = $3`,
      [input.instanceId, r.eventId, sha],
    );
    const label = fingerprintLabel(r.deviceFingerprint);
    if (existing.rows[0]) return { outcome: 'EXISTING', ...existing.rows[0], issued: await count(), ...(label ? { fingerprintLabel: label } : {}) };
    const issued = await count();
    if (!input.allowNew) return { outcome: 'FROZEN', issued };
    if (issued >= input.quota) return { outcome: 'QUOTA_EXCEEDED', issued };
    const licenseId = randomUUID();
    const claims = licenseClaims(input, licenseId, now);
    const { token, kid } = await sign(claims);
    await client.query(
      `INSERT INTO licenses (license_id, instance_id, family, event_id, device_fingerprint, fingerprint_sha256, kid, token, claims, test_order, issued_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
      [licenseId, input.instanceId, input.family, r.eventId, r.deviceFingerprint ?? '', sha, kid, token, JSON.stringify(claims), input.testOrder, now],
    );
    return { outcome: 'ISSUED', licenseId, token, issued: issued + 1, ...(label ? { fingerprintLabel: label } : {}) };
  });
}

/** Marks an instance's licenses released (they stop counting against a quota; their bytes stay for repeats). */
export async function releaseLicenses(pool: Pool, instanceId: string): Promise<number> {
  const r = await pool.query(`UPDATE licenses SET released_at = now() WHERE instance_id = $1 AND released_at IS NULL`, [instanceId]);
  return r.rowCount ?? 0;
}

/** One issued license as ops see it. */
export interface LicenseRow {
  licenseId: string;
  instanceId: string;
  family: LicenseFamily;
  eventId: string;
  deviceFingerprint: string;
  kid: string;
  token: string;
  testOrder: boolean;
  issuedAt: Date;
  releasedAt: Date | null;
}

/** The licenses an instance issued, oldest first. */
export async function listLicenses(pool: Pool, instanceId: string, limit = 1000): Promise<LicenseRow[]> {
  const r = await pool.query<LicenseRow>(
    `SELECT license_id AS "licenseId", instance_id AS "instanceId", family, event_id AS "eventId", device_fingerprint AS "deviceFingerprint",
       kid, token, test_order AS "testOrder", issued_at AS "issuedAt", released_at AS "releasedAt"
     FROM licenses WHERE instance_id = $1 ORDER BY issued_at, license_id LIMIT $2`,
    [instanceId, limit],
  );
  return r.rows;
}

/** A license instance as a license request finds it: its read-model row, and the license this request was given. */
export interface LicenseTarget {
  readonly workflowId: string;
  readonly orderId: string;
  readonly phase: string;
  readonly licenseId: string | null;
  readonly token: string | null;
}

/**
 * The instance a license request names and the license already issued for that request, in one read (a repeat is
 * answered from here without its workflow). The instance's row is the order read model's (`instances`): license
 * instances are orders.
 */
export async function findLicenseTarget(pool: Pool, instanceId: string, eventId: string, fingerprint: string | undefined): Promise<LicenseTarget | undefined> {
  const r = await pool.query<LicenseTarget>(
    `SELECT i.workflow_id AS "workflowId", i.order_id AS "orderId", i.phase, l.license_id AS "licenseId", l.token
     FROM instances i LEFT JOIN licenses l ON l.instance_id = i.instance_id AND l.event_id = $2 AND l.fingerprint_sha256 = $3
     WHERE i.instance_id = $1`,
    [instanceId, eventId, fingerprintSha256(fingerprint)],
  );
  return r.rows[0];
}

/** The instance of a V1 License purchase order (its license instance workflow's read-model row), if any. */
export async function findInstanceIdByWorkflowId(pool: Pool, workflowId: string): Promise<string | undefined> {
  const r = await pool.query<{ instanceId: string }>(`SELECT instance_id AS "instanceId" FROM instances WHERE workflow_id = $1`, [workflowId]);
  return r.rows[0]?.instanceId;
}
