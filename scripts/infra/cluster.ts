import { mkdirSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { ALL_SEARCH_ATTRIBUTE_KEYS } from '../../src/kernel/search-attributes.js';
import { addMissingSearchAttributes } from './dev-server.js';
import { ensureGoTool, TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_UI_SERVER } from './go-tools.js';
import { dataDir, logDir, repoRoot } from './paths.js';
import { asPostgres } from './postgres.js';
import { portOpen, run, say, startBackground, waitFor, type Background } from './proc.js';

// The cluster profile (issue #17): Temporal's own server (go.temporal.io/server, built from its Go module and cached,
// the version docker-compose.yml runs) on PostgreSQL with 4 history shards and SQL visibility, plus Temporal's Web UI
// server, instead of the single-shard SQLite dev server. It runs from the very files compose runs:
//   - deploy/temporal/setup-schema.sh (compose's `temporal-schema` one-shot) makes the persistence and visibility
//     databases and schemas with temporal-sql-tool, as a role of their own that may create databases (the app's role
//     cannot): that role is made through the project's superuser path (scripts/infra/postgres.ts, `runuser postgres`);
//   - deploy/temporal/config/temporal-server.yaml and dynamicconfig.yaml (compose's `temporal` service), whose
//     templated values (host, user, database names, ports) are set here through TEMPORAL_* variables;
//   - the namespace and our search attributes from src/kernel/search-attributes.ts's one list.
// Re-running is idempotent: the role is altered, the schema steps are no-ops, existing attributes are kept.

/** The ports of one single-node server: frontend (gRPC, HTTP), history, matching, worker and their membership ports. */
export interface ClusterPorts {
  readonly frontend: number;
  readonly frontendHttp: number;
  readonly frontendMembership: number;
  readonly history: number;
  readonly historyMembership: number;
  readonly matching: number;
  readonly matchingMembership: number;
  readonly worker: number;
  readonly workerMembership: number;
  readonly metrics: number;
}

/** How many consecutive ports `clusterPorts` takes. */
export const CLUSTER_PORT_SPAN = 10;

/**
 * A block of CLUSTER_PORT_SPAN consecutive ports from `base` (the frontend's gRPC port). Temporal stores membership
 * ports in a PostgreSQL smallint, so the block must end below 32768.
 */
export function clusterPorts(base: number): ClusterPorts {
  if (base + CLUSTER_PORT_SPAN > 32_768) throw new Error(`cluster ports ${base}..${base + CLUSTER_PORT_SPAN - 1} do not fit below 32768 (membership ports are a smallint)`);
  return {
    frontend: base,
    history: base + 1,
    matching: base + 2,
    worker: base + 3,
    frontendMembership: base + 4,
    historyMembership: base + 5,
    matchingMembership: base + 6,
    workerMembership: base + 7,
    frontendHttp: base + 8,
    metrics: base + 9,
  };
}

/** Where the server keeps its state and as whom it connects. */
export interface ClusterDatabases {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly visibilityDatabase: string;
}

const sqlName = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid PostgreSQL name '${name}'`);
  return name;
};

/**
 * The databases of `TEMPORAL_PROFILE=cluster npm start`: apart from the application's koogallery_orders. `database`
 * (TEMPORAL_CLUSTER_DATABASE, default koogallery_temporal) names the persistence database and, with `_visibility`,
 * the visibility one: two stacks on one PostgreSQL must not share them (their servers would join one membership ring).
 */
export function defaultClusterDatabases(pgPort: number, database = 'koogallery_temporal'): ClusterDatabases {
  return { host: '127.0.0.1', port: pgPort, user: 'koogallery_temporal', password: 'koogallery_temporal', database: sqlName(database), visibilityDatabase: `${sqlName(database)}_visibility` };
}

const SERVER_CONFIG = join(repoRoot, 'deploy', 'temporal', 'config', 'temporal-server.yaml');
const DYNAMIC_CONFIG = join(repoRoot, 'deploy', 'temporal', 'config', 'dynamicconfig.yaml');
const SETUP_SCHEMA = join(repoRoot, 'deploy', 'temporal', 'setup-schema.sh');


/**
 * The role Temporal connects as, made (or its password reset) as the superuser. CREATEDB lets setup-schema.sh create
 * the two databases, as the compose stack's `temporal` user does. `superuserSql` runs SQL as a superuser of the
 * PostgreSQL at `db.port` (default: the local Debian cluster through runuser).
 */
export function ensureClusterRole(db: ClusterDatabases, superuserSql: (sql: string) => void = (sql) => void asPostgres(sql, db.port)): void {
  const role = sqlName(db.user);
  const password = db.password.replace(/'/g, "''");
  // Two concurrent runs may both see the role missing; the loser's duplicate_object is fine.
  superuserSql(
    `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} LOGIN CREATEDB PASSWORD '${password}'; END IF; ` +
      `EXCEPTION WHEN duplicate_object THEN NULL; END $$; ALTER ROLE ${role} LOGIN CREATEDB PASSWORD '${password}';`,
  );
}

/** deploy/temporal/setup-schema.sh, as compose's temporal-schema service runs it, with our temporal-sql-tool on PATH. */
export function setupClusterSchema(db: ClusterDatabases): void {
  const sqlTool = ensureGoTool(TEMPORAL_SQL_TOOL);
  const bin = join(dataDir, 'cluster', `bin-${process.pid}`);
  mkdirSync(bin, { recursive: true });
  try {
    symlinkSync(sqlTool, join(bin, 'temporal-sql-tool'));
    const r = run('sh', [SETUP_SCHEMA], {
      env: {
        PATH: `${bin}:/usr/bin:/bin`,
        HOME: process.env.HOME ?? '/root',
        SQL_HOST: db.host,
        SQL_PORT: String(db.port),
        SQL_USER: db.user,
        SQL_PASSWORD: db.password,
        TEMPORAL_DB: sqlName(db.database),
        TEMPORAL_VISIBILITY_DB: sqlName(db.visibilityDatabase),
        SETUP_RETRY_DELAY_SECONDS: '1',
      },
    });
    if (r.status !== 0) throw new Error(`setup-schema.sh failed:\n${r.stderr.slice(-3000)}`);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

/** The command that starts the server: compose's `temporal` service command, with the template's values for here. */
export function clusterServerCommand(o: { ports: ClusterPorts; db: ClusterDatabases; logLevel?: string }): { command: string; args: string[]; env: Record<string, string> } {
  const p = o.ports;
  return {
    command: ensureGoTool(TEMPORAL_SERVER),
    args: ['--config-file', SERVER_CONFIG, 'start'],
    // Nothing inherited: the config file reads only these (and a stray TEMPORAL_* of the caller's cannot leak in).
    env: {
      PATH: '/usr/bin:/bin',
      POSTGRES_PWD: o.db.password,
      TEMPORAL_DB_ADDR: `${o.db.host}:${o.db.port}`,
      TEMPORAL_DB_USER: o.db.user,
      TEMPORAL_DB: o.db.database,
      TEMPORAL_VISIBILITY_DB: o.db.visibilityDatabase,
      // Four services each with a pool of each: 4 × (6 + 3) = 36 connections at most, so that the profile (and its
      // tests, beside the application's own pools) fits a stock PostgreSQL's 100 connections. Compose keeps 20/10.
      TEMPORAL_SQL_MAX_CONNS: '6',
      TEMPORAL_VISIBILITY_MAX_CONNS: '3',
      TEMPORAL_FRONTEND_PORT: String(p.frontend),
      TEMPORAL_FRONTEND_HTTP_PORT: String(p.frontendHttp),
      TEMPORAL_FRONTEND_MEMBERSHIP_PORT: String(p.frontendMembership),
      // Loopback only: this profile serves this machine (compose's frontend listens on the container network).
      TEMPORAL_FRONTEND_BIND_IP: '127.0.0.1',
      TEMPORAL_HISTORY_PORT: String(p.history),
      TEMPORAL_HISTORY_MEMBERSHIP_PORT: String(p.historyMembership),
      TEMPORAL_MATCHING_PORT: String(p.matching),
      TEMPORAL_MATCHING_MEMBERSHIP_PORT: String(p.matchingMembership),
      TEMPORAL_WORKER_PORT: String(p.worker),
      TEMPORAL_WORKER_MEMBERSHIP_PORT: String(p.workerMembership),
      TEMPORAL_METRICS_ADDR: `127.0.0.1:${p.metrics}`,
      TEMPORAL_DYNAMIC_CONFIG: DYNAMIC_CONFIG,
      TEMPORAL_LOG_LEVEL: o.logLevel ?? 'warn',
    },
  };
}

/** True once the frontend answers and the namespace is described (the server's namespace cache has it). */
export async function clusterServes(address: string, namespace = 'default'): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/**
 * Creates the namespace when missing and registers our search attributes, then waits until the server lists them
 * all (a new namespace becomes usable after the namespace cache refresh, a few seconds).
 */
export async function setupClusterNamespace(address: string, namespace = 'default', retentionDays = 30): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 5000 });
  try {
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        await connection.workflowService.describeNamespace({ namespace });
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = ALL_SEARCH_ATTRIBUTE_KEYS.filter((k) => !(k.name in (customAttributes ?? {})));
        if (missing.length === 0) return;
        await addMissingSearchAttributes(connection, namespace);
      } catch (err) {
        const code = (err as { code?: number }).code;
        if (code === 5 /* NOT_FOUND */) {
          await connection.workflowService
            .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`) })
            .catch((e: unknown) => {
              if ((e as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw e;
            });
        } else if (Date.now() > deadline) {
          throw err;
        }
      }
      if (Date.now() > deadline) throw new Error(`namespace ${namespace} on ${address} did not get its search attributes within 90 s`);
      await sleep(500);
    }
  } finally {
    await connection.close();
  }
}

