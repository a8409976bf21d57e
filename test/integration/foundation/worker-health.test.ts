import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWorkerPolling, sameHostIdentity } from '../../../src/platform/temporal/worker-health.js';
import { testInfra, uniqueId } from '../../setup/infra.js';

// The worker's health check against the real dev server: a running worker is seen polling both task-queue types,
// and the check fails for a task queue nobody polls, for another host's identity, for a poll that is too old,
// and (the command) when Temporal cannot be reached, unless told to tolerate that.

const CLI = join(process.cwd(), 'src/platform/temporal/worker-health-cli.ts');
const TSX = join(process.cwd(), 'node_modules/.bin/tsx');

interface CliRun {
  status: number | null;
  report: Record<string, unknown>;
}

/** Runs the command as a probe would: its own process, the worker's environment (asynchronously: vitest keeps talking). */
function runCli(env: Record<string, string>, args: string[] = []): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', APP_ENV: 'test', LOG_LEVEL: 'silent', ...env }, encoding: 'utf8', timeout: 60_000 },
      (err, stdout, stderr) => {
        const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        const lastLine = stdout.trim().split('\n').at(-1) ?? '';
        resolve({ status, report: lastLine.startsWith('{') ? (JSON.parse(lastLine) as Record<string, unknown>) : { raw: stdout + stderr } });
      },
    );
  });
}

describe('worker health check (DescribeTaskQueue pollers, real Temporal dev server)', () => {
  const infra = testInfra();
  const taskQueue = uniqueId('worker-health');
  let nativeConnection: NativeConnection;
  let connection: Connection;
  let worker: Worker;
  let running: Promise<void>;
  const env = () => ({ TEMPORAL_ADDRESS: infra.temporalAddress, TEMPORAL_NAMESPACE: infra.temporalNamespace, TEMPORAL_TASK_QUEUE: taskQueue });

  beforeAll(async () => {
    connection = await Connection.connect({ address: infra.temporalAddress });
    nativeConnection = await NativeConnection.connect({ address: infra.temporalAddress });
    worker = await Worker.create({
      connection: nativeConnection,
      namespace: infra.temporalNamespace,
      taskQueue,
      workflowBundle: { codePath: infra.fixtureWorkflowBundlePath },
      activities: { stamp: async (label: string) => label },
    });
    running = worker.run();
    // The first polls reach the server within moments of run().
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const h = await checkWorkerPolling(connection, { namespace: infra.temporalNamespace, taskQueue, isOurs: sameHostIdentity() });
      if (h.healthy) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await nativeConnection?.close();
    await connection?.close();
  });

  it('sees this host’s worker polling workflow and activity tasks, with its SDK identity and a fresh poll', async () => {
    const health = await checkWorkerPolling(connection, { namespace: infra.temporalNamespace, taskQueue, isOurs: sameHostIdentity() });
    expect(health.healthy).toBe(true);
    for (const type of ['workflow', 'activity'] as const) {
      expect(health.types[type].ok).toBe(true);
      expect(health.types[type].identity).toBe(worker.options.identity);
      expect(health.types[type].identity).toBe(`${process.pid}@${hostname()}`);
      expect(health.types[type].ageMs).toBeLessThan(120_000);
    }
  });

  it('is unhealthy for another host’s identity, for a poll older than the limit, and for a queue nobody polls', async () => {
    const otherHost = await checkWorkerPolling(connection, { namespace: infra.temporalNamespace, taskQueue, isOurs: sameHostIdentity('some-other-pod') });
    expect(otherHost.healthy).toBe(false);
    expect(otherHost.types.workflow.problem).toMatch(/no workflow poller of this worker \(pollers seen: [1-9]/);

    const later = await checkWorkerPolling(connection, {
      namespace: infra.temporalNamespace,
      taskQueue,
      isOurs: sameHostIdentity(),
      now: () => new Date(Date.now() + 10 * 60_000),
    });
    expect(later.healthy).toBe(false);
    expect(later.types.activity.problem).toMatch(/last activity poll \d+ s ago \(limit 120 s\)/);

    const idle = await checkWorkerPolling(connection, { namespace: infra.temporalNamespace, taskQueue: uniqueId('nobody-polls'), isOurs: sameHostIdentity() });
    expect(idle.healthy).toBe(false);
    expect(idle.types.workflow.problem).toMatch(/pollers seen: 0/);
  });

  it('the command exits 0 for the polling worker (any identity of this host, or its exact one), 1 for a queue nobody polls', async () => {
    const [ok, exact, idle] = await Promise.all([
      runCli(env()),
      runCli(env(), ['--identity', worker.options.identity]),
      runCli({ ...env(), TEMPORAL_TASK_QUEUE: uniqueId('nobody-polls') }),
    ]);
    expect(ok.status, JSON.stringify(ok.report)).toBe(0);
    expect(ok.report).toMatchObject({ healthy: true, taskQueue, types: { workflow: { ok: true }, activity: { ok: true } } });
    expect(exact.status, JSON.stringify(exact.report)).toBe(0);
    expect(idle.status).toBe(1);
    expect(idle.report).toMatchObject({ healthy: false, types: { workflow: { ok: false }, activity: { ok: false } } });
  });

  it('the command fails when Temporal is unreachable, unless --tolerate-unreachable (liveness), and rejects bad arguments', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const down = { ...env(), TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const [strict, tolerant, badArgument] = await Promise.all([runCli(down), runCli(down, ['--tolerate-unreachable']), runCli(env(), ['--max-age-seconds', 'soon'])]);
    expect(strict.status).toBe(1);
    expect(strict.report).toMatchObject({ healthy: false, temporalReachable: false });
    expect(tolerant.status).toBe(0);
    expect(tolerant.report).toMatchObject({ healthy: false, temporalReachable: false });
    expect(badArgument.status).toBe(2);
  });
});
