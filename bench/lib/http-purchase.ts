import { randomUUID } from 'node:crypto';
import type { BenchContext } from './context.js';
import { cpuMsPer, oursCpuMsPer } from './limits.js';
import { Agent } from 'node:http';
import { openLoop, postSigned } from './open-loop.js';
import type { CpuReport } from './proc-stats.js';
import { signV2 } from './signing.js';
import { countBy, r, summarize, type LatencySummary } from './stats.js';

// One open-loop step of signed V2 newInstance calls over HTTP (B1, B2): orders are created in the simulator's order
// book first (in the service process), then each request carries a fresh order line, businessId, nonce and
// signature, exactly as the marketplace sends them.

/** The service's provisioning budget (PROVISION_BUDGET_MS default; the harness does not change it). */
export const PURCHASE_BUDGET_MS = 3500;

/** What one step measured. */
export interface HttpPurchaseStep {
  readonly offeredRate: number;
  readonly durationMs: number;
  readonly sent: number;
  readonly codes: Record<string, number>;
  /** 000000 answers per second of the step (every request is sent within the step). */
  readonly completedRate: number;
  /** Share of the requests answered 000000. */
  readonly completedRatio: number;
  /**
   * Queue growth inside the step: median latency of the last quarter of requests (by send time) minus that of the
   * first quarter. Below capacity it stays near 0; above, the queue and this grow with every second of the step.
   */
  readonly latencyGrowthMs: number;
  readonly firstQuarterP50Ms: number;
  readonly latency: LatencySummary;
  readonly latencyOfSuccesses: LatencySummary;
  readonly answersOver5s: number;
  readonly bodySignInvalid: number;
  readonly generatorLagP99Ms: number;
  readonly cpu: CpuReport;
  readonly cpuMsPerPurchase: Record<string, number>;
  readonly oursCpuMsPerPurchase: number;
  /** Seconds it took afterwards until no purchase was provisioning any more. */
  readonly drainSeconds: number;
}

/** A V2 newInstance of the simulator's order `orderId` (its one line), signed as the marketplace signs it. */
const signedPurchase = (ctx: BenchContext, orderId: string, businessId: string) =>
  signV2(ctx.api.accessKey, ctx.api.path, { activity: 'newInstance', orderId, orderLineId: `${orderId}-000001`, businessId });

/** Waits until no order workflow of this server is still provisioning (the previous step's backlog is done). */
export async function drainProvisioning(ctx: BenchContext, maxMs = 60_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const { count } = await ctx.client.workflow.count(`OrderPhase = 'PROVISIONING' AND ExecutionStatus = 'Running'`);
    if (count === 0 || performance.now() - t0 > maxMs) return r((performance.now() - t0) / 1000, 1);
    await new Promise((res) => setTimeout(res, 500));
  }
}

/** Runs one step at `rate` purchases/s for `durationMs`. */
export async function httpPurchaseStep(ctx: BenchContext, rate: number, durationMs: number, o: { timeoutMs?: number } = {}): Promise<HttpPurchaseStep> {
  const n = Math.ceil((rate * durationMs) / 1000) + 5;
  const orderIds = await ctx.service.request<string[]>({ cmd: 'createOrders', n });
  const businessIds: string[] = [];
  const w = await ctx.meter().begin();
  const res = await openLoop({
    host: ctx.api.host,
    port: ctx.api.port,
    rate,
    durationMs,
    timeoutMs: o.timeoutMs ?? 15_000,
    accessKey: ctx.api.accessKey,
    make: (i) => {
      const orderId = orderIds[i]!;
      const businessId = randomUUID();
      businessIds[i] = businessId;
      return {
        req: signedPurchase(ctx, orderId, businessId),
        tag: businessId,
      };
    },
  });
  const cpu = await w.end();
  const drainSeconds = await drainProvisioning(ctx);
  const ok = res.outcomes.filter((x) => x.code === '000000');
  for (const x of ok) if (x.tag) ctx.boughtInstanceIds.push(x.tag);
  const bySend = [...res.outcomes].sort((x, y) => x.at - y.at);
  const quarter = Math.max(1, Math.floor(bySend.length / 4));
  const firstQuarter = summarize(bySend.slice(0, quarter).map((x) => x.latencyMs)).p50;
  const lastQuarter = summarize(bySend.slice(-quarter).map((x) => x.latencyMs)).p50;
  return {
    offeredRate: rate,
    durationMs,
    sent: res.sent,
    codes: countBy(res.outcomes.map((x) => x.code)),
    completedRate: r(ok.length / (durationMs / 1000), 1),
    completedRatio: r(ok.length / Math.max(1, res.sent), 3),
    latencyGrowthMs: r(lastQuarter - firstQuarter, 1),
    firstQuarterP50Ms: firstQuarter,
    latency: summarize(res.outcomes.map((x) => x.latencyMs)),
    latencyOfSuccesses: summarize(ok.map((x) => x.latencyMs)),
    answersOver5s: res.outcomes.filter((x) => x.latencyMs > 5000).length,
    bodySignInvalid: res.outcomes.filter((x) => /^\d{6}$/.test(x.code) && !x.bodySignValid).length,
    generatorLagP99Ms: res.generatorLagP99Ms,
    cpu,
    cpuMsPerPurchase: cpuMsPer(cpu, ok.length),
    oursCpuMsPerPurchase: oursCpuMsPer(cpu, ok.length),
    drainSeconds,
  };
}

