import { randomInt } from 'node:crypto';
import type { Pool } from '../../platform/db/pool.js';
import { toJsonb } from '../../platform/db/jsonb.js';
import type { SealedBox } from '../../platform/sealed-box.js';
import { ProvisionerError, type AdminContacts, type Provisioner, type TenantAccess, type TenantStatus } from './provisioner.js';

// The built-in provisioner is a store (hence the file name, and the fence's "SQL only in stores"): the merchant's
// tenants are rows of `tenants`, keyed by instanceId. Every statement is a
// single idempotent one whose WHERE clause carries its precondition (create: insert-if-absent, re-activate-if-deleted,
// read back), so concurrent or repeated activity attempts converge on one row without read-modify-write races.
// Rows are never hard-deleted: a removed tenant stays for audit.

/** Dependencies of the built-in tenant registry. */
export interface BuiltinTenantRegistryOptions {
  pool: Pool;
  /** Seals the generated credentials; its keyed digest also makes tenant keys unguessable. */
  sealedBox: SealedBox;
  /** Front-end URL; every `{tenant}` is replaced by the tenant key. */
  tenantUrlTemplate: string;
  /** Admin URL; every `{tenant}` is replaced by the tenant key; empty means no admin URL. */
  tenantAdminUrlTemplate?: string;
  /** Clock for created_at/updated_at/deleted_at (tests). */
  now?: () => Date;
}

const TENANT_PLACEHOLDER = '{tenant}';
const PASSWORD_LENGTH = 24;
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
// No quotes, backslash, spaces or URL/shell metacharacters: buyers copy this password from the marketplace console.
const SYMBOLS = '!#%*+-=?@_~';
const PASSWORD_ALPHABET = UPPER + LOWER + DIGITS + SYMBOLS;

