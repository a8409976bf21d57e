import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  CLUSTER_PORT_SPAN,
  clusterPorts,
  clusterServerCommand,
  clusterServes,
  ensureClusterRole,
  setupClusterNamespace,
  setupClusterSchema,
  type ClusterDatabases,
  type ClusterPorts,
} from '../../scripts/infra/cluster.js';
import { dataDir } from '../../scripts/infra/paths.js';
import { managedProcess, type ManagedProcess } from './fault-harness.js';

// The cluster profile (scripts/infra/cluster.ts) for tests and benches: Temporal's own server on PostgreSQL, 4 shards,
// from deploy/temporal/config/temporal-server.yaml, as a managed child process a test can SIGKILL and restart.
//
// Ports: a block of CLUSTER_PORT_SPAN ports below 32768 (membership ports are a smallint). With TEST_CLUSTER_PORT_BASE
// set, slot n takes base + n × span (so the runs of one machine can be given disjoint ranges); otherwise a random
// free block between 20000 and 32000.

const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/** The ports of the cluster in `slot` (each test file that starts a cluster uses its own slot). */
export async function testClusterPorts(slot: number): Promise<ClusterPorts> {
  const base = process.env.TEST_CLUSTER_PORT_BASE;
  if (base) {
    const ports = clusterPorts(Number(base) + slot * CLUSTER_PORT_SPAN);
    for (const p of Object.values(ports) as number[]) if (!(await isFree(p))) throw new Error(`cluster port ${p} (TEST_CLUSTER_PORT_BASE=${base}, slot ${slot}) is taken`);
    return ports;
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    const start = 20_000 + Math.floor(Math.random() * 1_200) * CLUSTER_PORT_SPAN;
    const ports = clusterPorts(start);
    let free = true;
    for (const p of Object.values(ports) as number[]) if (!(free = await isFree(p))) break;
    if (free) return ports;
  }
  throw new Error('no free block of cluster ports below 32768');
}

/**
 * Temporal's two databases for a test: named after the test run's application database (so two runs with their own
 * TEST_DATABASE_URL never share them) and `purpose`, on the same PostgreSQL unless `at` names another.
 */
export function testClusterDatabases(appDatabaseUrl: string, purpose: string, at?: { host: string; port: number }): ClusterDatabases {
  const url = new URL(appDatabaseUrl);
  const app = url.pathname.replace(/^\//, '').toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const base = `${app}_tc_${purpose}`.slice(0, 50);
  return {
    host: at?.host ?? url.hostname,
    port: at?.port ?? Number(url.port || 5432),
    user: 'koogallery_temporal_test',
    password: 'koogallery_temporal_test',
    database: base,
    visibilityDatabase: `${base}_vis`,
  };
}

/** A cluster server the test controls; `address` is its frontend. */
export type TestCluster = ManagedProcess & { readonly address: string; readonly ports: ClusterPorts; readonly db: ClusterDatabases };

/**
 * Prepares the databases (role through the superuser, setup-schema.sh) and returns the server as a managed process,
 * not yet started. Ready means the namespace answers; the first start also registers our search attributes.
 * `superuserSql` reaches a PostgreSQL other than the local Debian cluster (a private one).
 */
export function testCluster(o: { name: string; ports: ClusterPorts; db: ClusterDatabases; superuserSql?: (sql: string) => void }): TestCluster {
  ensureClusterRole(o.db, o.superuserSql);
  setupClusterSchema(o.db);
  const command = clusterServerCommand({ ports: o.ports, db: o.db });
  const address = `127.0.0.1:${o.ports.frontend}`;
  let namespaceReady = false;
  const p = managedProcess({
    name: o.name,
    command: command.command,
    args: command.args,
    env: command.env,
    logFile: join(dataDir, 'logs', `${o.name}.log`),
    ready: async () => {
      if (!namespaceReady) {
        if (!(await fetch(`http://127.0.0.1:${o.ports.frontendHttp}/api/v1/system-info`).then((r) => r.ok, () => false))) return false;
        await setupClusterNamespace(address);
        namespaceReady = true;
      }
      return clusterServes(address);
    },
    readyTimeoutMs: 120_000,
  });
  return Object.assign(p, { address, ports: o.ports, db: o.db });
}
