import { randomBytes, randomUUID } from 'node:crypto';
import { formatCompactUtc } from '../../../src/koogallery/index.js';
import { LICENSE_CODE_PATH } from '../../../src/licenses/code-routes.js';
import { LICENSE_JWKS_PATH, LICENSE_PATH } from '../../../src/licenses/routes.js';
import { verifyLicense, type Jwks } from '../../../src/licenses/verify.js';
import type { CreateLicenseCodeInput, SimLicenseCode } from '../license-codes.js';
import type { ProductionAnswer } from '../production-client.js';
import type { Scenario, ScenarioContext, ScenarioReport, ScenarioStep } from './context.js';
import type { NamedScenario } from './scenario-run.js';

// The License scenarios (issue #13): the License families as KooGallery plays them against a RUNNING service (issue #13): Online License (POST
// /koogallery/license), the old V1 License (GET), and License code 2.0 (the client software activating a code
// through the service, the marketplace renewing, freezing and releasing it). Every marketplace answer must be HTTP
// 200, Body-Signed, with the expected code within 5 s; every license must verify with the service's JWKS.

/** A scenario source that can also sell license codes (the simulator's admin API, or its LicenseCodeBook). */
interface LicenseCodeSource {
  createLicenseCode(input: CreateLicenseCodeInput): SimLicenseCode | Promise<SimLicenseCode>;
}

const OK = '000000';
const days = (n: number) => formatCompactUtc(new Date(Date.now() + n * 86_400_000));

