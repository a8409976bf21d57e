import pg from 'pg';
import { onPath, run, say } from './proc.js';

/** A reachable PostgreSQL database and how to put things back as they were. */
export interface PostgresHandle {
  readonly url: string;
  /** True when this call started the server (and `stop()` will stop it). */
  readonly startedHere: boolean;
  stop(): Promise<void>;
}

const APP_ROLE = 'koogallery';
const APP_PASSWORD = 'koogallery';

/** True when a connection to `url` succeeds within the timeout. */
export async function canConnect(url: string, timeoutMs = 3000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface Cluster {
  version: string;
  name: string;
  port: number;
  online: boolean;
}

function listClusters(): Cluster[] {
  const r = run('pg_lsclusters', ['--no-header']);
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[0] ?? ''))
    .map((f) => ({ version: f[0]!, name: f[1]!, port: Number(f[2]), online: f[3] === 'online' }));
}

/**
 * Runs SQL as the `postgres` superuser over the local socket (root only: `runuser`). The project's superuser path:
 * the app's role cannot create roles or databases, so everything that needs them comes through here.
 */
export function asPostgres(sql: string, port: number): string {
  const r = run('runuser', ['-u', 'postgres', '--', 'psql', '-p', String(port), '-v', 'ON_ERROR_STOP=1', '-Atqc', sql]);
  if (r.status !== 0) throw new Error(`psql failed (${sql.slice(0, 60)}…): ${r.stderr}`);
  return r.stdout;
}

/**
 * Makes a PostgreSQL database available: `preferredUrl` when it is set and reachable; otherwise Debian's
 * `postgresql` package (installed when missing, as root), its cluster started, and the role and database created.
 */
export async function ensurePostgres(opts: { preferredUrl?: string; database: string }): Promise<PostgresHandle> {
  const noop = async () => undefined;
  if (opts.preferredUrl && (await canConnect(opts.preferredUrl))) {
    return { url: opts.preferredUrl, startedHere: false, stop: noop };
  }
  if (opts.preferredUrl) say('postgres', `DATABASE_URL is set but not reachable; falling back to a local cluster`);

  const isRoot = process.getuid?.() === 0;
  if (!onPath('pg_lsclusters')) {
    if (!isRoot) throw new Error('PostgreSQL is not installed: install it (`apt-get install postgresql`) or set DATABASE_URL');
    say('postgres', 'installing Debian package postgresql…');
    run('apt-get', ['update', '-qq']);
    const r = run('apt-get', ['install', '-y', '-qq', 'postgresql'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new Error(`apt-get install postgresql failed: ${r.stderr.slice(-2000)}`);
  }
  let clusters = listClusters();
  if (clusters.length === 0) {
    const versions = run('ls', ['/usr/lib/postgresql']).stdout.split('\n').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    if (!versions[0]) throw new Error('no PostgreSQL server version found under /usr/lib/postgresql');
    const r = run('pg_createcluster', [versions[0], 'main']);
    if (r.status !== 0) throw new Error(`pg_createcluster failed: ${r.stderr}`);
    clusters = listClusters();
  }
  const cluster = clusters.find((c) => c.online) ?? clusters[0]!;
  let startedHere = false;
  if (!cluster.online) {
    if (!isRoot) throw new Error(`PostgreSQL cluster ${cluster.version}/${cluster.name} is down; start it or set DATABASE_URL`);
    say('postgres', `starting cluster ${cluster.version}/${cluster.name} on port ${cluster.port}`);
    const r = run('pg_ctlcluster', [cluster.version, cluster.name, 'start']);
    if (r.status !== 0) throw new Error(`pg_ctlcluster start failed: ${r.stderr}`);
    startedHere = true;
  }
  const url = `postgres://${APP_ROLE}:${APP_PASSWORD}@127.0.0.1:${cluster.port}/${opts.database}`;
  if (!(await canConnect(url))) {
    if (!isRoot) throw new Error(`cannot connect to ${url.replace(APP_PASSWORD, '***')}; create the role and database or set DATABASE_URL`);
    asPostgres(
      `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN CREATE ROLE ${APP_ROLE} LOGIN PASSWORD '${APP_PASSWORD}'; END IF; END $$;`,
      cluster.port,
    );
    const exists = run('runuser', ['-u', 'postgres', '--', 'psql', '-p', String(cluster.port), '-Atqc', `SELECT 1 FROM pg_database WHERE datname = '${opts.database}'`]);
    if (exists.stdout.trim() !== '1') asPostgres(`CREATE DATABASE ${opts.database} OWNER ${APP_ROLE}`, cluster.port);
    if (!(await canConnect(url))) throw new Error(`created role and database but still cannot connect to ${opts.database}`);
  }
  return {
    url,
    startedHere,
    async stop() {
      if (startedHere) run('pg_ctlcluster', [cluster.version, cluster.name, 'stop', '-m', 'fast']);
    },
  };
}
