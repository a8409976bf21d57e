import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeV2Signature, encryptField } from '../../src/koogallery/index.js';
import { createProductionClient, type ProductionAnswer, type ProductionClient } from '../../tools/simulator/production-client.js';
import { orderWorkflowId } from '../../src/orders/contract.js';
import { testInfra, uniqueId } from '../setup/infra.js';
import { AnswerTally, withMarketplaceRetries } from '../support/fault-checks.js';
import { apiProcess, freePort, randomSecret, reportFigures, simulatorProcess, testSecrets, workerProcess, type ServiceWiring } from '../support/fault-harness.js';
import { aSimOrder, aV2PurchaseBody, aV2RenewalBody, inDays, lineOf } from '../support/factories.js';

// Issue #7, scenario 9: secrets never leak. The API and the worker run as child processes with their own, random
// key material; the test drives happy paths and failure paths (bad signatures, replays, malformed bodies, a
// marketplace that rejects our AK/SK, Query Order failing with 500s, an unknown order) and then searches, verbatim,
// for the access key, the AK and SK, the data-encryption key, the ops token and every tenant password it decrypted
// from the answers in: both processes' stdout/stderr, every answer body and header, the marketplace_inbox rows
// written meanwhile, the read model (instances, tenants: credentials only as sealed `v1.` values) and the order
// workflows' Temporal histories.

const secrets = testSecrets();
// The key of another product (KOOGALLERY_OTHER_ACCESS_KEYS) and a previous data-encryption key: secrets too.
const otherAccessKey = randomSecret('OtherAccessKey');
const previousDataKey = randomSecret('PreviousDataKey');

/** The V1 buyer's contacts in plain text: they reach the provisioner and must appear nowhere else. */
const BUYER_PHONE = '+86 139 8765 4321';
const BUYER_EMAIL = 'buyer.never-logged@example.org';

const infra = () => testInfra();
let simulator: ReturnType<typeof simulatorProcess>;
let api: ReturnType<typeof apiProcess>;
let worker: ReturnType<typeof workerProcess>;
let market: ProductionClient;
let pool: pg.Pool;
let temporal: Client;
let connection: Connection;
const answers: ProductionAnswer[] = [];
const tally = new AnswerTally();
const passwords = new Set<string>();
const instanceIds = new Set<string>();
const orderKeys: Array<{ orderId: string; orderLineId?: string }> = [];
let startedAt: Date;

beforeAll(async () => {
  startedAt = new Date(Date.now() - 1000);
  // The simulator starts with the WRONG SK: Query Order answers 401 until it is restarted with the right one.
  simulator = simulatorProcess({ port: await freePort(), ak: secrets.huaweiAk, sk: randomSecret('NotOurSecretKey') });
  await simulator.start();
  const w: ServiceWiring = {
    databaseUrl: infra().databaseUrl,
    temporalAddress: infra().temporalAddress,
    taskQueue: uniqueId('secrets'),
    marketplaceUrl: simulator.url,
    ...secrets,
    workflowBundlePath: infra().workflowBundlePath,
    // Debug level: the most a merchant would ever switch on.
    logLevel: 'debug',
    extra: { KOOGALLERY_OTHER_ACCESS_KEYS: otherAccessKey, DATA_ENCRYPTION_PREVIOUS_KEYS: previousDataKey },
  };
  api = apiProcess(w, await freePort(), 'secrets-api');
  worker = workerProcess(w, 'secrets-worker');
  await Promise.all([api.start(), worker.start()]);
  market = createProductionClient({ baseUrl: api.baseUrl, accessKey: secrets.accessKey });
  pool = new pg.Pool({ connectionString: infra().databaseUrl, max: 2 });
  connection = await Connection.connect({ address: infra().temporalAddress });
  temporal = new Client({ connection, namespace: infra().temporalNamespace });
});
afterAll(async () => {
  await api?.stop();
  await worker?.stop();
  await simulator?.stop();
  await pool?.end();
  await connection?.close();
});

async function call(label: string, send: () => Promise<ProductionAnswer>): Promise<ProductionAnswer> {
  const a = await send();
  tally.add(a, label);
  answers.push(a);
  if (a.appInfo?.password) passwords.add(a.appInfo.password);
  if (typeof a.body?.instanceId === 'string') instanceIds.add(a.body.instanceId);
  return a;
}

const newOrder = async (orderType: 'NEW' | 'TRIAL' = 'NEW') => {
  const key = lineOf(await simulator.admin.createOrder(aSimOrder({ orderType, productId: 'prod-secret', customerId: uniqueId('sec') })));
  orderKeys.push(key);
  return key;
};

