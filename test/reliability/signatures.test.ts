import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeV1AuthToken, computeV2Signature } from '../../src/koogallery/index.js';
import { createProductionClient, encodeQuery, formatV1TimeStamp, type ProductionAnswer, type ProductionClient } from '../../tools/simulator/production-client.js';
import { testInfra, uniqueId } from '../setup/infra.js';
import { AnswerTally, isWellFormed } from '../support/fault-checks.js';
import { apiProcess, freePort, mapPool, reportFigures, testSecrets, type ServiceWiring } from '../support/fault-harness.js';
import { startServiceHarness, TEST_ACCESS_KEY, type ServiceHarness } from '../support/service-harness.js';
import { aSimOrder, aV1PurchaseParams, aV2PurchaseBody, lineOf } from '../support/factories.js';

// Issue #7, scenario 8: signature attacks. A captured, correctly signed marketplace request is altered (a flipped
// bit in the body, signature, timestamp or nonce; a wrong key; a re-serialised body; a shifted clock; a replay, also
// across an API restart and across two API processes sharing the database; a missing parameter; V1 authToken
// tampering). Every altered request must be refused with 000001 — 100%, counted — and nothing may change. The base
// request is a purchase of a real order, so an attack that got through would have created an instance.

let h: ServiceHarness;
const tally = new AnswerTally();
const attacks = { sent: 0, rejected: 0, notRejected: [] as string[] };

beforeAll(async () => {
  h = await startServiceHarness();
});
afterAll(async () => {
  await h?.close();
});

const freshNonce = () => randomBytes(16).toString('hex');

function newOrder() {
  return lineOf(h.marketplace.orderBook.createOrder(aSimOrder({ productId: 'prod-sig' })));
}

interface V2Wire {
  body: Buffer;
  signature: string;
  timestamp: string;
  nonce: string;
}

function signV2(body: Buffer | string, o: { key?: string; timestamp?: string; nonce?: string } = {}): V2Wire {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const timestamp = o.timestamp ?? String(Date.now());
  const nonce = o.nonce ?? freshNonce();
  return { body: bytes, timestamp, nonce, signature: computeV2Signature(o.key ?? TEST_ACCESS_KEY, { nonce, timestamp, body: bytes }) };
}

function sendV2(market: ProductionClient, w: V2Wire, where: 'query' | 'headers' = 'query'): Promise<ProductionAnswer> {
  return market.raw({
    method: 'POST',
    ...(where === 'query' ? { query: { signature: w.signature, timestamp: w.timestamp, nonce: w.nonce } } : {}),
    headers: { 'Content-Type': 'application/json', ...(where === 'headers' ? { 'x-sign': w.signature, 'x-timestamp': w.timestamp, 'x-nonce': w.nonce } : {}) },
    body: w.body,
  });
}

/** Sends every attack (bounded concurrency) and counts it; each must be answered 000001 with a valid Body-Sign. */
async function attack(label: string, sends: Array<() => Promise<ProductionAnswer>>): Promise<void> {
  await mapPool(sends, 16, async (send, i) => {
    attacks.sent++;
    const a = await tally.send(`${label} #${i}`, send);
    if (a && isWellFormed(a) && a.body.resultCode === '000001') attacks.rejected++;
    else if (attacks.notRejected.length < 30) attacks.notRejected.push(`${label} #${i}: ${a ? `HTTP ${a.status} ${a.rawBody.slice(0, 120)}` : 'no answer'}`);
  });
}

const flipBit = (buf: Buffer, bit: number): Buffer => {
  const out = Buffer.from(buf);
  out[bit >> 3] = out[bit >> 3]! ^ (1 << (bit & 7));
  return out;
};

