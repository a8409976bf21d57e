import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProductionClient } from '../../../tools/simulator/production-client.js';
import { testInfra, uniqueId } from '../../setup/infra.js';
import { apiProcess, freePort, testSecrets, type ServiceWiring } from '../../support/fault-harness.js';

// The API process as it runs in production (src/main/api-server.ts): two listeners, named readiness checks, and
// the drain on SIGTERM — /readyz turns 503 `draining` at once while the marketplace's calls are still answered for
// DRAIN_DELAY_MS, then the listeners close and the process exits 0.

const DRAIN_DELAY_MS = 2500;
const secrets = testSecrets();
let api: ReturnType<typeof apiProcess>;

beforeAll(async () => {
  const infra = testInfra();
  const w: ServiceWiring = {
    databaseUrl: infra.databaseUrl,
    temporalAddress: infra.temporalAddress,
    taskQueue: uniqueId('api-process'),
    // No Query Order is made here: nothing listens on the discard port.
    marketplaceUrl: 'http://127.0.0.1:9',
    ...secrets,
    extra: { DRAIN_DELAY_MS: String(DRAIN_DELAY_MS) },
  };
  api = apiProcess(w, await freePort(), 'drain-api');
  await api.start();
});
afterAll(async () => {
  await api?.kill();
});

const getJson = async (url: string) => {
  const res = await fetch(url, { headers: { connection: 'close' } });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

describe('the API process', () => {
  it('when started, then the internal listener reports each readiness check by name, and the public one serves only the marketplace', async () => {
    expect(await getJson(`${api.internalOrigin}/readyz`)).toEqual({
      status: 200,
      body: { status: 'ready', checks: [{ name: 'postgres', ok: true }, { name: 'migrations', ok: true }, { name: 'temporal', ok: true }] },
    });
    for (const path of ['/readyz', '/healthz', '/metrics', '/openapi.json', '/ops/orders']) {
      expect((await fetch(`${api.origin}${path}`)).status, `${path} on the public port`).toBe(404);
    }
    const ops = await fetch(`${api.internalOrigin}/ops/orders?limit=1`, { headers: { authorization: `Bearer ${secrets.opsApiToken}` } });
    expect(ops.status).toBe(200);
  });

  it('when a keep-alive connection to the public port has been idle 7 s, then a call sent on it is still answered (a proxy in front closes idle connections first)', async () => {
    const { port } = new URL(api.origin);
    const socket = connect(Number(port), '127.0.0.1');
    const answers: string[] = [];
    socket.on('data', (d: Buffer) => answers.push(d.toString('latin1').split('\r\n')[0]!));
    const request = `GET /koogallery/nowhere HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`;
    try {
      socket.write(request);
      await expect.poll(() => answers.length, { timeout: 5000 }).toBe(1);
      // Longer than the 6 s the API used to keep an idle connection (Node's default is 5 s).
      await new Promise((r) => setTimeout(r, 7000));
      expect(socket.destroyed || socket.readyState !== 'open', 'the API closed the idle connection').toBe(false);
      socket.write(request);
      await expect.poll(() => answers.length, { timeout: 5000 }).toBe(2);
      expect(answers).toEqual(['HTTP/1.1 404 Not Found', 'HTTP/1.1 404 Not Found']);
    } finally {
      socket.destroy();
    }
  }, 20_000);

  it('when SIGTERM arrives, then /readyz answers 503 draining at once, marketplace calls are still answered during the drain window, and the process then exits 0', async () => {
    const market = createProductionClient({ baseUrl: api.baseUrl, accessKey: secrets.accessKey });
    const signalled = Date.now();
    const stopped = api.stop(20_000);

    // Readiness turns within moments (the signal handler is the first thing the process does).
    let readiness: { status: number; body: Record<string, any> } | undefined;
    for (let i = 0; i < 40; i++) {
      readiness = await getJson(`${api.internalOrigin}/readyz`);
      if (readiness.status === 503) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(readiness).toEqual({ status: 503, body: { status: 'draining', checks: [] } });
    expect(Date.now() - signalled).toBeLessThan(DRAIN_DELAY_MS);

    // The marketplace is still answered, signed, during the window: V2 and V1.
    const v2 = await market.v2({ activity: 'queryInstance', instanceId: uniqueId('absent') });
    expect(v2.status).toBe(200);
    expect(v2.bodySignValid).toBe(true);
    expect(v2.body?.resultCode).toBe('000003');
    const v1 = await market.v1('queryInstance', { instanceId: uniqueId('absent') });
    expect(v1.bodySignValid).toBe(true);
    expect(v1.body?.resultCode).toBe('000003');
    expect(Date.now() - signalled).toBeLessThan(DRAIN_DELAY_MS);

    await stopped;
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(DRAIN_DELAY_MS);
    expect(api.exits.at(-1)).toMatchObject({ code: 0, expected: true });
    expect(api.output()).toContain('"msg":"api stopped"');
    await expect(fetch(`${api.origin}/koogallery/saas`)).rejects.toThrow();
  });
});
