import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALL_SEARCH_ATTRIBUTE_KEYS, OrderIdKey, TestOrderKey } from '../../../src/kernel/search-attributes.js';
import { checkWorkerPolling, sameHostIdentity } from '../../../src/platform/temporal/worker-health.js';
import { clusterServerCommand } from '../../../scripts/infra/cluster.js';
import { ensureGoTool, TEMPORAL_SERVER, TEMPORAL_SQL_TOOL } from '../../../scripts/infra/go-tools.js';
import { run } from '../../../scripts/infra/proc.js';
import { testInfra, uniqueId } from '../../setup/infra.js';

// The compose stack's Temporal, for real, without Docker: the temporal-sql-tool and temporal-server of the version
// the compose file runs (1.31.0, built from the Go module and cached) on the test run's PostgreSQL. The steps are the
// compose services' own: deploy/temporal/setup-schema.sh (temporal-schema), the server started as the `temporal`
// service starts it from deploy/temporal/config/temporal-server.yaml, deploy/temporal/setup-namespace.sh with the
// compose arguments (temporal-namespace), then what the app needs from it: a worker that the health check sees
// polling, and workflows found by our search attributes in SQL visibility. What cannot be the same here (the
// database host, user and names, free ports instead of the fixed ones) is set through the file's template variables.

const { IndexedValueType } = proto.temporal.api.enums.v1;
const repoFile = (rel: string) => join(process.cwd(), rel);

/**
 * A free port below 32768: Temporal stores membership ports as a PostgreSQL smallint, so the kernel's ephemeral
 * ports (32768 and up) do not fit. Tried on every interface, as the frontend binds 0.0.0.0.
 */
const taken = new Set<number>();
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
}

