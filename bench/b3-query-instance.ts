import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { findInstanceAccess } from '../src/orders/store.js';
import { createOrderService } from '../src/orders/service.js';
import { answerFor } from '../src/orders/answers.js';
import { bodySignHeaderValue, computeV2Signature, serializeResponse, verifyBodySignHeader, verifyV2Signature } from '../src/koogallery/index.js';
import { createNonceStore } from '../src/production-interface/nonce-store.js';
import { createSealedBox } from '../src/platform/sealed-box.js';
import { HARNESS_DATA_ENCRYPTION_KEY } from '../tools/testing/service-harness.js';
import { b0Step } from './b0-baseline.js';
import { PROC, awaitQuiet, type BenchContext } from './lib/context.js';
import { databaseUrlFor } from './lib/infra.js';
import { cpuLine } from './lib/limits.js';
import type { CpuReport } from './lib/proc-stats.js';
import { processCpuMs, selfCpuMs } from './lib/proc-stats.js';
import type { BenchResult } from './lib/results.js';
import { signV2 } from './lib/signing.js';
import { r } from './lib/stats.js';

// B3: queryInstance with 100 instance ids per call from 50 concurrent callers (closed loop: autocannon, 50
// connections, each request signed afresh in setupRequest). Then a short concurrency sweep (where does p99 ≤ 25 ms
// hold?) and the CPU of building one call's answer, cold and warm.

const IDS_PER_CALL = 100;

/** One closed-loop queryInstance run. */
export interface CannonStep {
  readonly connections: number;
  readonly seconds: number;
  readonly requests: number;
  readonly callsPerSecond: number;
  readonly latencyMs: { p50: number; p90: number; p99: number; max: number };
  readonly codes: Record<string, number>;
  readonly fullAnswers: number;
  readonly bodySignInvalid: number;
  readonly errors: number;
  /** PostgreSQL sessions opened in the test database during the run (all clients: other engineers' too). */
  readonly dbSessionsOpened: number;
  /** PostgreSQL transactions (each autocommitted statement is one) per call, all clients of the database. */
  readonly transactionsPerCall: number;
  /** queryInstance rows the inbox gained during the run (every call should write one). */
  readonly inboxRowsWritten: number;
  readonly cpu: CpuReport;
}

async function inboxQueryRows(ctx: BenchContext, since: Date): Promise<number> {
  const q = `SELECT count(*)::int AS n FROM marketplace_inbox WHERE activity = 'queryInstance' AND received_at >= $1`;
  return (await ctx.pool.query<{ n: number }>(q, [since])).rows[0]!.n;
}

async function dbCounters(ctx: BenchContext): Promise<{ sessions: number; transactions: number }> {
  const q = 'SELECT sessions, xact_commit + xact_rollback AS transactions FROM pg_stat_database WHERE datname = current_database()';
  const row = (await ctx.pool.query<{ sessions: string; transactions: string }>(q)).rows[0]!;
  return { sessions: Number(row.sessions), transactions: Number(row.transactions) };
}

function pick(pool: readonly string[], n: number): string[] {
  const out = new Set<string>();
  while (out.size < Math.min(n, pool.length)) out.add(pool[Math.floor(Math.random() * pool.length)]!);
  return [...out];
}

/** autocannon's request set-up: a queryInstance for 100 random ids of `ids`, signed afresh (V2). */
function signedQuery(ctx: BenchContext, ids: readonly string[]) {
  return (req: autocannon.Request): autocannon.Request => {
    const s = signV2(ctx.api.accessKey, ctx.api.path, { activity: 'queryInstance', instanceId: pick(ids, IDS_PER_CALL).join(',') });
    return { ...req, method: 'POST', path: s.path, body: s.body.toString('utf8'), headers: { 'content-type': 'application/json', accept: 'application/json' } };
  };
}

