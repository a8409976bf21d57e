// Records the replay fixtures of the license workflows (issue #13), licenseInstanceWorkflow and licenseCodeWorkflow:
// each scenario drives the real service (worker, activities, PostgreSQL, the marketplace simulator) through the
// License production URLs and the license-code client endpoints, then exports the runs it names into
// test/replay/histories/<workflow-type>/ in the format of export-history.ts.
//
//   npx tsx tools/history-recorder/license-recorder.ts [--only <scenario>[,<scenario>...]] [--tag <label>] [--list]
//
// As with record-histories.ts, each fixture is written as <scenario>[.<part>][.<tag>].json: record a workflow change
// with `--tag after-<patch-id>` so that the untagged fixtures stay the record of the code before it.
//
// TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE and DATABASE_URL (default the migrated test database)
// pick the servers. Self-contained on purpose: the order recorder (record-histories.ts) is being split, and this one
// only shares the export format with it.
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WithStartWorkflowOperation, WorkflowUpdateStage, type Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { formatCompactUtc } from '../../src/koogallery/index.js';
import {
  LICENSE_CODE_WORKFLOW_TYPE,
  LICENSE_INSTANCE_WORKFLOW_TYPE,
  activateCodeUpdate,
  licenseCodeWorkflowId,
  licenseInstanceWorkflowId,
  type LicenseCodeInput,
  type LicenseInstanceInput,
} from '../../src/licenses/contract.js';
import { LICENSE_CODE_PATH } from '../../src/licenses/code-routes.js';
import { LICENSE_PATH } from '../../src/licenses/routes.js';
import { orderWorkflowId, purchaseUpdate, type OrderKey } from '../../src/orders/contract.js';
import { createProductionClient, type ProductionAnswer, type ProductionClient } from '../simulator/production-client.js';
import { startServiceHarness, TEST_ACCESS_KEY, type ServiceHarness } from '../testing/service-harness.js';
import { checkTagLabel, fetchFixture, fixtureName, refuseToReplaceOlderShape, repoRelative, writeFixture, type ExportedHistory } from './export-history.js';

/** A run to export once it has settled: closed (COMPLETED / CONTINUED_AS_NEW) or idle while RUNNING. */
interface Run {
  readonly workflowId: string;
  readonly runId?: string;
  readonly part?: string;
}

/** One recorded lifecycle path. */
interface LicenseScenario {
  readonly workflowType: typeof LICENSE_INSTANCE_WORKFLOW_TYPE | typeof LICENSE_CODE_WORKFLOW_TYPE;
  readonly name: string;
  readonly description: string;
  record(d: Driver): Promise<Run[]>;
}

// Named here: export-history.ts's default resolves below tools/ since the recorder moved there.
const HISTORIES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'replay', 'histories');

const days = (n: number) => formatCompactUtc(new Date(Date.now() + n * 86_400_000));
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Faults the recording worker's activities play on request (each is consumed by the call it hits). */
interface ActivityFaults {
  /**
   * The next `issueLicense` stores its license and then fails as if the worker had died before the result reached
   * history: the local activity's retry finds the license (`EXISTING`).
   */
  loseNextIssueResult: boolean;
}

/** Drives the service like the marketplace, and stops the recording when an answer is not the expected one. */
class Driver {
  readonly market: ProductionClient;
  readonly codeMarket: ProductionClient;
  constructor(
    readonly h: ServiceHarness,
    readonly faults: ActivityFaults,
  ) {
    this.market = createProductionClient({ baseUrl: new URL(LICENSE_PATH, h.baseUrl).toString(), accessKey: TEST_ACCESS_KEY });
    this.codeMarket = createProductionClient({ baseUrl: new URL(LICENSE_CODE_PATH, h.baseUrl).toString(), accessKey: TEST_ACCESS_KEY });
  }

  /** The client software's call on a code (activate or heartbeat); stops the recording on another outcome. */
  async codeClient(action: 'activate' | 'heartbeat', licenseCode: string, deviceFingerprint: string, outcome = 'ACTIVE'): Promise<void> {
    const res = await fetch(new URL(`${LICENSE_CODE_PATH}/${action}`, this.h.baseUrl), { method: 'POST', body: JSON.stringify({ licenseCode, deviceFingerprint }) });
    const answer = (await res.json()) as { outcome?: string };
    if (answer.outcome !== outcome) throw new Error(`${action} ${licenseCode}: wanted ${outcome}, got HTTP ${res.status} ${JSON.stringify(answer)}`);
  }