describe('the compose stack’s Temporal: setup-schema.sh, temporal-server.yaml and setup-namespace.sh on a real server', () => {
  const infra = testInfra();
  const pgUrl = new URL(infra.databaseUrl);
  const suffix = uniqueId('t').replace(/[^a-z0-9]/gi, '_').toLowerCase();
  const role = `temporal_${suffix}`;
  const password = randomBytes(12).toString('hex');
  const db = `temporal_${suffix}`;
  const visibilityDb = `temporal_vis_${suffix}`;
  let dir: string;
  let server: ChildProcess | undefined;
  let serverLog = '';
  let ports: Record<'grpc' | 'http' | 'metrics' | 'frontendMembership' | 'matching' | 'matchingMembership' | 'history' | 'historyMembership' | 'worker' | 'workerMembership', number>;
  let connection: Connection | undefined;

  const psql = (sql: string) => {
    const r = run('runuser', ['-u', 'postgres', '--', 'psql', '-p', pgUrl.port || '5432', '-v', 'ON_ERROR_STOP=1', '-Atqc', sql]);
    if (r.status !== 0) throw new Error(`psql ${sql.slice(0, 60)}: ${r.stderr}`);
  };
  const sh = (script: string, args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<{ code: number; stderr: string }> =>
    new Promise((resolve) => {
      execFile('sh', [script, ...args], { env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, HOME: dir, ...env }, encoding: 'utf8', timeout: timeoutMs }, (err, _o, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr }),
      );
    });
  const schemaEnv = () => ({ SQL_HOST: pgUrl.hostname, SQL_PORT: pgUrl.port || '5432', SQL_USER: role, SQL_PASSWORD: password, TEMPORAL_DB: db, TEMPORAL_VISIBILITY_DB: visibilityDb });

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test creates a PostgreSQL role with runuser -u postgres: run it as root');
    const sqlTool = ensureGoTool(TEMPORAL_SQL_TOOL); // cached after the first build (minutes, cold)
    const serverBin = ensureGoTool(TEMPORAL_SERVER);
    dir = mkdtempSync(join(tmpdir(), 'temporal-server-'));
    run('mkdir', ['-p', join(dir, 'bin')]);
    // The admin-tools image has both on PATH under these names.
    symlinkSync(sqlTool, join(dir, 'bin', 'temporal-sql-tool'));
    symlinkSync(infra.temporalCliPath, join(dir, 'bin', 'temporal'));
    // Like the compose stack's superuser `temporal`: it may create the two databases.
    psql(`CREATE ROLE ${role} LOGIN CREATEDB PASSWORD '${password}'`);

    const schema = await sh(repoFile('deploy/temporal/setup-schema.sh'), [], schemaEnv());
    expect(schema.code, schema.stderr).toBe(0);

    ports = {
      grpc: await freePort(),
      http: await freePort(),
      metrics: await freePort(),
      frontendMembership: await freePort(),
      matching: await freePort(),
      matchingMembership: await freePort(),
      history: await freePort(),
      historyMembership: await freePort(),
      worker: await freePort(),
      workerMembership: await freePort(),
    };
    // The config file is the repo's own, unchanged: its templated values (database host, user and names, ports,
    // the dynamic-config path) come from the environment, as the cluster profile sets them.
    const { env: templateEnv } = clusterServerCommand({
      ports: {
        frontend: ports.grpc,
        frontendHttp: ports.http,
        frontendMembership: ports.frontendMembership,
        history: ports.history,
        historyMembership: ports.historyMembership,
        matching: ports.matching,
        matchingMembership: ports.matchingMembership,
        worker: ports.worker,
        workerMembership: ports.workerMembership,
        metrics: ports.metrics,
      },
      db: { host: pgUrl.hostname, port: Number(pgUrl.port || 5432), user: role, password, database: db, visibilityDatabase: visibilityDb },
      logLevel: 'info',
    });

    // As the compose service runs it: the same command and config file.
    const compose = parse(readFileSync(repoFile('docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { command: string[] }> };
    const command = [...compose.services.temporal!.command];
    command[command.indexOf('--config-file') + 1] = repoFile('deploy/temporal/config/temporal-server.yaml');
    server = spawn(serverBin, command.slice(1), { env: templateEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (c: Buffer) => (serverLog = (serverLog + c.toString()).slice(-8000));
    server.stdout!.on('data', keep);
    server.stderr!.on('data', keep);

    // The compose health check's request: the frontend's HTTP API answering /api/v1/system-info.
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`temporal-server exited with ${server.exitCode}:\n${serverLog}`);
      const ok = await fetch(`http://127.0.0.1:${ports.http}/api/v1/system-info`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`temporal-server did not serve within 120 s:\n${serverLog}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    connection = await Connection.connect({ address: `127.0.0.1:${ports.grpc}` });
  }, 40 * 60_000);

  afterAll(async () => {
    await connection?.close();
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    for (const name of [db, visibilityDb]) psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    psql(`DROP ROLE IF EXISTS ${role}`);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('made both schemas (a second run is a no-op) and the server serves from the shipped config', async () => {
    const again = await sh(repoFile('deploy/temporal/setup-schema.sh'), [], schemaEnv());
    expect(again.code, again.stderr).toBe(0);
    const info = (await (await fetch(`http://127.0.0.1:${ports.http}/api/v1/system-info`)).json()) as { serverVersion: string };
    expect(info.serverVersion).toBe(TEMPORAL_SERVER.version.replace(/^v/, ''));
    // The Prometheus endpoint of the config file.
    expect((await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).ok).toBe(true);
  });

  it('setup-namespace.sh creates the default namespace and all search attributes; they fit SQL visibility', async () => {
    const compose = parse(readFileSync(repoFile('docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { command: string[] }> };
    const r = await sh(repoFile('deploy/temporal/setup-namespace.sh'), compose.services['temporal-namespace']!.command, {
      TEMPORAL_ADDRESS: `127.0.0.1:${ports.grpc}`,
      TEMPORAL_NAMESPACE: 'default',
      SETUP_RETRY_DELAY_SECONDS: '1',
    });
    expect(r.code, `${r.stderr}\n${serverLog}`).toBe(0);
    const { customAttributes } = await connection!.operatorService.listSearchAttributes({ namespace: 'default' });
    const typeName = (t: number | null | undefined) => IndexedValueType[t ?? 0]!.replace('INDEXED_VALUE_TYPE_', '');
    expect(Object.fromEntries(Object.entries(customAttributes ?? {}).map(([k, v]) => [k, typeName(v)]))).toEqual(
      Object.fromEntries(ALL_SEARCH_ATTRIBUTE_KEYS.map((k) => [k.name, k.type])),
    );
  });

  it('serves a worker the health check sees polling, and finds workflows by our search attributes', async () => {
    const taskQueue = uniqueId('tq');
    const native = await NativeConnection.connect({ address: `127.0.0.1:${ports.grpc}` });
    const worker = await Worker.create({
      connection: native,
      namespace: 'default',
      taskQueue,
      workflowBundle: { codePath: infra.fixtureWorkflowBundlePath },
      activities: { stamp: async (label: string) => label },
    });
    const running = worker.run();
    try {
      let health = await checkWorkerPolling(connection!, { namespace: 'default', taskQueue, isOurs: sameHostIdentity() });
      for (let i = 0; i < 40 && !health.healthy; i++) {
        await new Promise((r) => setTimeout(r, 500));
        health = await checkWorkerPolling(connection!, { namespace: 'default', taskQueue, isOurs: sameHostIdentity() });
      }
      expect(health.healthy, JSON.stringify(health)).toBe(true);

      const client = new Client({ connection: connection!, namespace: 'default' });
      const orderId = uniqueId('CS');
      const handle = await client.workflow.start('longSleepWorkflow', {
        taskQueue,
        workflowId: `order-${orderId}`,
        args: [1],
        typedSearchAttributes: [
          { key: OrderIdKey, value: orderId },
          { key: TestOrderKey, value: true },
        ],
      });
      let found: string[] = [];
      for (let i = 0; i < 40 && found.length === 0; i++) {
        found = [];
        for await (const w of client.workflow.list({ query: `OrderId="${orderId}" AND TestOrder=true` })) found.push(w.workflowId);
        if (found.length === 0) await new Promise((r) => setTimeout(r, 500));
      }
      expect(found).toEqual([`order-${orderId}`]);
      await handle.terminate('test done');
    } finally {
      worker.shutdown();
      await running;
      await native.close();
    }
  });
});