/** `connections` callers asking for 100 random ids of `ids` each, back to back, for `seconds`. */
export async function queryCannon(ctx: BenchContext, ids: readonly string[], connections: number, seconds: number): Promise<CannonStep> {
  const codes: Record<string, number> = {};
  let full = 0;
  let invalid = 0;
  const db0 = await dbCounters(ctx);
  const since = new Date((await ctx.pool.query<{ now: Date }>('SELECT now() AS now')).rows[0]!.now);
  const w = await ctx.meter().begin();
  const result = await autocannon({
    url: `http://${ctx.api.host}:${ctx.api.port}`,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        setupRequest: signedQuery(ctx, ids),
        onResponse: (status, body, _context, headers) => {
          let code = `http-${status}`;
          try {
            const parsed = JSON.parse(body) as { resultCode?: string; info?: unknown[] };
            code = String(parsed.resultCode);
            if (parsed.info?.length === IDS_PER_CALL) full++;
          } catch {
            code = 'unparsable';
          }
          codes[code] = (codes[code] ?? 0) + 1;
          const h = (headers as Record<string, string | string[] | undefined> | undefined)?.['body-sign'];
          if (!verifyBodySignHeader(ctx.api.accessKey, typeof h === 'string' ? h : Array.isArray(h) ? h[0] : undefined, body)) invalid++;
        },
      },
    ],
  });
  const cpu = await w.end();
  // The statistics collector reports a backend's counters when it goes idle, at most every 10 ms: wait them in.
  await new Promise((res) => setTimeout(res, 1100));
  const db1 = await dbCounters(ctx);
  const dbSessionsOpened = db1.sessions - db0.sessions;
  const transactionsPerCall = r((db1.transactions - db0.transactions) / Math.max(1, result.requests.total), 2);
  const inboxRowsWritten = await inboxQueryRows(ctx, since);
  return {
    connections,
    seconds,
    requests: result.requests.total,
    callsPerSecond: r(result.requests.total / seconds, 1),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    codes,
    fullAnswers: full,
    bodySignInvalid: invalid,
    errors: result.errors,
    dbSessionsOpened,
    transactionsPerCall,
    inboxRowsWritten,
    cpu,
  };
}

/** µs of CPU per call for `fn`, run back to back for `ms`. */
async function cpuPerCall(ms: number, fn: () => Promise<void>): Promise<{ calls: number; usPerCall: number; callsPerCoreSecond: number }> {
  for (let i = 0; i < 20; i++) await fn();
  const c0 = selfCpuMs();
  const t0 = performance.now();
  let calls = 0;
  while (performance.now() - t0 < ms) {
    await fn();
    calls++;
  }
  const cpu = selfCpuMs() - c0;
  return { calls, usPerCall: r((cpu * 1000) / calls, 0), callsPerCoreSecond: r((calls / cpu) * 1000, 0) };
}

/**
 * The answer's CPU, without the database: read-model rows → info (the sealed credentials opened and AES-encrypted
 * for the marketplace, unless order-service's appInfo cache has them) → JSON → Body-Sign. Cold: a fresh order
 * service per call, so every instance misses the cache (a poll of instances never asked about before); warm: one
 * service, so every instance hits it (the marketplace polling the same instances again).
 */
async function answerCpuBreakdown(ctx: BenchContext, ids: readonly string[]) {
  const rows = await findInstanceAccess(ctx.pool, ids.slice(0, IDS_PER_CALL));
  // Answers the version read (a warm poll) from the same rows: they carry their versions.
  const fakePool = { query: async () => ({ rows }) } as unknown as import('pg').Pool;
  const sealedBox = createSealedBox(HARNESS_DATA_ENCRYPTION_KEY);
  const service = () => createOrderService({ client: undefined as never, pool: fakePool, taskQueue: 'unused', accessKey: ctx.api.accessKey, sealedBox, budgetMs: 3500 });
  const idsOfCall = rows.map((x) => x.instanceId);
  let answer: Buffer = Buffer.alloc(0);
  const wire = (a: Awaited<ReturnType<ReturnType<typeof service>['queryInstances']>>) => {
    const bytes = serializeResponse(answerFor({ kind: 'query', interfaceVersion: 'V2', testOrder: false, instanceIds: idsOfCall }, a).body);
    bodySignHeaderValue(ctx.api.accessKey, bytes);
    answer = bytes;
  };
  const cold = await cpuPerCall(1500, async () => wire(await service().queryInstances(idsOfCall)));
  const warmService = service();
  const warm = await cpuPerCall(1500, async () => wire(await warmService.queryInstances(idsOfCall)));
  return { rowsPerCall: rows.length, answerBytes: answer.length, answer, cold, warm };
}