  async codePost(step: string, body: Record<string, unknown>, code = '000000'): Promise<ProductionAnswer> {
    return this.checked(step, await this.codeMarket.v2(body), code);
  }

  get client(): Client {
    return this.h.client;
  }

  /** A recorded path that did not happen as intended would make a lying fixture. */
  private checked(step: string, a: ProductionAnswer, code: string): ProductionAnswer {
    if (a.status === 200 && a.bodySignValid && a.body?.resultCode === code) return a;
    throw new Error(`${step}: wanted ${code}, got HTTP ${a.status} ${a.rawBody.slice(0, 300)}`);
  }

  async post(step: string, body: Record<string, unknown>, code = '000000'): Promise<ProductionAnswer> {
    return this.checked(step, await this.market.v2(body), code);
  }

  async get(step: string, activity: string, params: Record<string, string>, code = '000000'): Promise<ProductionAnswer> {
    return this.checked(step, await this.market.v1(activity, params), code);
  }

  license(instanceId: string, eventId: string, deviceFingerprint: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { activity: 'getLicenseAsync', instanceId, effectiveTime: days(0), expireTime: days(365), eventId, deviceFingerprint, ...extra };
  }

  order(orderType: 'NEW' | 'RENEW' | 'CHANGE', customerId: string, linearValue?: number) {
    const spec = { orderType, chargingMode: 'PERIOD' as const, periodType: 'year' as const, periodNumber: 1, productId: 'prod-replay-license', skuCode: 'sku-license' };
    return this.h.marketplace.orderBook.createOrder({ ...spec, customerId, ...(linearValue !== undefined ? { linearValue } : {}) });
  }

  /** An Online License purchase through the License URL. */
  async buy(linearValue: number, testFlag?: '1') {
    const customerId = `cust-${randomUUID().slice(0, 8)}`;
    const order = this.order('NEW', customerId, linearValue);
    const orderLineId = order.orderLine[0]!.orderLineId;
    const flag = testFlag ? { testFlag } : {};
    const a = await this.post('newInstance', { activity: 'newInstance', orderId: order.orderId, orderLineId, businessId: randomUUID(), ...flag });
    const workflowId = licenseInstanceWorkflowId(orderWorkflowId({ kind: 'v2-line', orderId: order.orderId, orderLineId }));
    return { order, orderLineId, customerId, workflowId, instanceId: a.body.instanceId as string };
  }

  /** Waits until the run is closed, or running with nothing to do; returns its run id. */
  async settled(run: Run, timeoutMs = 60_000): Promise<string> {
    const stop = Date.now() + timeoutMs;
    for (;;) {
      const d = await this.client.workflow.getHandle(run.workflowId, run.runId).describe();
      const busy = d.status.name === 'RUNNING' && (d.raw.pendingWorkflowTask || (d.raw.pendingActivities?.length ?? 0) > 0);
      if (!busy) return d.runId;
      if (Date.now() > stop) throw new Error(`${run.workflowId} still busy after ${timeoutMs} ms`);
      await pause(200);
    }
  }
}

/** A run that continued (as new, or bought again): its first run and the latest one. */
const firstAndLatestRun = (workflowId: string, firstRunId: string, latest: 'last-run' | 'second-run'): Run[] => [
  { workflowId, runId: firstRunId, part: 'first-run' },
  { workflowId, part: latest },
];

