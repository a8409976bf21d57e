import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_NOTIFICATION_RETRY,
  NOTIFICATION_WORKFLOW_TYPE,
  notificationWorkflowId,
  type NotificationInput,
  type NotificationResult,
} from '../../../src/notifications/contract.js';
import { RECONCILIATION_WORKFLOW_TYPE, reconciliationScheduleId, type ReconciliationResult } from '../../../src/reconciliation/contract.js';
import { meteringPushScheduleId } from '../../../src/metering/contract.js';
import { settlementScheduleId } from '../../../src/settlement/schedule.js';
import { testInfra, uniqueId } from '../../setup/infra.js';
import { until } from '../../../tools/testing/until.js';
import { parseSamples } from '../../support/ops/prometheus-text.js';

// The worker as production runs it: `node --import tsx worker.ts` as a child process with its configuration in the
// environment. It must expose the SDK's Prometheus metrics on WORKER_METRICS_PORT, create its reconciliation
// schedule, run workflows, log JSON without secrets, and exit 0 once however many stop signals it gets.

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const SECRETS = {
  KOOGALLERY_ACCESS_KEY: 'worker-proc-access-key-7f3a9c',
  HUAWEI_CLOUD_AK: 'WORKERPROCAK00000001',
  HUAWEI_CLOUD_SK: 'worker-proc-secret-key-51be',
  DATA_ENCRYPTION_KEY: 'worker-proc-data-encryption-key-0123',
  OPS_API_TOKEN: 'worker-proc-ops-token-88d1',
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

let child: ChildProcess;
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let output = '';
let port: number;
let taskQueue: string;
let connection: Connection;
let client: Client;

const logLines = (): Array<Record<string, unknown>> =>
  output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  const infra = testInfra();
  port = await freePort();
  taskQueue = uniqueId('worker-proc');
  connection = await Connection.connect({ address: infra.temporalAddress });
  client = new Client({ connection, namespace: infra.temporalNamespace });
  child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      // development, not test: a test-env worker leaves the reconciliation schedule alone (see worker.ts).
      APP_ENV: 'development',
      LOG_LEVEL: 'info',
      DATABASE_URL: infra.databaseUrl,
      TEMPORAL_ADDRESS: infra.temporalAddress,
      TEMPORAL_NAMESPACE: infra.temporalNamespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      // The run's prebuilt bundle: what production runs, and no webpack in the test.
      TEMPORAL_WORKFLOW_BUNDLE: infra.workflowBundlePath,
      WORKER_METRICS_PORT: String(port),
      ...SECRETS,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await until(
    'the worker to run',
    () => {
      if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}:\n${output}`);
      return logLines().some((l) => l.msg === 'worker running') ? true : undefined;
    },
    60_000,
  );
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
  await client?.schedule.getHandle(reconciliationScheduleId(taskQueue)).delete().catch(() => undefined);
  await client?.schedule.getHandle(meteringPushScheduleId(taskQueue)).delete().catch(() => undefined);
  await client?.schedule.getHandle(settlementScheduleId(taskQueue)).delete().catch(() => undefined);
  await connection?.close();
});

describe('worker process', () => {
  it('when started, then it creates its reconciliation schedule, for its own task queue, every 15 minutes', async () => {
    const line = await until('the schedule log line', () => logLines().find((l) => l.msg === 'reconciliation schedule ready'), 20_000);
    expect(line).toMatchObject({ scheduleId: `koogallery-reconciliation-${taskQueue}`, created: true, level: 'info', service: 'koogallery-worker' });
    const d = await client.schedule.getHandle(reconciliationScheduleId(taskQueue)).describe();
    expect(d.action).toMatchObject({ workflowType: RECONCILIATION_WORKFLOW_TYPE, taskQueue });
    expect(d.spec.intervals?.map((i) => i.every)).toEqual([15 * 60_000]);
    // The usage push schedule beside it: hourly, 5 minutes into the hour.
    const push = await until('the push schedule log line', () => logLines().find((l) => l.msg === 'metering push schedule ready'), 20_000);
    expect(push).toMatchObject({ scheduleId: meteringPushScheduleId(taskQueue), created: true });
    const p = await client.schedule.getHandle(meteringPushScheduleId(taskQueue)).describe();
    expect(p.spec.intervals).toEqual([{ every: 3600_000, offset: 300_000 }]);
  });

  it('when a workflow runs on it, then /metrics on WORKER_METRICS_PORT serves temporal_ series for its task queue, counters as _total and durations in seconds', async () => {
    // An empty-scoped reconciliation: a workflow and its activities run, nothing in the database is touched.
    const result: ReconciliationResult = await client.workflow.execute(RECONCILIATION_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: uniqueId('worker-proc-recon'),
      args: [{ instanceIds: [] }],
      workflowExecutionTimeout: '1 minute',
    });
    expect(result).toMatchObject({ checked: 0, newFindings: 0, resolved: 0 });
    const text = await until(
      'temporal_ series after the run',
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
        const body = res?.ok ? await res.text() : '';
        return /^temporal_workflow_completed_total\{/m.test(body) && /^temporal_activity_execution_latency_seconds_count\{/m.test(body) ? body : undefined;
      },
      30_000,
    );
    const samples = parseSamples(text).filter((s) => s.name.startsWith('temporal_'));
    expect(samples.length).toBeGreaterThan(10);
    expect(samples.some((s) => s.labels['task_queue'] === taskQueue)).toBe(true);
    expect(samples.find((s) => s.name === 'temporal_workflow_completed_total' && s.labels['workflow_type'] === RECONCILIATION_WORKFLOW_TYPE)?.value).toBeGreaterThanOrEqual(1);

    // Prometheus naming (what recording rules and dashboards assume): every counter ends in _total, every latency
    // histogram is in seconds and says so. The SDK defaults were bare counter names and unitless milliseconds.
    const types = [...text.matchAll(/^# TYPE (temporal_\w+) (\w+)$/gm)].map((m) => ({ name: m[1]!, type: m[2]! }));
    const counters = types.filter((t) => t.type === 'counter');
    const histograms = types.filter((t) => t.type === 'histogram');
    expect(counters.length).toBeGreaterThan(3);
    expect(counters.filter((c) => !c.name.endsWith('_total')).map((c) => c.name)).toEqual([]);
    const latencies = histograms.filter((h) => h.name.includes('latency'));
    expect(latencies.length).toBeGreaterThan(2);
    expect(latencies.filter((h) => !h.name.endsWith('_seconds')).map((h) => h.name)).toEqual([]);
    // Seconds, not milliseconds: a reconciliation over nothing takes well under a minute end to end.
    const endToEnd = samples.find((s) => s.name === 'temporal_workflow_endtoend_latency_seconds_sum' && s.labels['workflow_type'] === RECONCILIATION_WORKFLOW_TYPE);
    expect(endToEnd?.value).toBeGreaterThan(0);
    expect(endToEnd?.value).toBeLessThan(60);
    const bounds = samples.filter((s) => s.name === 'temporal_activity_execution_latency_seconds_bucket').map((s) => Number(s.labels['le']));
    expect(bounds.filter((b) => Number.isFinite(b)).every((b) => b <= 600)).toBe(true);
    mkdirSync(join(repoRoot, 'test-output', 'metrics'), { recursive: true });
    writeFileSync(join(repoRoot, 'test-output', 'metrics', 'worker-scrape.txt'), text);
  });

  it('when a notification runs on it, then it is delivered on the log channel and counted on the same /metrics endpoint', async () => {
    const dedupeKey = `${uniqueId('worker-proc-note')}:reminder:1:MERCHANT#log`;
    const input: NotificationInput = {
      notification: {
        dedupeKey,
        requestKey: dedupeKey.replace(/#log$/, ''),
        kind: 'SUPERVISION_REMINDER',
        recipient: 'MERCHANT',
        channel: 'log',
        orderId: 'WORKER-PROC-1',
        subject: 'worker process notification',
        body: 'b',
        data: {},
        enqueuedAt: new Date().toISOString(),
      },
      retry: DEFAULT_NOTIFICATION_RETRY,
    };
    const result = (await client.workflow.execute(NOTIFICATION_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: notificationWorkflowId(dedupeKey),
      args: [input],
      workflowExecutionTimeout: '1 minute',
    })) as NotificationResult;
    expect(result).toMatchObject({ dedupeKey, channel: 'log', attempt: 1 });
    expect(logLines().find((l) => l.msg === 'notification' && l.dedupeKey === dedupeKey)).toMatchObject({ channel: 'log', recipient: 'MERCHANT', level: 'info' });
    const text = await until(
      'the notification counter',
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
        const body = res?.ok ? await res.text() : '';
        return /^koogallery_notifications_delivered_total\{/m.test(body) ? body : undefined;
      },
      30_000,
    );
    const delivered = parseSamples(text).find((x) => x.name === 'koogallery_notifications_delivered_total' && x.labels['channel'] === 'log');
    expect(delivered?.value).toBe(1);
    expect(text).toMatch(/^# TYPE koogallery_notifications_delivered_total counter$/m);
    mkdirSync(join(repoRoot, 'test-output', 'metrics'), { recursive: true });
    writeFileSync(join(repoRoot, 'test-output', 'metrics', 'worker-notification-scrape.txt'), text);
  });

  it('when SIGINT and then SIGTERM are sent (Ctrl-C, then a supervisor), then it drains once and exits 0, and its log is JSON without any secret', async () => {
    // Back to back, as a terminal's Ctrl-C and a supervisor's SIGTERM can land: both are pending before the worker
    // handles either (with a pause between them an idle worker may already have drained and exited).
    child.kill('SIGINT');
    child.kill('SIGTERM');
    const { code, signal } = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within 20 s:\n${output}`)), 20_000))]);
    expect({ code, signal }, output.slice(-3000)).toEqual({ code: 0, signal: null });
    const lines = logLines();
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['starting worker', 'worker running', 'draining worker', 'already draining', 'worker stopped']));
    expect(lines.filter((l) => l.msg === 'draining worker')).toHaveLength(1);
    // Worker.shutdown() called twice threw IllegalStateError ("Not running. Current state: STOPPED") out of a
    // signal handler, with a stack trace.
    expect(output).not.toMatch(/IllegalStateError|Not running\. Current state/);
    expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    for (const l of lines) expect(l).toMatchObject({ level: expect.any(String), time: expect.any(String), service: 'koogallery-worker' });
    for (const [name, value] of Object.entries(SECRETS)) expect(output, name).not.toContain(value);
  });
});