async function instancesOf(orderId: string): Promise<number> {
  return (await h.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM instances WHERE order_id = $1', [orderId])).rows[0]!.n;
}

describe.sequential('signature attacks are refused with 000001, every one of them', () => {
  const target = { orderId: '', orderLineId: '' };
  let base: string;

  beforeAll(() => {
    Object.assign(target, newOrder());
    base = JSON.stringify(aV2PurchaseBody(target));
  });

  it('when any single bit of the body, signature, timestamp or nonce is flipped, then 000001', async () => {
    const body = Buffer.from(base, 'utf8');
    await attack('body bit flip', Array.from({ length: body.length * 8 }, (_, bit) => () => sendV2(h.market, { ...signV2(body), body: flipBit(body, bit) })));
    await attack('signature bit flip', Array.from({ length: 256 }, (_, bit) => () => {
      const w = signV2(body);
      return sendV2(h.market, { ...w, signature: flipBit(Buffer.from(w.signature, 'hex'), bit).toString('hex').toUpperCase() });
    }));
    await attack('timestamp bit flip', Array.from({ length: String(Date.now()).length * 8 }, (_, bit) => () => {
      const w = signV2(body);
      return sendV2(h.market, { ...w, timestamp: flipBit(Buffer.from(w.timestamp, 'latin1'), bit).toString('latin1') });
    }));
    await attack('nonce bit flip', Array.from({ length: 32 * 8 }, (_, bit) => () => {
      const w = signV2(body);
      return sendV2(h.market, { ...w, nonce: flipBit(Buffer.from(w.nonce, 'latin1'), bit).toString('latin1') });
    }));
    expect(attacks.notRejected).toEqual([]);
    expect(await instancesOf(target.orderId)).toBe(0);
  });

  it('when the request is signed with a wrong key, re-serialised, or its credentials are missing or split, then 000001', async () => {
    const keys = [
      'TestAccessKey-012345678', 'TestAccessKey-01234567890', 'testaccesskey-0123456789', ' TestAccessKey-0123456789', 'TestAccessKey-0123456789 ', '',
      ...Array.from({ length: 20 }, () => randomBytes(12).toString('base64')),
    ];
    await attack('wrong key', keys.map((key) => () => sendV2(h.market, signV2(base, { key }))));
    const parsed = JSON.parse(base) as Record<string, unknown>;
    const variants = [
      JSON.stringify(parsed, null, 2),
      JSON.stringify(Object.fromEntries(Object.entries(parsed).reverse())),
      `${base}\n`,
      ` ${base}`,
      base.replace(/":"/g, '": "'),
      base.replace('"activity"', '"\\u0061ctivity"'),
      `\uFEFF${base}`,
    ];
    // Signed over the compact original, sent re-serialised (what a proxy that "normalises" JSON would do).
    await attack('re-serialised body', variants.map((v) => () => sendV2(h.market, { ...signV2(base), body: Buffer.from(v, 'utf8') })));
    const missing: Array<() => Promise<ProductionAnswer>> = [];
    for (const drop of ['signature', 'timestamp', 'nonce'] as const) {
      missing.push(() => {
        const w = signV2(base);
        const q: Record<string, string> = { signature: w.signature, timestamp: w.timestamp, nonce: w.nonce };
        delete q[drop];
        return h.market.raw({ method: 'POST', query: q, headers: { 'Content-Type': 'application/json' }, body: w.body });
      });
      missing.push(() => {
        const w = signV2(base);
        return h.market.raw({ method: 'POST', query: { signature: w.signature, timestamp: w.timestamp, nonce: w.nonce, [drop]: '' }, headers: { 'Content-Type': 'application/json' }, body: w.body });
      });
      // The same parameter twice: we cannot know which copy was signed.
      missing.push(() => {
        const w = signV2(base);
        const q = `${encodeQuery({ signature: w.signature, timestamp: w.timestamp, nonce: w.nonce })}&${drop}=${encodeURIComponent(w[drop])}`;
        return h.market.raw({ method: 'POST', query: q, headers: { 'Content-Type': 'application/json' }, body: w.body });
      });
    }
    // Split between query and headers (x-sign with a query timestamp and nonce), and nothing at all.
    missing.push(() => {
      const w = signV2(base);
      return h.market.raw({ method: 'POST', query: { timestamp: w.timestamp, nonce: w.nonce }, headers: { 'Content-Type': 'application/json', 'x-sign': w.signature }, body: w.body });
    });
    missing.push(() => {
      const w = signV2(base);
      return h.market.raw({ method: 'POST', query: { signature: w.signature }, headers: { 'Content-Type': 'application/json', 'x-timestamp': w.timestamp, 'x-nonce': w.nonce }, body: w.body });
    });
    missing.push(() => h.market.raw({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: base }));
    // Case of the parameter names matters: "Signature" is not "signature".
    missing.push(() => {
      const w = signV2(base);
      return h.market.raw({ method: 'POST', query: { Signature: w.signature, Timestamp: w.timestamp, Nonce: w.nonce }, headers: { 'Content-Type': 'application/json' }, body: w.body });
    });
    await attack('missing, empty, duplicated or split credentials', missing);
    expect(attacks.notRejected).toEqual([]);
    expect(await instancesOf(target.orderId)).toBe(0);
  });

  it('when the timestamp is 61 s or more off (either way, ms or s), then 000001; inside the window it is accepted', async () => {
    // A future timestamp gets less "off" while the request travels, a past one more: future shifts keep a few
    // seconds of margin for a loaded machine (61 s ahead, verified 1.5 s later, would be inside the window).
    const shifts = [65_000, -61_000, 66_000, -62_000, 120_000, -120_000, 3_600_000, -3_600_000, 86_400_000 * 365];
    const stale: Array<() => Promise<ProductionAnswer>> = [];
    for (const s of shifts) {
      stale.push(() => sendV2(h.market, signV2(base, { timestamp: String(Date.now() + s) })));
      stale.push(() => sendV2(h.market, signV2(base, { timestamp: String(Math.floor((Date.now() + s) / 1000)) })));
      stale.push(() => sendV2(h.market, signV2(base, { timestamp: String(Date.now() + s) }), 'headers'));
    }
    for (const t of ['0', '-1', '1e12', '99999999999999999999', 'NaN', ' 1', `${Date.now()}.5`, `0x${Date.now().toString(16)}`]) stale.push(() => sendV2(h.market, signV2(base, { timestamp: t })));
    await attack('stale, future or malformed timestamp', stale);
    expect(attacks.notRejected).toEqual([]);
    expect(await instancesOf(target.orderId)).toBe(0);
    // Control: 50 s off is inside the 60 s window (a query, so nothing is bought).
    for (const s of [50_000, -50_000]) {
      const a = await sendV2(h.market, signV2(JSON.stringify({ activity: 'queryInstance', instanceId: uniqueId('none') }), { timestamp: String(Date.now() + s) }));
      expect(a.body.resultCode).toBe('000003');
    }
  });

  it('when a signed request is replayed (again, or 20 copies at once), then exactly one is accepted', async () => {
    const replays: Array<() => Promise<ProductionAnswer>> = [];
    for (let i = 0; i < 10; i++) {
      const w = signV2(JSON.stringify({ activity: 'queryInstance', instanceId: uniqueId('replay') }));
      const first = await sendV2(h.market, w);
      expect(first.body.resultCode).toBe('000003');
      replays.push(() => sendV2(h.market, w), () => sendV2(h.market, w, 'headers'));
    }
    await attack('sequential replay', replays);
    const burst = signV2(JSON.stringify({ activity: 'queryInstance', instanceId: uniqueId('burst') }));
    const answers = await Promise.all(Array.from({ length: 20 }, () => sendV2(h.market, burst)));
    const codes = answers.map((a) => a.body.resultCode as string).sort();
    attacks.sent += 19;
    attacks.rejected += codes.filter((c) => c === '000001').length;
    expect(codes.filter((c) => c === '000003')).toHaveLength(1);
    expect(codes.filter((c) => c === '000001')).toHaveLength(19);
    expect(attacks.notRejected).toEqual([]);
  });

  it('when V1 authToken, a parameter or the timeStamp is tampered with, or the key is wrong, then 000001', async () => {
    const orderId = uniqueId('CSV1SIG');
    const params = (ts = Date.now()): Record<string, string> => ({ activity: 'newInstance', ...aV1PurchaseParams({ orderId, productId: 'prod-sig' }), timeStamp: formatV1TimeStamp(ts) });
    const signed = (p: Record<string, string>, key = TEST_ACCESS_KEY) => ({ ...p, authToken: computeV1AuthToken(key, p) });
    const get = (q: Record<string, string>) => () => h.market.raw({ method: 'GET', query: q });
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/';
    const sends: Array<() => Promise<ProductionAnswer>> = [];
    const sample = signed(params());
    for (let i = 0; i < sample.authToken.length; i++) {
      // Replace one character by another Base64 character ('+' and ' ' are deliberately equivalent: a decoded '+').
      sends.push(() => {
        const q = signed(params());
        const c = q.authToken[i]!;
        const other = B64[(B64.indexOf(c) + 1 + Math.floor(Math.random() * 62)) % B64.length]!;
        return get({ ...q, authToken: q.authToken.slice(0, i) + (other === c ? 'A' : other) + q.authToken.slice(i + 1) })();
      });
    }
    for (const name of Object.keys(params())) {
      sends.push(() => {
        const q: Record<string, string> = signed(params());
        const v = q[name]!;
        return get({ ...q, [name]: v.slice(0, -1) + String.fromCharCode(v.charCodeAt(v.length - 1) ^ 1) })();
      });
    }
    for (let i = 0; i < 10; i++) sends.push(() => get(signed(params(), randomBytes(12).toString('base64')))());
    sends.push(() => get(signed(params(), `${TEST_ACCESS_KEY} `))());
    for (const shift of [6 * 60_000, -6 * 60_000, 86_400_000, -86_400_000]) sends.push(() => get(signed(params(Date.now() + shift)))());
    sends.push(() => {
      const q = signed(params());
      delete (q as Partial<typeof q>).authToken;
      return get(q)();
    });
    sends.push(() => {
      const q = signed(params());
      delete (q as Record<string, string>).timeStamp;
      return get(q)();
    });
    sends.push(() => get({ ...signed(params()), amount: '999' })());
    sends.push(() => {
      const q = signed(params());
      delete (q as Record<string, string>).customerId;
      return get(q)();
    });
    // The token over the right parameters but keyed without the timeStamp (a classic implementation slip).
    sends.push(() => {
      const p = params();
      const canonical = Object.keys(p).filter((k) => k !== 'authToken').sort().map((k) => `${k}=${p[k]}`).join('&');
      return get({ ...p, authToken: createHmac('sha256', TEST_ACCESS_KEY).update(canonical).digest('base64') })();
    });
    await attack('V1 tampering', sends);
    expect(attacks.notRejected).toEqual([]);
    expect(await instancesOf(orderId)).toBe(0);
  });

  it('then the untampered base requests still work: the attacks were refused for the tampering alone', async () => {
    const a = await sendV2(h.market, signV2(base));
    expect(a.body.resultCode).toBe('000000');
    expect(await instancesOf(target.orderId)).toBe(1);
  });
});

describe.sequential('replay across API processes sharing the database', () => {
  const secrets = testSecrets();
  let apiA: ReturnType<typeof apiProcess>;
  let apiB: ReturnType<typeof apiProcess>;
  let marketA: ProductionClient;
  let marketB: ProductionClient;

  beforeAll(async () => {
    const infra = testInfra();
    const w: ServiceWiring = {
      databaseUrl: infra.databaseUrl,
      temporalAddress: infra.temporalAddress,
      taskQueue: uniqueId('sig-two-apis'),
      marketplaceUrl: 'http://127.0.0.1:9', // no worker runs here: the API never calls the marketplace itself
      ...secrets,
      logLevel: 'warn',
    };
    apiA = apiProcess(w, await freePort(), 'api-A');
    apiB = apiProcess(w, await freePort(), 'api-B');
    await Promise.all([apiA.start(), apiB.start()]);
    marketA = createProductionClient({ baseUrl: apiA.baseUrl, accessKey: secrets.accessKey });
    marketB = createProductionClient({ baseUrl: apiB.baseUrl, accessKey: secrets.accessKey });
  });
  afterAll(async () => {
    await apiA?.stop();
    await apiB?.stop();
  });

  const wire = () => {
    const body = Buffer.from(JSON.stringify({ activity: 'queryInstance', instanceId: uniqueId('two-apis') }));
    const timestamp = String(Date.now());
    const nonce = freshNonce();
    return { body, timestamp, nonce, signature: computeV2Signature(secrets.accessKey, { nonce, timestamp, body }) };
  };

  it('when the same signed request reaches two API processes at once, then exactly one accepts it; after an API restart, neither does', async () => {
    const requests = Array.from({ length: 25 }, wire);
    const accepted: number[] = [];
    for (const w of requests) {
      const [a, b] = await Promise.all([sendV2(marketA, w), sendV2(marketB, w)]);
      for (const x of [a, b]) tally.add(x, 'two APIs');
      accepted.push([a, b].filter((x) => x.body.resultCode === '000003').length);
      attacks.sent++;
      if ([a, b].filter((x) => x.body.resultCode === '000001').length === 1) attacks.rejected++;
      else attacks.notRejected.push(`two APIs: ${a.body.resultCode}/${b.body.resultCode}`);
    }
    expect(accepted).toEqual(requests.map(() => 1));

    await apiA.kill();
    await apiA.start();
    const again = await mapPool(requests, 8, async (w) => [await sendV2(marketA, w), await sendV2(marketB, w)]);
    for (const pair of again) {
      for (const x of pair) {
        tally.add(x, 'replay after restart');
        attacks.sent++;
        if (x.body.resultCode === '000001') attacks.rejected++;
        else attacks.notRejected.push(`after restart: ${x.body.resultCode}`);
      }
    }
    expect(attacks.notRejected).toEqual([]);
    expect(apiA.unexpectedExits()).toEqual([]);
    expect(apiB.unexpectedExits()).toEqual([]);
  });

  it('then 100% of the attacks were refused with 000001', () => {
    reportFigures({
      scenario: 'signature attacks (bit flips, wrong key, re-serialised body, ±61 s, replay incl. 2 API processes + restart, missing params, V1 authToken)',
      ...tally.summary(),
      crashes: 1,
      lost: 0,
      duplicates: 0,
      attacks: attacks.sent,
      rejected000001: attacks.rejected,
      rejectedPercent: Math.round((10000 * attacks.rejected) / Math.max(1, attacks.sent)) / 100,
      notes: 'crash = the deliberate SIGKILL of API process A between the two rounds',
    });
    expect(attacks.sent).toBeGreaterThan(2000);
    expect(attacks.rejected).toBe(attacks.sent);
    expect(tally.http5xx).toBe(0);
    expect(tally.malformed).toBe(0);
  });
});