/** Every place a secret must not be, as one searchable text per place. */
async function placesToSearch(): Promise<Record<string, string>> {
  const inbox = await pool.query('SELECT * FROM marketplace_inbox WHERE received_at >= $1', [startedAt]);
  const ids = [...instanceIds];
  const instances = await pool.query('SELECT * FROM instances WHERE instance_id = ANY($1::text[])', [ids]);
  const tenants = await pool.query('SELECT * FROM tenants WHERE instance_id = ANY($1::text[])', [ids]);
  const histories: string[] = [];
  for (const key of orderKeys) {
    const id = orderWorkflowId({ kind: 'v2-line', orderId: key.orderId, orderLineId: key.orderLineId! });
    try {
      histories.push(decodePayloads(await temporal.workflow.getHandle(id).fetchHistory()));
    } catch {
      /* an order whose purchase never reached Temporal has no history */
    }
  }
  return {
    'API process output': api.output(),
    'worker process output': worker.output(),
    'answers (bodies and Body-Sign headers)': answers.map((a) => `${a.rawBody}\n${a.bodySignHeader ?? ''}`).join('\n'),
    marketplace_inbox: JSON.stringify(inbox.rows),
    instances: JSON.stringify(instances.rows),
    tenants: JSON.stringify(tenants.rows),
    'workflow histories': histories.join('\n'),
  };
}

/** A history as text, with every payload's bytes decoded (they are base64 in the JSON form). */
function decodePayloads(history: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8'));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
    else if (typeof v === 'string') out.push(v);
  };
  walk(history);
  return out.join('\n');
}

