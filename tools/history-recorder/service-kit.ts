// The kit of the service recorders: the whole service in-process (tools/testing/service-harness.ts) on the real
// Temporal dev server with the real worker, activities, PostgreSQL and the marketplace simulator, driven through
// the signed production interface, the order notification and the ops API. For every path that happens in seconds.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { findInstance } from '../../src/orders/store.js';
import { linesOfInstance } from '../../src/settlement/store.js';
import { getOrderQuery, orderWorkflowId, type OrderState } from '../../src/orders/contract.js';
import { getSupervisionQuery, supervisionWorkflowId, type SupervisionNode, type SupervisionState } from '../../src/supervision/contract.js';
import type { CreateOrderInput, SimOrderInfo, SimSupervisionEventInput } from '../simulator/order-book.js';
import type { ProductionAnswer } from '../simulator/production-client.js';
import { startServiceHarness, type ServiceHarness } from '../testing/service-harness.js';
import { freshId, inDays, sleep, until, type RecordingKit, type Settled } from './recorder.js';
import { expectSupervision, SUPERVISED_PRODUCTS, type SupervisionHandle } from './supervised-products.js';

/** The package SKU the service kit configures (METERING_PACKAGES) for the metering recorders. */
export const REPLAY_PACKAGE_SKU = 'replay-api-pkg';

/** What service recorders drive the service with: the harness, plus checked marketplace and ops calls. */
export class ServiceKit implements RecordingKit {
  private constructor(readonly h: ServiceHarness) {}

  /**
   * One harness against the dev server: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and DATABASE_URL override the
   * defaults (the local dev server, the migrated test database).
   */
  static async start(): Promise<ServiceKit> {
    const h = await startServiceHarness({
      infra: {
        databaseUrl: process.env.DATABASE_URL ?? 'postgres://koogallery:koogallery@127.0.0.1:5432/koogallery_orders_test',
        temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
        temporalNamespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
      },
      // The metering recorders' package SKU (quota 100, stop when used up, repurchase expected at 80 %).
      env: { SUPERVISED_PRODUCTS, METERING_PACKAGES: `${REPLAY_PACKAGE_SKU}=100:stop:80%`, METERING_REPURCHASE_POLL_MS: '200' },
    });
    return new ServiceKit(h);
  }

  /**
   * Recorded runs have no worker once the harness closes: ends every run still open on this harness's own task
   * queue (also after a failed recorder), so the shared dev server's open-order count is not polluted. The
   * fixtures were exported before, so they do not contain the termination.
   */
  async close(): Promise<void> {
    const { client, config } = this.h;
    let ended = 0;
    try {
      for await (const wf of client.workflow.list({ query: `TaskQueue="${config.temporal.taskQueue}" AND ExecutionStatus="Running"` })) {
        await client.workflow.getHandle(wf.workflowId, wf.runId).terminate('replay fixture recorded').then(() => ended++, () => undefined);
      }
      console.log(`ended ${ended} recorded run(s) still open on task queue ${config.temporal.taskQueue}`);
    } finally {
      await this.h.close();
    }
  }

  get client(): Client {
    return this.h.client;
  }

  /** A recorded path that did not happen as intended would make a lying fixture: stop instead. */
  expectCode(a: ProductionAnswer, code: string | readonly string[], step: string): ProductionAnswer {
    const codes = typeof code === 'string' ? [code] : code;
    if (a.status !== 200 || !a.bodySignValid || !codes.includes(a.body?.resultCode)) {
      throw new Error(`${step}: expected ${codes.join('|')}, got HTTP ${a.status} ${a.rawBody.slice(0, 300)}`);
    }
    return a;
  }

  async v2(step: string, body: Record<string, unknown>, code: string | readonly string[] = '000000'): Promise<ProductionAnswer> {
    return this.expectCode(await this.h.market.v2(body), code, step);
  }

  async v1(step: string, activity: string, params: Record<string, string>, code: string | readonly string[] = '000000'): Promise<ProductionAnswer> {
    return this.expectCode(await this.h.market.v1(activity, params), code, step);
  }

  /** An order in the simulator's order book (yearly period purchase unless overridden). */
  order(extra: Partial<CreateOrderInput> = {}): SimOrderInfo {
    return this.h.marketplace.orderBook.createOrder({
      orderType: 'NEW',
      chargingMode: 'PERIOD',
      periodType: 'year',
      periodNumber: 1,
      productId: 'prod-replay',
      skuCode: 'sku-basic',
      customerId: freshId('cust-'),
      ...extra,
    });
  }

  /** V2 newInstance of a new order line. */
  async buyV2(extra: Partial<CreateOrderInput> = {}, o: { code?: string; testFlag?: '1' } = {}) {
    const order = this.order(extra);
    const line = order.orderLine[0]!.orderLineId;
    const a = await this.v2('V2 newInstance', { activity: 'newInstance', orderId: order.orderId, orderLineId: line, businessId: randomUUID(), ...(o.testFlag ? { testFlag: o.testFlag } : {}) }, o.code ?? '000000');
    const workflowId = orderWorkflowId({ kind: 'v2-line', orderId: order.orderId, orderLineId: line });
    return { order, line, workflowId, instanceId: a.body.instanceId as string, answer: a };
  }

  /** A V2 renewal order and its refreshInstance. */
  async renewV2(instanceId: string, customerId: string, expireInDays: number): Promise<void> {
    const renewal = this.order({ orderType: 'RENEW', customerId });
    await this.v2('V2 refreshInstance RENEWAL', {
      activity: 'refreshInstance',
      scene: 'RENEWAL',
      orderId: renewal.orderId,
      orderLineId: renewal.orderLine[0]!.orderLineId,
      instanceId,
      expireTime: inDays(expireInDays),
    });
  }