/** What one closed-loop step measured. */
export interface HttpPurchaseClosedStep {
  readonly concurrency: number;
  /** 000000 answers that arrived inside the window, per second of it. */
  readonly throughput: number;
  readonly completed: number;
  readonly codes: Record<string, number>;
  readonly latency: LatencySummary;
  readonly bodySignInvalid: number;
  readonly cpu: CpuReport;
  readonly cpuMsPerPurchase: Record<string, number>;
  readonly oursCpuMsPerPurchase: number;
}

/**
 * One closed-loop step of signed V2 newInstance calls over HTTP, shaped as B0's step so the two compare like for like:
 * `concurrency` callers each send a purchase and the next one when it is answered; after `warmupMs`, the purchases
 * answered 000000 within `durationMs` count. `expectedRate` sizes the order book's batch of fresh orders.
 */
export async function httpPurchaseClosedStep(
  ctx: BenchContext,
  o: { concurrency: number; durationMs: number; warmupMs: number; expectedRate: number },
): Promise<HttpPurchaseClosedStep> {
  const n = Math.ceil(((o.expectedRate * 2 + 5) * (o.warmupMs + o.durationMs)) / 1000) + 4 * o.concurrency;
  const orderIds = await ctx.service.request<string[]>({ cmd: 'createOrders', n });
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const w = await ctx.meter().begin();
  const t0 = performance.now();
  const windowStart = t0 + o.warmupMs;
  const windowEnd = windowStart + o.durationMs;
  const latencies: number[] = [];
  const codes: string[] = [];
  let completedTotal = 0;
  let bodySignInvalid = 0;
  let next = 0;
  const caller = async () => {
    while (performance.now() < windowEnd && next < orderIds.length) {
      const orderId = orderIds[next++]!;
      const businessId = randomUUID();
      const req = signedPurchase(ctx, orderId, businessId);
      const sent = performance.now();
      const answer = await postSigned({ host: ctx.api.host, port: ctx.api.port, agent, req, timeoutMs: 15_000, accessKey: ctx.api.accessKey });
      const answered = performance.now();
      if (/^\d{6}$/.test(answer.code) && !answer.bodySignValid) bodySignInvalid++;
      if (answer.code === '000000') {
        completedTotal++;
        ctx.boughtInstanceIds.push(businessId);
      }
      if (answered >= windowStart && answered < windowEnd) {
        codes.push(answer.code);
        if (answer.code === '000000') latencies.push(answered - sent);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, caller));
  const cpu = await w.end();
  agent.destroy();
  await drainProvisioning(ctx);
  return {
    concurrency: o.concurrency,
    throughput: r(latencies.length / (o.durationMs / 1000), 1),
    completed: latencies.length,
    codes: countBy(codes),
    latency: summarize(latencies),
    bodySignInvalid,
    cpu,
    // The CPU window spans warm-up and tail as well (as B0's), so divide by every purchase completed in it.
    cpuMsPerPurchase: cpuMsPer(cpu, completedTotal),
    oursCpuMsPerPurchase: oursCpuMsPer(cpu, completedTotal),
  };
}
