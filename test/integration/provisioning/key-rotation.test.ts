import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinTenantRegistry } from '../../../src/orders/provisioning/builtin-tenant-store.js';
import { orderSealedColumns, resealColumn, type ColumnReport, type SealedColumn } from '../../../src/orders/reseal.js';
import { recordTransition } from '../../../src/orders/store.js';
import { migrate } from '../../../src/platform/db/migrate.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { createSealedBox } from '../../../src/platform/sealed-box.js';
import { testInfra, uniqueId } from '../../setup/infra.js';
import { aTenantSpec } from '../../support/factories.js';

// A DATA_ENCRYPTION_KEY rotation on a real database (README "Key rotation"): values sealed under the old key open
// with the new box while the old key is a previous one; the reseal moves every stored value to the new key, after
// which a box without the old key reads them all. Own schema (search_path in the URL), so the pass sees exactly the
// rows this file wrote and never the other tests' (sealed under their own keys).

const OLD = 'old-data-encryption-key-rotation-test';
const NEW = 'new-data-encryption-key-rotation-test';
const oldBox = createSealedBox(OLD);
const rotated = createSealedBox(NEW, [OLD]);
const newOnly = createSealedBox(NEW);
const URL_TEMPLATE = 'https://{tenant}.saas.test.example';

const schema = `reseal_${uniqueId('t').replace(/[^a-z0-9]/gi, '').toLowerCase()}`.slice(0, 60);
let url: string;
let admin: Pool;
let pool: Pool;

/** The test database's URL with this file's schema first on the search path. */
function withSearchPath(base: string, name: string): string {
  const u = new URL(base);
  u.searchParams.set('options', `-c search_path=${name}`);
  return u.toString();
}

beforeAll(async () => {
  admin = createPool({ url: testInfra().databaseUrl, max: 1, applicationName: 'test-key-rotation-admin' });
  await admin.query(`CREATE SCHEMA ${schema}`);
  url = withSearchPath(testInfra().databaseUrl, schema);
  pool = createPool({ url, max: 4, applicationName: 'test-key-rotation' });
  await migrate(pool);
});

afterAll(async () => {
  await pool?.end();
  await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin?.end();
});

/** Three tenants (two with the buyer's contacts) and their read-model rows, all sealed under the old key. */
async function storeUnderOldKey(prefix: string): Promise<string[]> {
  const registry = createBuiltinTenantRegistry({ pool, sealedBox: oldBox, tenantUrlTemplate: URL_TEMPLATE });
  const ids = [1, 2, 3].map((i) => `${prefix}-${i}`);
  for (const [i, instanceId] of ids.entries()) {
    const contacts = i < 2 ? { mobilePhone: `+8613800000${i}00`, email: `buyer${i}@example.com` } : undefined;
    const tenant = await registry.create(instanceId, aTenantSpec({ customerId: `cust-${i}` }), contacts ? { contacts } : undefined);
    const base = { workflowId: `wf-${instanceId}`, instanceId, interfaceVersion: 'V2' as const, key: { kind: 'v2-line' as const, orderId: `o-${instanceId}`, orderLineId: `l-${instanceId}` }, testOrder: false };
    await recordTransition(pool, {
      ...base,
      phase: 'ACTIVE',
      event: 'PROVISIONED',
      seq: 1,
      access: { frontEndUrl: tenant.frontEndUrl, credentialsSealed: oldBox.sealJson({ userName: tenant.userName, password: tenant.password }) },
    });
  }
  return ids;
}

const sealedValues = async () =>
  (
    await pool.query<{ v: string }>(
      `SELECT credentials_sealed AS v FROM instances UNION ALL SELECT credentials_sealed FROM tenants UNION ALL SELECT admin_contacts_sealed FROM tenants WHERE admin_contacts_sealed IS NOT NULL`,
    )
  ).rows.map((r) => r.v);

const totals = (reports: readonly ColumnReport[]) => ({
  scanned: reports.reduce((n, r) => n + r.scanned, 0),
  stale: reports.reduce((n, r) => n + r.stale, 0),
  resealed: reports.reduce((n, r) => n + r.resealed, 0),
  unreadable: reports.reduce((n, r) => n + r.unreadable, 0),
});

const passOver = async (columns: readonly SealedColumn[], write: boolean) => {
  const reports: ColumnReport[] = [];
  // A page of 2 so that keyset paging is exercised on a handful of rows.
  for (const c of columns) reports.push(await resealColumn(c, rotated, { write, pageSize: 2 }));
  return reports;
};