/**
 * The floor of one 100-id call (issue #17): what no implementation of queryInstance can skip — V2 signature
 * verification of the request, the nonce INSERT, one indexed read of the 100 read-model rows (the columns the
 * answer is made of: `findInstanceAccess`; reading whole rows, as this floor did before 2026-12-07, costs ≈ 0.6 ms
 * more and flattered the ratio), Body-Sign of an answer of the same bytes — run by `concurrency` loops in the bench process on a pool of its own (application_name
 * koo-bench-floor, so its backends count as pg(ours)). CPU per call: the bench process plus PostgreSQL backends.
 * Requests are signed before the window (signing is the marketplace's work, not ours).
 */
async function floorPerCall(ctx: BenchContext, ids: readonly string[], answer: Buffer, o: { ms?: number; concurrency?: number } = {}) {
  const pool = new pg.Pool({ connectionString: databaseUrlFor('koo-bench-floor'), max: o.concurrency ?? 8 });
  const nonces = createNonceStore(pool);
  const now = Date.now();
  const requests = Array.from({ length: 4096 }, () => {
    const idsOfCall = pick(ids, IDS_PER_CALL);
    const body = Buffer.from(JSON.stringify({ activity: 'queryInstance', instanceId: idsOfCall.join(',') }), 'utf8');
    const nonce = randomBytes(16).toString('hex');
    const timestamp = String(now);
    return { idsOfCall, body, nonce, timestamp, signature: computeV2Signature(ctx.api.accessKey, { nonce, timestamp, body }) };
  });
  let next = 0;
  let calls = 0;
  const one = async () => {
    const q = requests[next++ % requests.length]!;
    if (!verifyV2Signature(ctx.api.accessKey, q, q.body, { nowMs: now, toleranceMs: 600_000 }).ok) throw new Error('B3 floor: signature did not verify');
    // A fresh nonce per call even when the pre-signed list wraps (the INSERT is what is measured, not a conflict).
    await nonces.claim(next > requests.length ? randomBytes(16).toString('hex') : q.nonce, 300_000);
    const rows = await findInstanceAccess(pool, q.idsOfCall);
    if (rows.length !== q.idsOfCall.length) throw new Error(`B3 floor: read ${rows.length} of ${q.idsOfCall.length} rows`);
    bodySignHeaderValue(ctx.api.accessKey, answer);
    calls++;
  };
  try {
    for (let i = 0; i < 50; i++) await one();
    calls = 0;
    const w = await ctx.meter().begin();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: o.concurrency ?? 8 }, async () => {
        while (performance.now() - t0 < (o.ms ?? 3000)) await one();
      }),
    );
    const cpu = await w.end();
    const ms = ((cpu.processes[PROC.bench]?.cpuSeconds ?? 0) + (cpu.processes[PROC.pgBench]?.cpuSeconds ?? 0)) * 1000;
    return { calls, cpuMsPerCall: r(ms / Math.max(1, calls), 3), cpu: cpuLine(cpu), otherCores: cpu.other.cores };
  } finally {
    await pool.end();
  }
}

// A bare node:http server answering every request with fixed bytes: what carrying a call over HTTP costs the
// answering process with nothing of ours in it (request read, response written with its Body-Sign header).
const BARE_HTTP_SERVER = `
const http = require('node:http');
const body = Buffer.from(process.env.BARE_BODY_B64, 'base64');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8', 'body-sign': process.env.BARE_BODY_SIGN });
    res.end(body);
  });
});
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
process.on('message', () => server.close(() => process.exit(0)));
`;

/**
 * The HTTP transport of the same calls, for reference beside the floor (the issue's floor leaves it out): the same
 * signed 100-id requests from 50 autocannon connections, answered by a bare node:http server in a process of its
 * own with the answer's bytes; its CPU per request.
 */