/** The Web UI server's config (ui-server reads <root>/config/<env>.yaml): pointed at the cluster's frontend. */
function writeUiConfig(dir: string, o: { address: string; uiPort: number; namespace: string }): void {
  mkdirSync(join(dir, 'config'), { recursive: true });
  writeFileSync(
    join(dir, 'config', 'cluster.yaml'),
    [
      '# Written by scripts/infra/cluster.ts for the cluster profile; rewritten on every start.',
      `temporalGrpcAddress: ${o.address}`,
      'host: 127.0.0.1',
      `port: ${o.uiPort}`,
      'publicPath:',
      'enableUi: true',
      `defaultNamespace: ${o.namespace}`,
      'notifyOnNewVersion: false',
      'refreshInterval: 0s',
      'cors:',
      '  cookieInsecure: true',
      '  allowOrigins:',
      `    - "http://127.0.0.1:${o.uiPort}"`,
      `    - "http://localhost:${o.uiPort}"`,
      'auth:',
      '  enabled: false',
      '',
    ].join('\n'),
  );
}

/** The Web UI server (temporalio/ui-server, the CLI's version) for the cluster at `address`, as a background process. */
export function startClusterUi(o: { address: string; uiPort: number; namespace?: string; logName?: string }): Background {
  const bin = ensureGoTool(TEMPORAL_UI_SERVER);
  const dir = join(dataDir, 'cluster', `ui-${o.uiPort}`);
  writeUiConfig(dir, { address: o.address, uiPort: o.uiPort, namespace: o.namespace ?? 'default' });
  return startBackground('temporal-ui', bin, ['--root', dir, '--config', 'config', '--env', 'cluster', 'start'], {
    logFile: join(logDir, `${o.logName ?? 'temporal-cluster'}-ui.log`),
    env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
  });
}