const SCENARIOS: LicenseScenario[] = [
  {
    workflowType: LICENSE_INSTANCE_WORKFLOW_TYPE,
    name: 'online-license-lifecycle',
    description: 'bought with linearValue 2; two licenses; a third refused; frozen, unfrozen; upgrade +1; a third license; renewal; release',
    async record(d) {
      const { instanceId, workflowId, customerId } = await d.buy(2);
      await d.post('license 1', d.license(instanceId, 'e1', 'DEVICE-A'));
      await d.post('license 2', d.license(instanceId, 'e2', 'DEVICE-B'));
      await d.post('license 3 over quota', d.license(instanceId, 'e3', 'DEVICE-C'), '000900');
      await d.post('freeze', { activity: 'updateInstanceStatus', instanceId, status: 'FREEZE' });
      await d.post('license while frozen', d.license(instanceId, 'e3', 'DEVICE-C'), '000901');
      await d.post('unfreeze', { activity: 'updateInstanceStatus', instanceId, status: 'UNFREEZE' });
      const change = d.order('CHANGE', customerId, 1);
      await d.post('upgrade', { activity: 'upgradeInstance', instanceId, orderId: change.orderId, orderLineId: change.orderLine[0]!.orderLineId });
      await d.post('license 3', d.license(instanceId, 'e3', 'DEVICE-C'));
      const renewal = d.order('RENEW', customerId);
      await d.post('renewal', { activity: 'refreshInstance', scene: 'RENEWAL', orderId: renewal.orderId, orderLineId: renewal.orderLine[0]!.orderLineId, instanceId, expireTime: days(730) });
      await d.post('release', { activity: 'releaseInstance', instanceId });
      return [{ workflowId }];
    },
  },
  {
    workflowType: LICENSE_INSTANCE_WORKFLOW_TYPE,
    name: 'online-license-lost-result',
    description: 'bought with linearValue 2; the first license stored and its result lost (the retry finds it); a second; a third refused; release',
    async record(d) {
      const { instanceId, workflowId } = await d.buy(2);
      d.faults.loseNextIssueResult = true;
      await d.post('license with its result lost', d.license(instanceId, 'lost', 'DEVICE-LOST'));
      if (d.faults.loseNextIssueResult) throw new Error('the issue never reached the activity: nothing was lost');
      await d.post('license 2', d.license(instanceId, 'e2', 'DEVICE-B'));
      await d.post('license 3 over quota', d.license(instanceId, 'e3', 'DEVICE-C'), '000900');
      await d.post('release', { activity: 'releaseInstance', instanceId });
      return [{ workflowId }];
    },
  },
  {
    workflowType: LICENSE_INSTANCE_WORKFLOW_TYPE,
    name: 'online-license-concurrent',
    description: 'quota 3: ten identical and five distinct requests at once (repeats answered by the workflow, one refused in the handler)',
    async record(d) {
      const { instanceId, workflowId } = await d.buy(3);
      const identical = Array.from({ length: 10 }, () => d.market.v2(d.license(instanceId, 'same', 'SAME')));
      const distinct = Array.from({ length: 5 }, (_, i) => d.market.v2(d.license(instanceId, `d${i}`, `DEV-${i}`)));
      const answers = await Promise.all([...identical, ...distinct]);
      const issued = new Set(answers.filter((a) => a.body?.resultCode === '000000').map((a) => a.body.license as string));
      if (issued.size !== 3) throw new Error(`expected 3 distinct licenses, got ${issued.size}`);
      return [{ workflowId }];
    },
  },
  {
    workflowType: LICENSE_INSTANCE_WORKFLOW_TYPE,
    name: 'online-license-continue-as-new',
    description: 'license instance started with historyEventLimit 40, then licenses until it has continued as new',
    async record(d) {
      const customerId = `cust-${randomUUID().slice(0, 8)}`;
      const order = d.order('NEW', customerId, 50);
      const key: OrderKey = { kind: 'v2-line', orderId: order.orderId, orderLineId: order.orderLine[0]!.orderLineId };
      const instanceId = randomUUID();
      const workflowId = licenseInstanceWorkflowId(orderWorkflowId(key));
      const input: LicenseInstanceInput = { key, interfaceVersion: 'V2', instanceId, testOrder: false, historyEventLimit: 40 };
      // Started directly (the API never sets historyEventLimit), otherwise as the order service starts it.
      const start = new WithStartWorkflowOperation(LICENSE_INSTANCE_WORKFLOW_TYPE, { workflowId, taskQueue: d.h.config.temporal.taskQueue, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' });
      const bought = await d.client.workflow.startUpdateWithStart(purchaseUpdate, { args: [{ businessId: instanceId, testOrder: false }], waitForStage: WorkflowUpdateStage.ACCEPTED, startWorkflowOperation: start });
      if ((await bought.result()).code !== '000000') throw new Error('purchase failed');
      const firstRunId = bought.workflowRunId!;
      for (let i = 0; i < 12; i++) await d.post(`license ${i}`, d.license(instanceId, `can-${i}`, `CAN-${i}`));
      const lastRunId = await d.settled({ workflowId });
      if (lastRunId === firstRunId) throw new Error('did not continue as new');
      await d.post('license after', d.license(instanceId, 'after', 'AFTER'));
      return firstAndLatestRun(workflowId, firstRunId, 'last-run');
    },
  },
  {
    workflowType: LICENSE_INSTANCE_WORKFLOW_TYPE,
    name: 'v1-license-lifecycle',
    description: 'V1 getLicense (twice), refreshLicense, expireLicense, releaseLicense',
    async record(d) {
      const orderId = `CSV1L${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
      const params = { orderId, customerId: 'cust-v1-replay', productId: 'prod-replay-v1', chargingMode: '1', periodType: 'year', periodNumber: '1', expireTime: days(365) };
      const got = await d.get('getLicense', 'getLicense', { ...params, businessId: randomUUID() });
      await d.get('getLicense again', 'getLicense', { ...params, businessId: randomUUID() });
      const instanceId = got.body.instanceId as string;
      await d.get('refreshLicense', 'refreshLicense', { orderId: `${orderId}R`, instanceId, expireTime: days(730) });
      await d.get('expireLicense', 'expireLicense', { orderId, instanceId });
      await d.get('releaseLicense', 'releaseLicense', { orderId, instanceId });
      return [{ workflowId: licenseInstanceWorkflowId(orderWorkflowId({ kind: 'v1-order', orderId })) }];
    },
  },
  {
    workflowType: LICENSE_INSTANCE_WORKFLOW_TYPE,
    name: 'online-license-test-order-replayed',
    description: 'debug order: a license, release, bought again (second run), the same license again and one more',
    async record(d) {
      const { order, orderLineId, instanceId, workflowId } = await d.buy(1, '1');
      await d.post('license', d.license(instanceId, 'dial', 'DIAL', { testFlag: '1' }));
      await d.post('release', { activity: 'releaseInstance', instanceId, testFlag: '1' });
      const firstRunId = await d.settled({ workflowId });
      await d.post('bought again', { activity: 'newInstance', orderId: order.orderId, orderLineId, businessId: randomUUID(), testFlag: '1' });
      await d.post('license again', d.license(instanceId, 'dial', 'DIAL', { testFlag: '1' }));
      await d.post('another license', d.license(instanceId, 'dial-2', 'DIAL-2', { testFlag: '1' }));
      return firstAndLatestRun(workflowId, firstRunId, 'second-run');
    },
  },
  {
    workflowType: LICENSE_CODE_WORKFLOW_TYPE,
    name: 'license-code-lifecycle',
    description: 'a code activated, heartbeats, renewed (new term license), frozen, unfrozen, released',
    async record(d) {
      const code = d.h.marketplace.licenseCodes.create({ orderId: `CSLC${randomUUID().slice(0, 8).toUpperCase()}`, expireTime: days(200) });
      await d.codeClient('activate', code.license, 'REPLAY-DEVICE');
      await d.codeClient('activate', code.license, 'OTHER-DEVICE', 'OTHER_DEVICE');
      await d.codeClient('heartbeat', code.license, 'REPLAY-DEVICE');
      d.h.marketplace.licenseCodes.update(code.license, { expireTime: days(565) });
      await d.codePost('renewal', { activity: 'refreshLicenseCode', scene: 'RENEWAL', orderId: `${code.orderId}R`, orderLineId: code.orderLineId, license: code.license, expireTime: days(565) });
      await d.codeClient('heartbeat', code.license, 'REPLAY-DEVICE');
      await d.codePost('freeze', { activity: 'updateLicenseCodeStatus', license: code.license, status: 'FREEZE' });
      await d.codeClient('heartbeat', code.license, 'REPLAY-DEVICE', 'FROZEN');
      await d.codePost('unfreeze', { activity: 'updateLicenseCodeStatus', license: code.license, status: 'UNFREEZE' });
      await d.codePost('release', { activity: 'releaseLicenseCode', license: code.license });
      return [{ workflowId: licenseCodeWorkflowId(code.license) }];
    },
  },
  {
    workflowType: LICENSE_CODE_WORKFLOW_TYPE,
    name: 'license-code-refused',
    description: 'an unknown code: license/activate refuses it and the run ends',
    async record(d) {
      const code = `UNKNOWN${randomUUID().slice(0, 8).toUpperCase()}`;
      await d.codeClient('activate', code, 'ANY', 'REFUSED');
      return [{ workflowId: licenseCodeWorkflowId(code) }];
    },
  },
  {
    workflowType: LICENSE_CODE_WORKFLOW_TYPE,
    name: 'license-code-continue-as-new',
    description: 'a code started with historyEventLimit 40, then heartbeats until it has continued as new',
    async record(d) {
      const code = d.h.marketplace.licenseCodes.create({ orderId: `CSLC${randomUUID().slice(0, 8).toUpperCase()}` });
      const workflowId = licenseCodeWorkflowId(code.license);
      const input: LicenseCodeInput = { code: code.license, testOrder: false, historyEventLimit: 40 };
      // Started directly (the API never sets historyEventLimit), otherwise as the license-code service starts it.
      const start = new WithStartWorkflowOperation(LICENSE_CODE_WORKFLOW_TYPE, { workflowId, taskQueue: d.h.config.temporal.taskQueue, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' });
      const activated = await d.client.workflow.startUpdateWithStart(activateCodeUpdate, { args: [{ deviceFingerprint: 'CAN' }], waitForStage: WorkflowUpdateStage.ACCEPTED, startWorkflowOperation: start });
      if ((await activated.result()).outcome !== 'ACTIVE') throw new Error('activation failed');
      const firstRunId = activated.workflowRunId!;
      for (let i = 0; i < 10; i++) await d.codeClient('heartbeat', code.license, 'CAN');
      const lastRunId = await d.settled({ workflowId });
      if (lastRunId === firstRunId) throw new Error('did not continue as new');
      await d.codeClient('heartbeat', code.license, 'CAN');
      return firstAndLatestRun(workflowId, firstRunId, 'last-run');
    },
  },
];

async function recordAll(scenarios: readonly LicenseScenario[], tag: string | undefined): Promise<ExportedHistory[]> {
  const faults: ActivityFaults = { loseNextIssueResult: false };
  const h = await startServiceHarness({
    infra: {
      databaseUrl: process.env.DATABASE_URL ?? 'postgres://koogallery:koogallery@127.0.0.1:5432/koogallery_orders_test',
      temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
      temporalNamespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    },
    wrapActivities: (a) => ({
      ...a,
      async issueLicense(input) {
        const outcome = await a.issueLicense(input);
        if (faults.loseNextIssueResult) {
          faults.loseNextIssueResult = false;
          throw new Error('worker lost after the license was stored (injected by the recorder)');
        }
        return outcome;
      },
    }),
  });
  const d = new Driver(h, faults);
  const written: ExportedHistory[] = [];
  try {
    for (const s of scenarios) {
      for (const run of await s.record(d)) {
        const runId = await d.settled(run);
        const name = fixtureName(s.name, run.part, tag);
        const fixture = await fetchFixture(d.client, { workflowId: run.workflowId, runId, name, dir: HISTORIES });
        if (fixture.workflowType !== s.workflowType) throw new Error(`${s.name}: recorded a ${fixture.workflowType}`);
        refuseToReplaceOlderShape(fixture);
        written.push(writeFixture(fixture));
        console.log(`${repoRelative(fixture.path)}: ${fixture.events} events`);
      }
    }
  } finally {
    // Nothing serves this harness's task queue once it closes: terminate what is still open there (after export).
    const open = d.client.workflow.list({ query: `TaskQueue="${h.config.temporal.taskQueue}" AND ExecutionStatus="Running"` });
    for await (const wf of open) await d.client.workflow.getHandle(wf.workflowId, wf.runId).terminate('license fixtures recorded').catch(() => undefined);
    await h.close();
  }
  return written;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { only: { type: 'string' }, tag: { type: 'string' }, list: { type: 'boolean' } } });
  if (values.tag !== undefined) checkTagLabel(values.tag);
  if (values.list) {
    for (const s of SCENARIOS) console.log(`${s.workflowType}/${s.name}: ${s.description}`);
    return;
  }
  const only = values.only?.split(',').map((s) => s.trim());
  const missing = only?.filter((n) => !SCENARIOS.some((s) => s.name === n)) ?? [];
  if (missing.length > 0) throw new Error(`unknown scenario(s): ${missing.join(', ')} (see --list)`);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const written = await recordAll(SCENARIOS.filter((s) => !only || only.includes(s.name)), values.tag);
  console.log(`${written.length} fixture(s), ${written.reduce((n, w) => n + w.events, 0)} events`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