  /** Inline V1 newInstance parameters (yearly period purchase unless overridden; '' drops a parameter). */
  v1Params(extra: Record<string, string> = {}): Record<string, string> {
    return {
      businessId: randomUUID(),
      orderId: freshId('CSV1'),
      customerId: freshId('cust-'),
      productId: 'prod-replay-v1',
      skuCode: 'sku-basic',
      chargingMode: '1',
      periodType: 'year',
      periodNumber: '1',
      expireTime: inDays(365),
      ...extra,
    };
  }

  async buyV1(params: Record<string, string>): Promise<{ instanceId: string; workflowId: string }> {
    const a = await this.v1('V1 newInstance', 'newInstance', params);
    const instanceId = a.body.instanceId as string;
    return { instanceId, workflowId: await this.workflowIdOf(instanceId) };
  }

  async workflowIdOf(instanceId: string): Promise<string> {
    const row = await findInstance(this.h.pool, instanceId);
    if (!row) throw new Error(`no read-model row for instance ${instanceId}`);
    return row.workflowId;
  }

  async runIdOf(workflowId: string): Promise<string> {
    return (await this.client.workflow.getHandle(workflowId).describe()).runId;
  }

  /** A V2 purchase of a supervised product, once its supervision child is up (at `node`). */
  async buySupervisedV2(productId: string, node: SupervisionNode, extra: Partial<CreateOrderInput> = {}) {
    const bought = await this.buyV2({ productId, skuCode: `${productId}-sku`, ...extra });
    const supervisionId = supervisionWorkflowId(bought.workflowId);
    await until(`supervision ${supervisionId} to start`, async () => {
      const s = await this.supervisionState(supervisionId).catch(() => undefined);
      return s?.seq ? s : undefined;
    });
    expectSupervision('supervision started', await this.supervisionState(supervisionId), { node });
    return { ...bought, orderId: bought.order.orderId, supervisionId };
  }

  /** The supervision's state: live while it runs, its result once it has ended. */
  async supervisionState(supervisionId: string): Promise<SupervisionState> {
    const h = this.client.workflow.getHandle(supervisionId) as SupervisionHandle;
    const { status } = await h.describe();
    return status.name === 'RUNNING' ? h.query(getSupervisionQuery) : h.result();
  }

  /** The instance's settlement lines as stored (settlement_lines). */
  settlementLinesOf(instanceId: string): ReturnType<typeof linesOfInstance> {
    return linesOfInstance(this.h.pool, instanceId);
  }

  orderState(workflowId: string): Promise<OrderState> {
    return this.client.workflow.getHandle(workflowId).query(getOrderQuery);
  }

  /**
   * A merchant action through the ops API (`POST /ops/supervision/:orderId/actions`, bearer token), which must be
   * answered `status`; on 200 the supervision must then be at `node`.
   */
  async merchant(step: string, orderId: string, action: Record<string, unknown>, expect: { status?: number; node?: SupervisionNode } = {}): Promise<Record<string, any>> {
    const res = await fetch(`${this.h.internalOrigin}/ops/supervision/${encodeURIComponent(orderId)}/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.h.opsToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(action),
    });
    const json = (await res.json()) as Record<string, any>;
    const status = expect.status ?? 200;
    if (res.status !== status) throw new Error(`${step}: expected HTTP ${status}, got ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
    if (status === 200 && expect.node && json.state?.node !== expect.node) throw new Error(`${step}: expected node ${expect.node}, got ${json.state?.node}`);
    return json;
  }

  /**
   * User-side events as the marketplace reports them: added to the order's supervision block, then the signed
   * order notification (which reads the order back with Query Order). The notification answers 000000 even when
   * an event is refused, so the supervision's node is what proves the step happened.
   */
  async userEvents(step: string, o: { orderId: string; line: string; supervisionId: string }, events: SimSupervisionEventInput[], node: SupervisionNode): Promise<SupervisionState> {
    this.h.marketplace.orderBook.addSupervisionEvents(o.orderId, { events: events.map((e) => ({ orderLineId: o.line, ...e })) });
    this.expectCode(await this.h.market.orderNotification({ orderId: o.orderId, orderLineId: o.line }), '000000', step);
    return expectSupervision(step, await this.supervisionState(o.supervisionId), { node });
  }

  /**
   * Waits until a run is closed, or open and idle: no workflow task or activity pending and the history length
   * unchanged across polls. Without a runId a continued-as-new run is not the end: its successor is waited for.
   */
  async settle(workflowId: string, runId?: string, timeoutMs = 60_000): Promise<Settled> {
    const handle = this.client.workflow.getHandle(workflowId, runId);
    const deadline = Date.now() + timeoutMs;
    let last: { runId: string; events: number } | undefined;
    for (;;) {
      const d = await handle.describe();
      const status = d.status.name;
      if (status !== 'RUNNING' && !(status === 'CONTINUED_AS_NEW' && runId === undefined)) return { status, runId: d.runId, events: d.historyLength };
      const idle = status === 'RUNNING' && !d.raw.pendingWorkflowTask && (d.raw.pendingActivities?.length ?? 0) === 0;
      if (idle && last && last.runId === d.runId && last.events === d.historyLength) return { status, runId: d.runId, events: d.historyLength };
      last = idle ? { runId: d.runId, events: d.historyLength } : undefined;
      if (Date.now() > deadline) throw new Error(`${workflowId} did not settle within ${timeoutMs} ms (status ${status}, ${d.historyLength} events)`);
      await sleep(300);
    }
  }
}
