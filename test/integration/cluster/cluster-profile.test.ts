import { Worker } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_SEARCH_ATTRIBUTE_KEYS } from '../../../src/kernel/search-attributes.js';
import { SCENARIOS, SIM_SUPERVISED_PRODUCTS, type ScenarioContext } from '../../../tools/simulator/scenarios.js';
import { startClusterUi } from '../../../scripts/infra/cluster.js';
import { freePort, portOpen, waitFor } from '../../../scripts/infra/proc.js';
import { testInfra, type TestInfra } from '../../setup/infra.js';
import { testCluster, testClusterDatabases, testClusterPorts, type TestCluster } from '../../support/cluster.js';
import { bounded } from '../../support/fault-harness.js';
import { startServiceHarness, type ServiceHarness } from '../../support/service-harness.js';

// The cluster profile (issue #17), short: the service on Temporal's own server (PostgreSQL persistence and SQL
// visibility, 4 history shards, started from deploy/temporal/config/temporal-server.yaml as compose runs it) instead
// of the dev server. A purchase to its release and a supervised service to its acceptance, driven by the marketplace
// simulator with every answer checked; then the histories those orders left on the server, fetched back and
// replayed against the workflow bundle. The reliability scenarios on it are in test/reliability/cluster.test.ts.

describe('the cluster profile: temporal-server on PostgreSQL with 4 history shards', () => {
  let infra: TestInfra;
  let cluster: TestCluster;
  let h: ServiceHarness;
  let ctx: (log: string[]) => ScenarioContext;
  const startedAt = new Date();

  beforeAll(async () => {
    infra = testInfra();
    cluster = testCluster({ name: 'cluster-suite', ports: await testClusterPorts(0), db: testClusterDatabases(infra.databaseUrl, 'suite') });
    await cluster.start();
    h = await startServiceHarness({ infra: { ...infra, temporalAddress: cluster.address, temporalNamespace: 'default' }, env: { SUPERVISED_PRODUCTS: SIM_SUPERVISED_PRODUCTS } });
    const ops = { baseUrl: `${h.internalOrigin}/ops`, token: h.opsToken };
    ctx = (log) => ({ client: h.market, orderBook: h.marketplace.orderBook, ops, log: (m) => log.push(m) });
  }, 300_000);
  afterAll(async () => {
    if (h) await bounded('harness close', () => h.close());
    if (cluster) await bounded('cluster stop', () => cluster.stop());
  });

  it('keeps its state in its own PostgreSQL databases: 4 history shards, our search attributes in SQL visibility', async () => {
    const { db } = cluster;
    const client = new pg.Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
    await client.connect();
    try {
      expect((await client.query<{ n: string }>('SELECT count(*) AS n FROM shards')).rows[0]!.n).toBe('4');
    } finally {
      await client.end();
    }
    expect(db.database).not.toBe(new URL(infra.databaseUrl).pathname.slice(1));
    const { customAttributes } = await h.client.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(customAttributes ?? {}).sort()).toEqual(ALL_SEARCH_ATTRIBUTE_KEYS.map((k) => k.name).sort());
  });

  it('serves the Web UI (ui-server, the CLI’s version) pointed at it: the UI’s API lists our search attributes', async () => {
    const uiPort = await freePort();
    const ui = startClusterUi({ address: cluster.address, uiPort, logName: 'cluster-suite' });
    try {
      await waitFor('the cluster Web UI', () => portOpen(uiPort), 30_000, 200);
      const page = await fetch(`http://127.0.0.1:${uiPort}/`);
      expect(page.status).toBe(200);
      const attrs = (await (await fetch(`http://127.0.0.1:${uiPort}/api/v1/namespaces/default/search-attributes`)).json()) as { customAttributes: Record<string, string> };
      expect(Object.keys(attrs.customAttributes).sort()).toEqual(ALL_SEARCH_ATTRIBUTE_KEYS.map((k) => k.name).sort());
    } finally {
      await ui.stop();
    }
  });

  for (const name of ['v2-yearly-lifecycle', 'v2-service-supervision']) {
    it(`runs ${name} with every answer as the spec says and within 5 s`, async () => {
      const log: string[] = [];
      const report = await SCENARIOS[name]!(ctx(log));
      expect(report.instanceIds.length).toBeGreaterThan(0);
      for (const step of report.steps) expect(step.latencyMs, step.step).toBeLessThan(5000);
      if (name === 'v2-service-supervision') expect(report.steps.at(-1)).toMatchObject({ status: 200, node: 'COMPLETED' });
      else expect(report.steps.at(-1)).toMatchObject({ status: 200, resultCode: '000003' });
    });
  }

  it('replays every history those orders left on the server against the workflow bundle', async () => {
    const histories = h.client.workflow.list({ query: `StartTime > "${startedAt.toISOString()}"` }).intoHistories();
    const results: Array<{ workflowId: string; error?: unknown }> = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: infra.workflowBundlePath }, replayName: 'cluster' }, histories)) results.push(r);
    // At least the two orders (and the supervision's own workflow, if any), every one replaying cleanly.
    expect(results.length).toBeGreaterThanOrEqual(2);
    expect(results.filter((r) => r.error).map((r) => `${r.workflowId}: ${String(r.error)}`)).toEqual([]);
  });
});