describe('a data-encryption key rotation', () => {
  it('when values sealed under the old key are resealed, then a check counts them without writing, the pass moves every one, and a box without the old key opens them all', async () => {
    const ids = await storeUnderOldKey(uniqueId('rot'));
    const before = await sealedValues();
    expect(before).toHaveLength(3 + 3 + 2);
    // While the old key is a previous one, the service reads every value (the read model and the tenants).
    for (const v of before) expect(() => rotated.open(v)).not.toThrow();
    for (const v of before) expect(() => newOnly.open(v)).toThrow();

    const columns = orderSealedColumns(pool);
    const checked = await passOver(columns, false);
    expect(checked.map((r) => [r.column, r.stale])).toEqual([
      ['instances.credentials_sealed', 3],
      ['tenants.credentials_sealed', 3],
      ['tenants.admin_contacts_sealed', 2],
    ]);
    expect(totals(checked).resealed).toBe(0);
    expect(await sealedValues()).toEqual(before);

    const written = await passOver(columns, true);
    expect(totals(written)).toEqual({ scanned: 8, stale: 8, resealed: 8, unreadable: 0 });
    const after = await sealedValues();
    expect(after.map((v) => newOnly.open(v)).sort()).toEqual(before.map((v) => oldBox.open(v)).sort());

    // The built-in provisioner, on the new key alone, finds its tenants as they were (a retried create reads the row).
    const registry = createBuiltinTenantRegistry({ pool, sealedBox: newOnly, tenantUrlTemplate: URL_TEMPLATE });
    const again = await registry.create(ids[0]!, aTenantSpec({ customerId: 'cust-0' }));
    expect(again.userName).toBe(oldBox.openJson<{ userName: string }>(before[0]!).userName);

    // Idempotent: a second pass finds nothing to do.
    expect(totals(await passOver(columns, true))).toEqual({ scanned: 8, stale: 0, resealed: 0, unreadable: 0 });
  });

  it('when a value opens with no configured key, then the pass reports its row and leaves it, and a row rewritten meanwhile is not overwritten', async () => {
    const [id] = await storeUnderOldKey(uniqueId('odd'));
    const stranger = createSealedBox('a-key-nobody-configured-0003').seal('lost');
    await pool.query(`UPDATE tenants SET admin_contacts_sealed = $2 WHERE instance_id = $1`, [id, stranger]);
    const [instances, , contacts] = orderSealedColumns(pool);
    const report = await resealColumn(contacts!, rotated, { write: true });
    expect(report.unreadable).toBe(1);
    expect(report.unreadableIds).toEqual([id]);
    expect((await pool.query(`SELECT admin_contacts_sealed AS v FROM tenants WHERE instance_id = $1`, [id])).rows[0].v).toBe(stranger);

    // The service writes the row (under the new key) between the pass's read and its write: the pass leaves it.
    const mine = rotated.seal('written by the service meanwhile');
    const racing: SealedColumn = {
      ...instances!,
      list: async (afterId, limit) => {
        const page = await instances!.list(afterId, limit);
        for (const cell of page) if (cell.id === id) await pool.query(`UPDATE instances SET credentials_sealed = $2 WHERE instance_id = $1`, [id, mine]);
        return page;
      },
    };
    const raced = await resealColumn(racing, rotated, { write: true });
    expect(raced.changedMeanwhile).toBeGreaterThanOrEqual(1);
    expect((await pool.query(`SELECT credentials_sealed AS v FROM instances WHERE instance_id = $1`, [id])).rows[0].v).toBe(mine);
  });
});

describe('npm run secrets:reseal', () => {
  const run = promisify(execFile);
  const cli = (args: string[], keys: { current: string; previous?: string }) =>
    run(process.execPath, ['--import', 'tsx', 'src/orders/reseal-cli.ts', ...args], {
      cwd: process.cwd(),
      env: { ...process.env, APP_ENV: 'development', DATABASE_URL: url, DATA_ENCRYPTION_KEY: keys.current, DATA_ENCRYPTION_PREVIOUS_KEYS: keys.previous ?? '' },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );
  const summary = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as { underPreviousKeys: number; resealed: number; unreadable: number };

  it('when run with --check, then without, then with --check again, then it exits 1 (values left), 0 (moved), 0 (nothing left); without the old key it exits 2 naming the rows', async () => {
    await pool.query('TRUNCATE instances, tenants CASCADE');
    const ids = await storeUnderOldKey(uniqueId('cli'));

    const unknownKey = await cli(['--check'], { current: NEW });
    expect(unknownKey.code).toBe(2);
    expect(summary(unknownKey.stdout).unreadable).toBe(8);
    expect(unknownKey.stdout).toContain(ids[0]);

    const check = await cli(['--check'], { current: NEW, previous: OLD });
    expect(check.code, check.stderr).toBe(1);
    expect(summary(check.stdout)).toMatchObject({ underPreviousKeys: 8, resealed: 0 });

    const write = await cli([], { current: NEW, previous: OLD });
    expect(write.code, write.stderr).toBe(0);
    expect(summary(write.stdout)).toMatchObject({ underPreviousKeys: 0, resealed: 8 });

    const done = await cli(['--check'], { current: NEW });
    expect(done.code, done.stderr).toBe(0);
    expect(summary(done.stdout)).toMatchObject({ underPreviousKeys: 0, unreadable: 0 });
    // No key is ever printed.
    for (const out of [unknownKey, check, write, done]) expect(out.stdout + out.stderr).not.toMatch(/data-encryption-key-rotation-test/);
  });

  it('when given an unknown option, then it exits 2 with its usage', async () => {
    const r = await cli(['--force'], { current: NEW });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('usage: npm run secrets:reseal');
  });
});