/** One run: its answers checked and counted. */
function licenseRun(name: string, ctx: ScenarioContext) {
  const steps: ScenarioStep[] = [];
  const instanceIds: string[] = [];
  const started = Date.now();
  const licenses = ctx.client.at(LICENSE_PATH);
  const codes = ctx.client.at(LICENSE_CODE_PATH);
  let jwks: Jwks | undefined;

  const failure = (step: string, why: string) => new Error(`[${name}] ${step}: ${why}`);

  function check(step: string, a: ProductionAnswer, code: string): ProductionAnswer {
    const got: unknown = a.body?.resultCode;
    steps.push({ step, status: a.status, ...(typeof got === 'string' ? { resultCode: got } : {}), latencyMs: a.latencyMs });
    ctx.log(`${step}: HTTP ${a.status} ${String(got)} in ${a.latencyMs} ms`);
    if (a.status !== 200 || !a.bodySignValid || got !== code) throw failure(step, `wanted HTTP 200, a valid Body-Sign and ${code}; got HTTP ${a.status} ${a.rawBody.slice(0, 300)}`);
    if (a.latencyMs > (ctx.maxLatencyMs ?? 5000)) throw failure(step, `answered after ${a.latencyMs} ms`);
    return a;
  }

  return {
    steps,
    instanceIds,
    post: async (step: string, body: Record<string, unknown>, code = OK) => check(step, await licenses.v2(body), code),
    get: async (step: string, activity: string, params: Record<string, string>, code = OK) => check(step, await licenses.v1(activity, params), code),
    codePost: async (step: string, body: Record<string, unknown>, code = OK) => check(step, await codes.v2(body), code),

    /** The claims of a license that verifies with the service's own JWKS. */
    async verified(step: string, license: unknown): Promise<Record<string, unknown>> {
      jwks ??= (await (await fetch(new URL(LICENSE_JWKS_PATH, ctx.client.baseUrl))).json()) as Jwks;
      const result = await verifyLicense(String(license), jwks);
      if (!result.ok) throw failure(step, `license does not verify: ${result.reason}`);
      return result.claims;
    },

    /** The client software's call on a code. */
    async codeClient(step: string, action: 'activate' | 'heartbeat', licenseCode: string, deviceFingerprint: string, outcome: string): Promise<{ license?: string }> {
      const t0 = Date.now();
      const res = await fetch(new URL(`${LICENSE_CODE_PATH}/${action}`, ctx.client.baseUrl), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ licenseCode, deviceFingerprint }) });
      const answer = (await res.json()) as { outcome?: string; license?: string };
      steps.push({ step, status: res.status, latencyMs: Date.now() - t0 });
      ctx.log(`${step}: HTTP ${res.status} ${String(answer.outcome)}`);
      if (answer.outcome !== outcome) throw failure(step, `wanted ${outcome}, got HTTP ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
      return answer;
    },

    /** A yearly license order in the simulator, bought through the License URL. */
    async buy(linearValue: number): Promise<{ instanceId: string; customerId: string }> {
      const customerId = randomBytes(16).toString('hex');
      const order = await ctx.orderBook.createOrder({ orderType: 'NEW', chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, productId: 'OFFI00000000000000LIC', skuCode: 'sim-license', customerId, linearValue });
      const a = await this.post('newInstance', { activity: 'newInstance', orderId: order.orderId, orderLineId: order.orderLine[0]!.orderLineId, businessId: randomUUID() });
      instanceIds.push(a.body.instanceId as string);
      return { instanceId: a.body.instanceId as string, customerId };
    },

    report: (): ScenarioReport => ({ scenario: name, steps, instanceIds, durationMs: Date.now() - started }),
  };
}

const licenseAsync = (instanceId: string, eventId: string, deviceFingerprint: string) => ({
  activity: 'getLicenseAsync',
  instanceId,
  effectiveTime: days(0),
  expireTime: days(365),
  eventId,
  deviceFingerprint,
});

const RUNS: Record<string, Scenario> = {
  'online-license-lifecycle': async (ctx) => {
    const run = licenseRun('online-license-lifecycle', ctx);
    const { instanceId, customerId } = await run.buy(2);
    const first = await run.post('getLicenseAsync (device A)', licenseAsync(instanceId, 'evt-a', 'MAC-A|DISK-A|BOARD-A|CPU-A'));
    await run.verified('getLicenseAsync (device A)', first.body.license);
    await run.post('getLicenseAsync (device B)', licenseAsync(instanceId, 'evt-b', 'MAC-B|DISK-B|BOARD-B|CPU-B'));
    await run.post('getLicenseAsync (device C, quota used)', licenseAsync(instanceId, 'evt-c', 'MAC-C'), '000900');
    const again = await run.post('getLicenseAsync (device A again)', licenseAsync(instanceId, 'evt-a', 'MAC-A|DISK-A|BOARD-A|CPU-A'));
    if (again.body.license !== first.body.license) throw new Error('[online-license-lifecycle] the repeated request got other bytes');
    await run.post('updateInstanceStatus FREEZE', { activity: 'updateInstanceStatus', instanceId, status: 'FREEZE' });
    await run.post('getLicenseAsync while frozen', licenseAsync(instanceId, 'evt-c', 'MAC-C'), '000901');
    await run.post('updateInstanceStatus UNFREEZE', { activity: 'updateInstanceStatus', instanceId, status: 'UNFREEZE' });
    const change = await ctx.orderBook.createOrder({ orderType: 'CHANGE', chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, productId: 'OFFI00000000000000LIC', skuCode: 'sim-license-plus', customerId, linearValue: 1 });
    await run.post('upgradeInstance (+1 license)', { activity: 'upgradeInstance', instanceId, orderId: change.orderId, orderLineId: change.orderLine[0]!.orderLineId });
    const third = await run.post('getLicenseAsync (device C)', licenseAsync(instanceId, 'evt-c', 'MAC-C'));
    const claims = await run.verified('getLicenseAsync (device C)', third.body.license);
    if (claims.quota !== 3) throw new Error(`[online-license-lifecycle] quota after the upgrade is ${String(claims.quota)}, not 3`);
    await run.post('releaseInstance', { activity: 'releaseInstance', instanceId });
    await run.post('getLicenseAsync after release', licenseAsync(instanceId, 'evt-a', 'MAC-A|DISK-A|BOARD-A|CPU-A'), '000003');
    await run.post('releaseInstance again', { activity: 'releaseInstance', instanceId });
    return run.report();
  },

  'v1-license-lifecycle': async (ctx) => {
    const run = licenseRun('v1-license-lifecycle', ctx);
    const orderId = `CS${randomBytes(7).toString('hex').toUpperCase().slice(0, 13)}`;
    const order = { orderId, customerId: randomBytes(16).toString('hex'), productId: 'OFFI0000000000000V1LIC', chargingMode: '1', periodType: 'year', periodNumber: '1', expireTime: days(365) };
    const got = await run.get('getLicense', 'getLicense', { ...order, businessId: randomUUID() });
    await run.verified('getLicense', got.body.license);
    const again = await run.get('getLicense again (new businessId)', 'getLicense', { ...order, businessId: randomUUID() });
    if (again.body.license !== got.body.license) throw new Error('[v1-license-lifecycle] getLicense is not idempotent per orderId');
    const instanceId = got.body.instanceId as string;
    run.instanceIds.push(instanceId);
    await run.get('refreshLicense', 'refreshLicense', { orderId: `${orderId}R`, instanceId, expireTime: days(730) });
    await run.get('expireLicense', 'expireLicense', { orderId, instanceId });
    await run.get('releaseLicense', 'releaseLicense', { orderId, instanceId });
    await run.get('releaseLicense again', 'releaseLicense', { orderId, instanceId });
    return run.report();
  },

  'license-code-lifecycle': async (ctx) => {
    const run = licenseRun('license-code-lifecycle', ctx);
    const source = ctx.orderBook as Partial<LicenseCodeSource>;
    if (typeof source.createLicenseCode !== 'function') throw new Error('[license-code-lifecycle] needs a simulator that sells license codes (its admin API)');
    const code = await source.createLicenseCode({ orderId: `CS${randomBytes(7).toString('hex').toUpperCase().slice(0, 13)}`, expireTime: days(365) });
    // The code is what the marketplace names in the 2.0 calls (the inbox keeps it as the instance).
    run.instanceIds.push(code.license);
    const device = `SIM-DEVICE-${randomBytes(4).toString('hex')}`;
    const activated = await run.codeClient('activate (client software)', 'activate', code.license, device, 'ACTIVE');
    await run.verified('activate (client software)', activated.license);
    await run.codeClient('activate from another device', 'activate', code.license, `${device}-2`, 'OTHER_DEVICE');
    await run.codeClient('heartbeat', 'heartbeat', code.license, device, 'ACTIVE');
    await run.codePost('refreshLicenseCode RENEWAL', { activity: 'refreshLicenseCode', scene: 'RENEWAL', orderId: `${code.orderId}R`, orderLineId: code.orderLineId, license: code.license, expireTime: days(730) });
    await run.codePost('updateLicenseCodeStatus FREEZE', { activity: 'updateLicenseCodeStatus', license: code.license, status: 'FREEZE' });
    await run.codeClient('heartbeat while frozen', 'heartbeat', code.license, device, 'FROZEN');
    await run.codePost('updateLicenseCodeStatus UNFREEZE', { activity: 'updateLicenseCodeStatus', license: code.license, status: 'UNFREEZE' });
    await run.codePost('releaseLicenseCode', { activity: 'releaseLicenseCode', license: code.license });
    await run.codePost('releaseLicenseCode again', { activity: 'releaseLicenseCode', license: code.license });
    await run.codeClient('heartbeat after release', 'heartbeat', code.license, device, 'RELEASED');
    await run.codePost('updateLicenseCodeStatus of an unknown code', { activity: 'updateLicenseCodeStatus', license: `NEVER${randomBytes(4).toString('hex')}`, status: 'FREEZE' }, '000003');
    return run.report();
  },
};

const DESCRIPTIONS: Record<string, string> = {
  'online-license-lifecycle': 'Online License: newInstance (linearValue 2) → two licenses, a third 000900, a repeat byte-identical → freeze 000901 → upgrade +1 → third license → release → 000003',
  'v1-license-lifecycle': 'V1 License: getLicense twice (same license) → refreshLicense → expireLicense → releaseLicense twice',
  'license-code-lifecycle': 'License code 2.0: a sold code activated and heartbeat by the client software → another device refused → refreshLicenseCode, freeze (heartbeat FROZEN), unfreeze, release twice → unknown code 000003',
};

/** The License scenarios, in `npm run sim -- list` order (registered with the others in scenarios.ts). */
export const LICENSE_SCENARIOS: readonly NamedScenario[] = Object.entries(RUNS).map(([name, run]) => ({ name, description: DESCRIPTIONS[name]!, run }));