describe.sequential('secrets: nothing secret in logs, answers, the inbox, the read model or workflow histories', () => {
  it('when the marketplace rejects our AK/SK, then the purchase waits (retryable) and the worker logs the failure', async () => {
    const o = await newOrder();
    const a = await call('purchase with the marketplace rejecting our AK/SK', () => market.v2(aV2PurchaseBody(o)));
    expect(['000004', '000005']).toContain(a.body.resultCode);
    await sleep(4000); // a few Query Order attempts, each logged
    // Now the marketplace knows our SK again (a new simulator process; its order book starts empty).
    simulator.env = { ...simulator.env, HUAWEI_CLOUD_SK: secrets.huaweiSk };
    await simulator.restart();
  });

  it('when orders are bought, queried, renewed, frozen and released over V2 and V1, then credentials come back encrypted and decryptable', async () => {
    const o = await newOrder();
    const bought = await call('V2 purchase', () => market.v2(aV2PurchaseBody(o)));
    expect(bought.body.resultCode).toBe('000000');
    const instanceId = bought.body.instanceId as string;
    const q = await call('V2 query', () => market.v2({ activity: 'queryInstance', instanceId }));
    expect(q.appInfo?.password?.length).toBeGreaterThanOrEqual(12);
    await call('renewal', () => market.v2(aV2RenewalBody({ orderId: uniqueId('REN'), orderLineId: 'L1' }, instanceId, { expireTime: inDays(800) })));
    await call('freeze', () => market.v2({ activity: 'updateInstanceStatus', instanceId, status: 'FREEZE' }));
    await call('query frozen', () => market.v2({ activity: 'queryInstance', instanceId }));
    await call('unfreeze', () => market.v2({ activity: 'updateInstanceStatus', instanceId, status: 'UNFREEZE' }));

    const v1OrderId = uniqueId('CSV1SEC');
    orderKeys.push({ orderId: v1OrderId });
    const v1 = await call('V1 purchase', () =>
      market.v1('newInstance', {
        businessId: randomUUID(), orderId: v1OrderId, customerId: uniqueId('c'), productId: 'prod-secret', skuCode: 'sku-v1', chargingMode: '1', periodType: 'year', periodNumber: '1', expireTime: inDays(365),
        // The buyer's contacts, encrypted as the marketplace sends them (§2.4): personal data, searched for below.
        mobilePhone: encryptField(secrets.accessKey, BUYER_PHONE),
        email: encryptField(secrets.accessKey, BUYER_EMAIL),
      }),
    );
    expect(v1.body.resultCode).toBe('000000');
    expect(v1.appInfo?.password?.length).toBeGreaterThanOrEqual(12);

    // A product bound to the other key: its calls are answered with that key.
    const otherMarket = createProductionClient({ baseUrl: api.baseUrl, accessKey: otherAccessKey });
    const o2 = await newOrder();
    const byOther = await call('V2 purchase, other key', () => otherMarket.v2(aV2PurchaseBody(o2)));
    expect(byOther.body.resultCode).toBe('000000');
    const qOther = await call('V2 query, other key', () => otherMarket.v2({ activity: 'queryInstance', instanceId: byOther.body.instanceId as string }));
    expect(qOther.appInfo?.password?.length).toBeGreaterThanOrEqual(12);

    const other = await newOrder('TRIAL');
    const trial = await call('trial purchase', () => market.v2(aV2PurchaseBody(other)));
    await call('trial query', () => market.v2({ activity: 'queryInstance', instanceId: trial.body.instanceId as string }));
    await call('trial release', () => market.v2({ activity: 'releaseInstance', instanceId: trial.body.instanceId as string }));
    expect(passwords.size).toBeGreaterThanOrEqual(3);
  });

  it('when calls are refused or fail (bad signature, replay, stale, malformed, unknown order, Query Order down), then the errors carry no secret', async () => {
    const body = JSON.stringify({ activity: 'queryInstance', instanceId: uniqueId('x') });
    const nonce = 'f'.repeat(32);
    await call('wrong signature', () => market.v2({ activity: 'queryInstance', instanceId: 'x' }, { signature: 'AB'.repeat(32) }));
    await call('first use of a nonce', () => market.v2(JSON.parse(body) as Record<string, unknown>, { nonce }));
    await call('replayed nonce', () => market.v2(JSON.parse(body) as Record<string, unknown>, { nonce }));
    await call('stale', () => market.v2({ activity: 'queryInstance', instanceId: 'x' }, { timestamp: String(Date.now() - 3_600_000) }));
    const signedRaw = (raw: string) => {
      const n = randomUUID().replace(/-/g, '');
      const ts = String(Date.now());
      return market.raw({ method: 'POST', query: { signature: computeV2Signature(secrets.accessKey, { nonce: n, timestamp: ts, body: raw }), timestamp: ts, nonce: n }, headers: { 'Content-Type': 'application/json' }, body: raw });
    };
    await call('malformed JSON', () => signedRaw(`{"activity":"newInstance","accessKey":"${secrets.accessKey}",`));
    await call('secret echoed in a field', () => signedRaw(JSON.stringify({ activity: 'refreshInstance', instanceId: secrets.accessKey, orderId: secrets.huaweiSk, orderLineId: 'L', expireTime: 'bad' })));
    await call('bad V1 token', () => market.raw({ method: 'GET', query: { activity: 'newInstance', orderId: 'o', businessId: 'b', customerId: 'c', timeStamp: '20200727073711903', authToken: 'nope' } }));
    await call('unknown order', () => market.v2(aV2PurchaseBody({ orderId: 'CSNOSUCHORDER01', orderLineId: 'CSNOSUCHORDER01-000001' })));
    orderKeys.push({ orderId: 'CSNOSUCHORDER01', orderLineId: 'CSNOSUCHORDER01-000001' });
    // Query Order answers 500 three times: the worker retries (and logs) until it passes.
    await simulator.admin.setFaults({ failNext: { n: 3, status: 500 } });
    const o = await newOrder();
    const settled = await withMarketplaceRetries(tally, 'purchase through Query Order failures', () => market.v2(aV2PurchaseBody(o)), { attempts: 30 });
    if (settled) answers.push(settled);
    expect(settled?.body.resultCode).toBe('000000');
    await simulator.admin.reset();
  });

  it('then no secret appears in any of them, and stored credentials are only sealed v1. values', async () => {
    await sleep(1500); // let the API's after-answer inbox writes land
    const places = await placesToSearch();
    const needles: Record<string, string> = {
      'access key': secrets.accessKey,
      AK: secrets.huaweiAk,
      SK: secrets.huaweiSk,
      'data-encryption key': secrets.dataEncryptionKey,
      'other access key': otherAccessKey,
      'previous data-encryption key': previousDataKey,
      'ops token': secrets.opsApiToken!,
      "buyer's mobile phone": BUYER_PHONE,
      "buyer's e-mail address": BUYER_EMAIL,
      ...Object.fromEntries([...passwords].map((p, i) => [`tenant password ${i + 1}`, p])),
    };
    const leaks: string[] = [];
    for (const [place, text] of Object.entries(places)) {
      for (const [what, needle] of Object.entries(needles)) if (needle && text.includes(needle)) leaks.push(`${what} in ${place}`);
    }
    const instances = await pool.query<{ credentials_sealed: string | null }>('SELECT credentials_sealed FROM instances WHERE instance_id = ANY($1::text[]) AND credentials_sealed IS NOT NULL', [[...instanceIds]]);
    const tenants = await pool.query<{ credentials_sealed: string }>('SELECT credentials_sealed FROM tenants WHERE instance_id = ANY($1::text[])', [[...instanceIds]]);
    const sealed = [...instances.rows, ...tenants.rows].map((r) => r.credentials_sealed!);
    reportFigures({
      scenario: 'secrets: logs, answers, inbox, read model, workflow histories',
      ...tally.summary(),
      lost: 0,
      duplicates: 0,
      secretsSearched: Object.keys(needles).length,
      placesSearched: Object.keys(places).length,
      logLines: api.lines.length + worker.lines.length,
      leaks: leaks.length,
      notes: `${passwords.size} tenant passwords decrypted from answers; ${sealed.length} stored credentials, all sealed; leaks: ${leaks.join(', ') || 'none'}`,
    });
    // Enough output to have searched something real (one JSON line per entry: the API's calls, the worker's SDK lines).
    expect(api.lines.length + worker.lines.length).toBeGreaterThan(20);
    expect(places['worker process output']).toMatch(/MARKETPLACE_AUTH_REJECTED|401|APIGW/);
    expect(leaks).toEqual([]);
    expect(sealed.length).toBeGreaterThanOrEqual(4);
    for (const s of sealed) expect(s).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(tally.http5xx).toBe(0);
    expect(api.unexpectedExits()).toEqual([]);
    expect(worker.unexpectedExits()).toEqual([]);
  });
});