async function transportPerCall(ctx: BenchContext, ids: readonly string[], answer: Buffer, seconds = 4) {
  const child = fork('-e', [BARE_HTTP_SERVER], {
    execPath: process.execPath,
    execArgv: [],
    env: { ...process.env, BARE_BODY_B64: answer.toString('base64'), BARE_BODY_SIGN: bodySignHeaderValue(ctx.api.accessKey, answer) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise<number>((res, rej) => {
      child.once('message', (m) => res(Number(m)));
      child.once('exit', (code) => rej(new Error(`B3 transport: the bare server exited (${code})`)));
    });
    const warm = { url: `http://127.0.0.1:${port}`, connections: 50, duration: 1 };
    const request = { method: 'POST' as const, setupRequest: signedQuery(ctx, ids) };
    await autocannon({ ...warm, requests: [request] });
    const c0 = processCpuMs(child.pid!) ?? 0;
    const result = await autocannon({ ...warm, duration: seconds, requests: [request] });
    const cpuMs = (processCpuMs(child.pid!) ?? 0) - c0;
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`B3 transport: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    return { calls: result.requests.total, cpuMsPerCall: r(cpuMs / Math.max(1, result.requests.total), 3), callsPerSecond: r(result.requests.total / seconds, 1) };
  } finally {
    child.send('stop');
    await new Promise((res) => (child.exitCode === null ? child.once('exit', res) : res(undefined)));
  }
}

/** Instances to ask about: the run's purchases (ACTIVE, with credentials); buys some if B0–B2 did not run. */
export async function instancesToQuery(ctx: BenchContext): Promise<string[]> {
  while (ctx.boughtInstanceIds.length < 300) {
    const s = await b0Step(ctx, 16, 6000, 500);
    if (s.completed === 0) throw new Error(`B3: could not buy instances to query (${s.errors.join('; ')})`);
  }
  return ctx.boughtInstanceIds.slice(-1000);
}

/** Runs B3. */
export async function runB3(ctx: BenchContext, o: { seconds?: number } = {}): Promise<BenchResult> {
  const started = new Date();
  const t0 = performance.now();
  const ids = await instancesToQuery(ctx);
  const breakdown = await answerCpuBreakdown(ctx, ids);
  console.log(`  B3 answer CPU per 100-id call: ${breakdown.cold.usPerCall} µs cold (appInfo cache misses), ${breakdown.warm.usPerCall} µs warm`);
  const quiet = await awaitQuiet(ctx);
  // The floor just before and just after the call's run, averaged: this machine's speed drifts by a fifth within
  // minutes (floors of 1.17 and 1.61 ms in two runs a quarter of an hour apart), and a floor measured only after
  // the sweep was a minute away from the run it is compared with.
  const floorBefore = await floorPerCall(ctx, ids, breakdown.answer);
  const main = await queryCannon(ctx, ids, 50, o.seconds ?? 10);
  const floorAfter = await floorPerCall(ctx, ids, breakdown.answer);
  const floor = { cpuMsPerCall: r((floorBefore.cpuMsPerCall + floorAfter.cpuMsPerCall) / 2, 3), before: floorBefore, after: floorAfter };
  console.log(
    `  B3 50 callers: ${main.callsPerSecond} calls/s, p50 ${main.latencyMs.p50} ms, p99 ${main.latencyMs.p99} ms, codes ${JSON.stringify(main.codes)}, ${main.dbSessionsOpened} DB sessions opened, ${main.transactionsPerCall} transactions per call; ${cpuLine(main.cpu)}`,
  );
  const sweep: CannonStep[] = [];
  for (const c of [1, 5, 10, 25]) {
    const s = await queryCannon(ctx, ids, c, 4);
    sweep.push(s);
    console.log(`  B3 ${c} callers: ${s.callsPerSecond} calls/s, p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms`);
  }
  const transport = await transportPerCall(ctx, ids, breakdown.answer);
  // Our CPU per call in a run: the service process and the PostgreSQL backends of its pools (the bench's load
  // generator is the marketplace, not us).
  const oursPerCall = (step: CannonStep) =>
    r((((step.cpu.processes[PROC.service]?.cpuSeconds ?? 0) + (step.cpu.processes[PROC.pgBench]?.cpuSeconds ?? 0)) * 1000) / Math.max(1, step.requests), 3);
  const oursMsPerCall = oursPerCall(main);
  const floorRatio = r(oursMsPerCall / floor.cpuMsPerCall, 2);
  // One caller at a time, against the floor run by one loop: no statement is shared between calls (the nonce
  // INSERT, the version read and the inbox row each go alone) and nothing of either side's per-round-trip cost
  // (wake-ups of the event loop and of PostgreSQL's backends) is shared with a neighbour; the service's idle cost
  // (pollers, timers) weighs more per call.
  const oneCaller = sweep.find((s) => s.connections === 1)!;
  const floorOneLoop = await floorPerCall(ctx, ids, breakdown.answer, { concurrency: 1 });
  const oneCallerRatio = r(oursPerCall(oneCaller) / floorOneLoop.cpuMsPerCall, 2);
  const withTransport = r(floor.cpuMsPerCall + transport.cpuMsPerCall, 3);
  const transportRatio = r(oursMsPerCall / withTransport, 2);
  console.log(
    `  B3 floor (verify + nonce INSERT + 100-row read + Body-Sign): ${floor.cpuMsPerCall} ms CPU per call (${floorBefore.cpuMsPerCall} before the run, ${floorAfter.cpuMsPerCall} after); the call: ${oursMsPerCall} ms ⇒ ${floorRatio} × the floor`,
  );
  console.log(`  B3 one caller at a time (nothing shared between calls): ${oursPerCall(oneCaller)} ms per call; the floor in one loop ${floorOneLoop.cpuMsPerCall} ms ⇒ ${oneCallerRatio} ×`);
  console.log(`  B3 HTTP transport (bare node:http, same requests and answer bytes): ${transport.cpuMsPerCall} ms per call; floor + transport ${withTransport} ms ⇒ the call is ${transportRatio} × that`);
  const serviceCores = main.cpu.processes[PROC.service]?.cores ?? 0;
  const serviceCpuMsPerCall = r(((main.cpu.processes[PROC.service]?.cpuSeconds ?? 0) * 1000) / Math.max(1, main.requests), 2);
  const maxOk = [...sweep].reverse().find((s) => s.latencyMs.p99 <= 25);
  const inboxFailing = main.inboxRowsWritten < 0.5 * main.requests;
  const sessionsPerCall = r(main.dbSessionsOpened / Math.max(1, main.requests), 2);
  const inboxNote = inboxFailing
    ? `; only ${main.inboxRowsWritten} of ${main.requests} calls left an inbox row (the 100-id instanceId list exceeds the btree row limit of marketplace_inbox_instance_id, the INSERT fails and pg drops the connection: ${sessionsPerCall} new PostgreSQL sessions with SCRAM auth per call)`
    : `; ${sessionsPerCall} new PostgreSQL sessions per call`;
  return {
    id: 'B3',
    title: 'queryInstance, 100 ids per call, 50 concurrent callers',
    startedAt: started.toISOString(),
    durationSeconds: r((performance.now() - t0) / 1000, 1),
    headline: `${main.callsPerSecond} calls/s (${Math.round(main.callsPerSecond * IDS_PER_CALL)} instances/s), p50 ${main.latencyMs.p50} ms, p99 ${main.latencyMs.p99} ms; ${oursMsPerCall} ms CPU per call = ${floorRatio} × its floor (${floor.cpuMsPerCall} ms), ${transportRatio} × floor + bare HTTP (${withTransport} ms); one caller at a time ${oneCallerRatio} × the floor run in one loop`,
    // The target is a ratio to the floor measured in the same run (issue #17), not a latency: a latency moves with
    // the machine and with what else runs on it; the ratio says how much our code adds to the unavoidable work.
    targets: [
      { name: 'CPU per 100-id call / its floor (same run)', target: '≤ 1.3', value: floorRatio, met: floorRatio <= 1.3 },
      { name: 'the same, one caller at a time against the floor in one loop (nothing shared between calls)', target: 'reported', value: oneCallerRatio, met: true },
    ],
    ratioToBaseline: { baseline: 'the floor: V2 signature verification + nonce INSERT + one indexed read of 100 rows + Body-Sign of the same answer bytes', ratio: floorRatio },
    limitedBy:
      `service CPU: ${serviceCpuMsPerCall} ms per call on one event loop (${serviceCores.toFixed(2)} cores; ${cpuLine(main.cpu)}). Building the answer (appInfos, JSON, Body-Sign) takes ${r(breakdown.warm.usPerCall / 1000, 2)} ms of it ` +
      `(${r(breakdown.cold.usPerCall / 1000, 2)} ms when the appInfo cache misses); the rest is HTTP, signature, JSON and pg round trips (PostgreSQL ${r(((main.cpu.processes[PROC.pgBench]?.cpuSeconds ?? 0) * 1000) / Math.max(1, main.requests), 2)} ms per call)${inboxNote}. Closed loop ⇒ p99 ≈ 50 / throughput; p99 ≤ 25 ms holds up to ${maxOk ? `${maxOk.connections} callers` : 'none of the swept concurrencies'}`,
    details: { quietWait: quiet, idsPerCall: IDS_PER_CALL, distinctIds: ids.length, serviceCpuMsPerCall, oursMsPerCall, floor, floorRatio, oneCallerMsPerCall: oursPerCall(oneCaller), floorOneLoop, oneCallerRatio, transport, withTransport, transportRatio, main, sweep, answerCpu: { ...breakdown, answer: undefined } },
  };
}