/** A random password of PASSWORD_LENGTH characters with at least one of each class (CSPRNG, unbiased). */
export function generateTenantPassword(): string {
  const pick = (alphabet: string): string => alphabet[randomInt(alphabet.length)]!;
  const chars = [pick(UPPER), pick(LOWER), pick(DIGITS), pick(SYMBOLS)];
  while (chars.length < PASSWORD_LENGTH) chars.push(pick(PASSWORD_ALPHABET));
  // Fisher–Yates, so the guaranteed classes are not always in the first four positions.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

/**
 * The tenant key for an instance: 't' + 16 hex chars of a keyed digest. Deterministic, so a create retried after
 * an unknown outcome yields the same URL; keyed, so knowing an instanceId does not reveal its tenant's host name;
 * DNS-safe (starts with a letter, lowercase alphanumerics, 17 chars).
 */
export function deriveTenantKey(sealedBox: SealedBox, instanceId: string): string {
  return 't' + sealedBox.keyedDigest('tenant-key', instanceId).slice(0, 16);
}

// The built-in registry cannot know which contacts a listing requires, nor whether a contact is "already used" in
// the merchant's own systems: it refuses only a contact that cannot be one (the merchant's HTTP provisioner decides
// the rest). Loose on purpose: international numbers with or without '+' and separators, any address with '@' and a dot.
const MOBILE = /^\+?\d{5,20}$/;
const MOBILE_SEPARATORS = /[\s().-]/g;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_EMAIL = 254;

/** Refuses a contact the admin account cannot be created with (the message never repeats the contact). */
export function checkAdminContacts(instanceId: string, contacts: AdminContacts | undefined): void {
  if (contacts?.mobilePhone !== undefined && !MOBILE.test(contacts.mobilePhone.replace(MOBILE_SEPARATORS, ''))) {
    throw new ProvisionerError('MOBILE_REJECTED', `builtin create for instance ${instanceId}: the buyer's mobile number is not a phone number`);
  }
  if (contacts?.email !== undefined && (contacts.email.length > MAX_EMAIL || !EMAIL.test(contacts.email))) {
    throw new ProvisionerError('EMAIL_REJECTED', `builtin create for instance ${instanceId}: the buyer's e-mail address is not an e-mail address`);
  }
}

interface TenantRow {
  status: TenantStatus;
  front_end_url: string;
  admin_url: string | null;
  credentials_sealed: string;
}

interface SealedCredentials {
  userName: string;
  password: string;
}

const ROW_COLUMNS = 'status, front_end_url, admin_url, credentials_sealed';

/** Creates the built-in Provisioner (kind 'builtin') on the `tenants` table. */
export function createBuiltinTenantRegistry(options: BuiltinTenantRegistryOptions): Provisioner {
  const { pool, sealedBox, tenantUrlTemplate, tenantAdminUrlTemplate = '', now = () => new Date() } = options;
  if (tenantUrlTemplate.trim() === '') throw new RangeError('tenantUrlTemplate must not be empty');

  const checkId = (instanceId: string): void => {
    if (typeof instanceId !== 'string' || instanceId.length === 0) {
      throw new ProvisionerError('PROVISIONING_REJECTED', 'instanceId must be a non-empty string');
    }
  };

  /** Runs one step; database faults become PROVISIONER_UNAVAILABLE so the activity retries them. */
  async function step<T>(what: string, instanceId: string, fn: () => Promise<T>): Promise<T> {
    checkId(instanceId);
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ProvisionerError) throw err;
      const detail = err instanceof Error ? err.message : String(err);
      throw new ProvisionerError('PROVISIONER_UNAVAILABLE', `builtin ${what} for instance ${instanceId} failed: ${detail}`, {
        cause: err,
      });
    }
  }

  const toAccess = (instanceId: string, row: TenantRow): TenantAccess => {
    let credentials: SealedCredentials;
    try {
      credentials = sealedBox.openJson<SealedCredentials>(row.credentials_sealed);
    } catch (err) {
      // Only a key missing from the configuration (a rotation's old key dropped too early) or a hand-edited row gets
      // here; configuring the key makes a retry succeed.
      throw new ProvisionerError(
        'PROVISIONER_UNAVAILABLE',
        `credentials of the tenant for instance ${instanceId} cannot be opened (was DATA_ENCRYPTION_KEY changed without its old key in DATA_ENCRYPTION_PREVIOUS_KEYS?)`,
        { cause: err },
      );
    }
    return {
      frontEndUrl: row.front_end_url,
      ...(row.admin_url !== null ? { adminUrl: row.admin_url } : {}),
      userName: credentials.userName,
      password: credentials.password,
    };
  };

  const selectRow = async (instanceId: string): Promise<TenantRow | undefined> => {
    const res = await pool.query<TenantRow>(`SELECT ${ROW_COLUMNS} FROM tenants WHERE instance_id = $1`, [instanceId]);
    return res.rows[0];
  };

  return {
    kind: 'builtin',

    create: (instanceId, spec, options) =>
      step('create', instanceId, async () => {
        checkAdminContacts(instanceId, options?.contacts);
        const contactsSealed = options?.contacts ? sealedBox.sealJson(options.contacts) : null;
        const tenantKey = deriveTenantKey(sealedBox, instanceId);
        const frontEndUrl = tenantUrlTemplate.replaceAll(TENANT_PLACEHOLDER, tenantKey);
        const adminUrl = tenantAdminUrlTemplate === '' ? null : tenantAdminUrlTemplate.replaceAll(TENANT_PLACEHOLDER, tenantKey);
        // Every attempt draws a password, but only the attempt whose INSERT wins stores it; the others read the winner's.
        const specJson = toJsonb(spec);
        const credentialsSealed = sealedBox.sealJson({ userName: `admin-${tenantKey}`, password: generateTenantPassword() } satisfies SealedCredentials);
        // No conflict target on purpose: two racing inserts of one instance collide on tenant_key as well as on
        // instance_id, and an arbiter on instance_id alone lets the tenant_key violation through as an error.
        const inserted = await pool.query<TenantRow>(
          `INSERT INTO tenants
             (instance_id, tenant_key, status, spec, front_end_url, admin_url, credentials_sealed, admin_contacts_sealed, created_at, updated_at)
           VALUES ($1, $2, 'ACTIVE', $3::jsonb, $4, $5, $6, $7, $8, $8)
           ON CONFLICT DO NOTHING
           RETURNING ${ROW_COLUMNS}`,
          [instanceId, tenantKey, specJson, frontEndUrl, adminUrl, credentialsSealed, contactsSealed, now()],
        );
        // A DELETED tenant is re-activated with its key, URLs and credentials rather than refused: a replayed
        // (debug/test) order re-runs its purchase after a release, and must get the same answer as the first time.
        // ACTIVE and FROZEN rows are left as they are (a repeated create is not a spec change or a thaw).
        const reactivated =
          inserted.rows[0] ??
          (
            await pool.query<TenantRow>(
              `UPDATE tenants SET status = 'ACTIVE', deleted_at = NULL, spec = $2::jsonb, updated_at = $3,
                      admin_contacts_sealed = COALESCE($4, admin_contacts_sealed)
                WHERE instance_id = $1 AND status = 'DELETED'
                RETURNING ${ROW_COLUMNS}`,
              [instanceId, specJson, now(), contactsSealed],
            )
          ).rows[0];
        const row = reactivated ?? (await selectRow(instanceId));
        if (row === undefined) {
          // We never hard-delete, so the insert was skipped for another instance's row with the same key prefix.
          const owner = await pool.query('SELECT 1 FROM tenants WHERE tenant_key = $1', [tenantKey]);
          if (owner.rowCount !== 0) {
            // Deterministic, so retrying cannot help; at 64 bits this should never happen.
            throw new ProvisionerError('PROVISIONING_REJECTED', `tenant key of instance ${instanceId} collides with another tenant`);
          }
          throw new ProvisionerError('PROVISIONER_UNAVAILABLE', `tenant for instance ${instanceId} vanished while being created`);
        }
        if (row.status === 'DELETED') {
          // A remove raced this create between its statements; the retry re-activates it.
          throw new ProvisionerError('PROVISIONER_UNAVAILABLE', `tenant for instance ${instanceId} was removed while being created`);
        }
        return toAccess(instanceId, row);
      }),

    changeSpec: (instanceId, spec) =>
      step('changeSpec', instanceId, async () => {
        // updated_at moves only when something changed, so it dates the last effective change.
        const res = await pool.query(
          `UPDATE tenants
              SET spec = $2::jsonb, updated_at = CASE WHEN spec = $2::jsonb THEN updated_at ELSE $3 END
            WHERE instance_id = $1 AND status <> 'DELETED'`,
          [instanceId, toJsonb(spec), now()],
        );
        if (res.rowCount === 0) throw notFound('changeSpec', instanceId);
      }),

    freeze: (instanceId) =>
      step('freeze', instanceId, async () => {
        const res = await pool.query(
          `UPDATE tenants
              SET status = 'FROZEN', updated_at = CASE WHEN status = 'FROZEN' THEN updated_at ELSE $2 END
            WHERE instance_id = $1 AND status <> 'DELETED'`,
          [instanceId, now()],
        );
        if (res.rowCount === 0) throw notFound('freeze', instanceId);
      }),

    resume: (instanceId) =>
      step('resume', instanceId, async () => {
        const res = await pool.query(
          `UPDATE tenants
              SET status = 'ACTIVE', updated_at = CASE WHEN status = 'ACTIVE' THEN updated_at ELSE $2 END
            WHERE instance_id = $1 AND status <> 'DELETED'`,
          [instanceId, now()],
        );
        if (res.rowCount === 0) throw notFound('resume', instanceId);
      }),

    remove: (instanceId) =>
      step('remove', instanceId, async () => {
        // Soft delete: the row stays for audit (and for a replayed purchase). Missing or already DELETED: no-op.
        const at = now();
        await pool.query(
          `UPDATE tenants SET status = 'DELETED', deleted_at = $2, updated_at = $2
            WHERE instance_id = $1 AND status <> 'DELETED'`,
          [instanceId, at],
        );
      }),

    get: (instanceId) =>
      step('get', instanceId, async () => {
        const row = await selectRow(instanceId);
        if (row === undefined) return undefined;
        return { ...toAccess(instanceId, row), status: row.status };
      }),
  };
}

