import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encryptField } from '../../src/koogallery/index.js';
import { orderSealedColumns, resealColumn, type SealedColumn } from '../../src/orders/reseal.js';
import { findInstance } from '../../src/orders/store.js';
import type { Pool } from '../../src/platform/db/pool.js';
import { createSealedBox } from '../../src/platform/sealed-box.js';
import type { ProductionAnswer } from '../../tools/simulator/production-client.js';
import { uniqueId } from '../setup/infra.js';
import { aSimOrder, aV2PurchaseBody, lineOf } from '../support/factories.js';
import { startServiceHarness, TEST_ACCESS_KEY, type ServiceHarness } from '../support/service-harness.js';

// A DATA_ENCRYPTION_KEY rotation under the running service (README "Key rotation", steps 2–4), through the API and
// the worker as deployed: three services in turn on one task queue and one database, on the old key, on the new key
// with the old one previous, and on the new key alone after the reseal.

const OLD = 'e2e-old-data-encryption-key-0001';
const NEW = 'e2e-new-data-encryption-key-0002';
const PHONE = '+86 138 0013 8000';
const EMAIL = 'rotation.buyer@example.org';

function expectSigned(a: ProductionAnswer, code: string): void {
  expect(a.status).toBe(200);
  expect(a.bodySignValid).toBe(true);
  expect(a.body?.resultCode).toBe(code);
}

const withService = async <T>(env: Record<string, string>, run: (h: ServiceHarness) => Promise<T>): Promise<T> => {
  const h = await startServiceHarness({ env });
  try {
    return await run(h);
  } finally {
    await h.close();
  }
};

/** The sealed columns, limited to these instances' rows (the test database holds every other test's too). */
const onlyRows = (pool: Pool, ids: readonly string[]): SealedColumn[] =>
  orderSealedColumns(pool).map((column) => {
    const [table, name] = column.name.split('.') as [string, string];
    return {
      ...column,
      list: async (afterId, limit) =>
        (
          await pool.query<{ id: string; sealed: string }>(
            `SELECT instance_id AS id, ${name} AS sealed FROM ${table} WHERE instance_id = ANY($1) AND instance_id > $2 AND ${name} IS NOT NULL ORDER BY instance_id LIMIT $3`,
            [ids, afterId, limit],
          )
        ).rows,
    };
  });

describe('a data-encryption key rotation under the running service', () => {
  it('when the key is rotated, then an instance bought under the old key keeps its credentials, an order waiting for its tenant gets the contacts sealed under the old key, and after the reseal the new key alone serves both', async () => {
    const taskQueue = uniqueId('rotation');
    const v1Purchase = {
      businessId: randomUUID(),
      orderId: uniqueId('CSV1ROT'),
      customerId: uniqueId('c'),
      productId: 'prod-v1',
      skuCode: 'sku-v1',
      chargingMode: '3',
      mobilePhone: encryptField(TEST_ACCESS_KEY, PHONE),
      email: encryptField(TEST_ACCESS_KEY, EMAIL),
    };

    // On the old key: a V2 instance bought and answered; a V1 purchase started while no worker runs (answered
    // 000005, the marketplace retries), its contacts sealed by the API into the order's workflow input.
    // A budget short enough that the V1 purchase with no worker answers soon, long enough that the V2 purchase with
    // one is answered done on a machine busy with the rest of the suite (300 ms was not: 000004, in one full run).
    const bought = await withService({ DATA_ENCRYPTION_KEY: OLD, TEMPORAL_TASK_QUEUE: taskQueue, PROVISION_BUDGET_MS: '2500' }, async (h) => {
      const order = h.marketplace.orderBook.createOrder(aSimOrder({ productId: 'prod-rotation' }));
      const body = aV2PurchaseBody(lineOf(order));
      expectSigned(await h.market.v2(body), '000000');
      const q = await h.market.v2({ activity: 'queryInstance', instanceId: body.businessId });
      expectSigned(q, '000000');
      await h.stopWorker();
      expectSigned(await h.market.v1('newInstance', v1Purchase), '000005');
      return { instanceId: body.businessId, appInfo: q.appInfo };
    });
    expect(bought.appInfo?.password).toBeTruthy();

    // Step 2: the new key current, the old one previous.
    let v1InstanceId = '';
    await withService({ DATA_ENCRYPTION_KEY: NEW, DATA_ENCRYPTION_PREVIOUS_KEYS: OLD, TEMPORAL_TASK_QUEUE: taskQueue }, async (h) => {
      // The API opens the read model's credentials sealed under the old key.
      const q = await h.market.v2({ activity: 'queryInstance', instanceId: bought.instanceId });
      expectSigned(q, '000000');
      expect(q.appInfo).toEqual(bought.appInfo);
      // The marketplace's retry of the V1 purchase: the order already holds its input, contacts sealed under the
      // old key; the worker opens them to create the tenant.
      const v1 = await h.market.v1('newInstance', v1Purchase);
      expectSigned(v1, '000000');
      v1InstanceId = v1.body.instanceId as string;
      expect((await findInstance(h.pool, v1InstanceId))?.phase).toBe('ACTIVE');

      // Step 3: the reseal, over these instances' rows.
      const reports = [];
      for (const column of onlyRows(h.pool, [bought.instanceId, v1InstanceId])) reports.push(await resealColumn(column, createSealedBox(NEW, [OLD]), { write: true }));
      // Under the old key: the V2 instance's read-model credentials and its tenant's. The V1 tenant was created at
      // step 2, so everything of it is under the new key already.
      expect(reports.map((r) => [r.column, r.resealed, r.unreadable])).toEqual([
        ['instances.credentials_sealed', 1, 0],
        ['tenants.credentials_sealed', 1, 0],
        ['tenants.admin_contacts_sealed', 0, 0],
      ]);
    });

    // Step 4: the new key alone.
    await withService({ DATA_ENCRYPTION_KEY: NEW, TEMPORAL_TASK_QUEUE: taskQueue }, async (h) => {
      const q = await h.market.v2({ activity: 'queryInstance', instanceId: bought.instanceId });
      expectSigned(q, '000000');
      expect(q.appInfo).toEqual(bought.appInfo);
      const contacts = await h.pool.query<{ v: string }>('SELECT admin_contacts_sealed AS v FROM tenants WHERE instance_id = $1', [v1InstanceId]);
      expect(createSealedBox(NEW).openJson(contacts.rows[0]!.v)).toEqual({ mobilePhone: PHONE, email: EMAIL });
    });
  });
});