/** A running cluster profile (ours or one found on the port) and how to stop what was started here. */
export interface ClusterHandle {
  readonly address: string;
  readonly uiUrl: string | undefined;
  readonly namespace: string;
  readonly ports: ClusterPorts;
  readonly db: ClusterDatabases;
  readonly startedHere: boolean;
  stop(): Promise<void>;
}

/**
 * Makes the cluster profile available: with `reuse` (default) a server already serving on the frontend port is
 * used (its namespace and attributes completed); otherwise the role, the schemas, the server and (with `uiPort`) the
 * Web UI are set up and started. Builds the three Go binaries on first use (minutes), cached afterwards.
 */
export async function ensureCluster(o: { ports: ClusterPorts; db: ClusterDatabases; uiPort?: number; namespace?: string; logName?: string; reuse?: boolean; whenTaken?: string }): Promise<ClusterHandle> {
  const namespace = o.namespace ?? 'default';
  const address = `127.0.0.1:${o.ports.frontend}`;
  const uiUrl = o.uiPort ? `http://127.0.0.1:${o.uiPort}` : undefined;
  const logName = o.logName ?? 'temporal-cluster';
  // Built before anything starts, so a first run's minutes of building are not counted against a start timeout.
  const command = clusterServerCommand({ ports: o.ports, db: o.db });
  if (o.uiPort) ensureGoTool(TEMPORAL_UI_SERVER);

  if (await portOpen(o.ports.frontend)) {
    if (o.reuse === false) throw new Error(`port ${o.ports.frontend} is taken${o.whenTaken ? `: ${o.whenTaken}` : ''}`);
    await setupClusterNamespace(address, namespace);
    say('temporal', `reusing the Temporal server on ${address}`);
    return { address, uiUrl, namespace, ports: o.ports, db: o.db, startedHere: false, stop: async () => undefined };
  }
  for (const port of Object.values(o.ports) as number[]) {
    if (await portOpen(port)) throw new Error(`port ${port} (one of the cluster's ${o.ports.frontend}..) is taken${o.whenTaken ? `: ${o.whenTaken}` : ''}`);
  }
  if (o.uiPort && (await portOpen(o.uiPort))) throw new Error(`port ${o.uiPort} (Web UI) is taken${o.whenTaken ? `: ${o.whenTaken}` : ''}`);

  const started = Date.now();
  ensureClusterRole(o.db);
  setupClusterSchema(o.db);
  const server = startBackground('temporal', command.command, command.args, { logFile: join(logDir, `${logName}.log`), env: command.env });
  let exitCode: number | null = null;
  server.child.once('exit', (code) => (exitCode = code ?? -1));
  const stops: Background[] = [server];
  const stop = async () => {
    for (const b of [...stops].reverse()) await b.stop();
  };
  try {
    await waitFor(`temporal-server on ${address}`, async () => {
      if (exitCode !== null) throw new Error(`temporal-server exited with ${exitCode}; see ${server.logFile}`);
      return fetch(`http://127.0.0.1:${o.ports.frontendHttp}/api/v1/system-info`).then((r) => r.ok, () => false);
    }, 120_000, 300);
    await setupClusterNamespace(address, namespace);
    if (o.uiPort) {
      const ui = startClusterUi({ address, uiPort: o.uiPort, namespace, logName });
      stops.push(ui);
      await waitFor(`the Web UI on ${uiUrl}`, () => portOpen(o.uiPort!), 30_000, 200);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  say('temporal', `temporal-server ${TEMPORAL_SERVER.version} on ${address} (PostgreSQL ${o.db.host}:${o.db.port}/${o.db.database}, 4 shards)${uiUrl ? `, Web UI ${uiUrl}` : ''}, up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { address, uiUrl, namespace, ports: o.ports, db: o.db, startedHere: true, stop };
}