function notFound(what: string, instanceId: string): ProvisionerError {
  return new ProvisionerError('TENANT_NOT_FOUND', `builtin ${what}: no live tenant for instance ${instanceId}`);
}

/** Number of tenant rows (of any status), for one instance or all (tests). */
export async function countTenants(pool: Pool, instanceId?: string): Promise<number> {
  const res =
    instanceId === undefined
      ? await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants')
      : await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants WHERE instance_id = $1', [instanceId]);
  return res.rows[0]?.n ?? 0;
}

// ---- Sealed values, for a data-encryption key rotation (src/orders/reseal.ts) ----------------------------------------

/** The tenants columns that hold sealed values (a closed set: the name goes into SQL text). */
export type TenantSealedColumn = 'credentials_sealed' | 'admin_contacts_sealed';
const TENANT_SEALED_COLUMNS: readonly TenantSealedColumn[] = ['credentials_sealed', 'admin_contacts_sealed'];

/** A column name outside the closed set (a caller that got past the type): refused before it reaches SQL text. */
export class NotASealedColumn extends Error {
  readonly code = 'NOT_A_SEALED_COLUMN';
  constructor(column: unknown) {
    super(`not a sealed column of tenants: ${String(column).slice(0, 64)}`);
    this.name = 'NotASealedColumn';
  }
}

function checkedColumn(column: TenantSealedColumn): TenantSealedColumn {
  if (!TENANT_SEALED_COLUMNS.includes(column)) throw new NotASealedColumn(column);
  return column;
}

/** Tenants' sealed values of one column after `afterId`, in instance id order; deleted tenants included (kept for audit). */
export async function listSealedTenantValues(pool: Pool, column: TenantSealedColumn, afterId: string, limit: number): Promise<Array<{ id: string; sealed: string }>> {
  const c = checkedColumn(column);
  const r = await pool.query<{ id: string; sealed: string }>(
    `SELECT instance_id AS id, ${c} AS sealed FROM tenants WHERE instance_id > $1 AND ${c} IS NOT NULL ORDER BY instance_id LIMIT $2`,
    [afterId, limit],
  );
  return r.rows;
}

/** Replaces sealed values, each only if its row still holds what was read; `updated_at` stays (the tenant did not change). Answers the ids updated. */
export async function replaceSealedTenantValues(pool: Pool, column: TenantSealedColumn, cells: readonly { id: string; was: string; sealed: string }[]): Promise<Set<string>> {
  const c = checkedColumn(column);
  if (cells.length === 0) return new Set();
  const r = await pool.query<{ id: string }>(
    `UPDATE tenants t SET ${c} = u.sealed
       FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, was, sealed)
      WHERE t.instance_id = u.id AND t.${c} = u.was
      RETURNING t.instance_id AS id`,
    [cells.map((x) => x.id), cells.map((x) => x.was), cells.map((x) => x.sealed)],
  );
  return new Set(r.rows.map((x) => x.id));
}
