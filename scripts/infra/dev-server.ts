import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { ALL_SEARCH_ATTRIBUTE_KEYS, searchAttributeCliSpecs } from '../../src/kernel/search-attributes.js';
import { logDir } from './paths.js';

// @temporalio/proto is CommonJS; Node's ESM loader cannot see its named exports, so take them from the default.
const { temporal } = proto;
import { portOpen, say, startBackground, waitFor, type Background } from './proc.js';
import { ensureTemporalCli } from './temporal-cli.js';

/** A running Temporal dev server (ours or one we found) and how to stop it. */
export interface DevServerHandle {
  readonly address: string;
  readonly uiUrl: string;
  readonly namespace: string;
  readonly startedHere: boolean;
  readonly cliPath: string;
  stop(): Promise<void>;
}

/** SQLite settings for the dev server's file persistence: WAL so readers never block the writer. */
export const DEV_SERVER_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal', 'busy_timeout=5000'];

/** The `temporal server start-dev` arguments for our project (search attributes, persistence, ports). */
export function devServerArgs(o: { port: number; uiPort: number; dbFile: string; namespace: string; metricsPort?: number }): string[] {
  return [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(o.port),
    '--ui-port', String(o.uiPort),
    '--db-filename', o.dbFile,
    '--namespace', o.namespace,
    '--log-level', 'warn',
    ...(o.metricsPort ? ['--metrics-port', String(o.metricsPort)] : []),
    ...DEV_SERVER_SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]),
    ...searchAttributeCliSpecs().flatMap((s) => ['--search-attribute', s]),
    // Update-with-start is a multi-operation; make sure it is on whatever the server's default.
    '--dynamic-config-value', 'frontend.enableExecuteMultiOperation=true',
    '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
    // Tests list workflows right after upserting attributes; don't serve them from a stale cache.
    '--dynamic-config-value', 'system.forceSearchAttributesCacheRefreshOnRead=true',
    // The dev server's transfer-queue poller defaults to a few polls per second, which adds ~200 ms to every
    // workflow start and activity dispatch on an idle server (bench X1: one purchase 250 → 62 ms).
    '--dynamic-config-value', 'history.transferProcessorMaxPollRPS=1000',
  ];
}

async function temporalAnswers(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 2000 });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

const INDEXED_TYPE: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  BOOL: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  TEXT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  DATETIME: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  DOUBLE: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  KEYWORD_LIST: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** Registers any of our search attributes the server lacks (a server we did not start may predate some). */
export async function registerSearchAttributes(address: string, namespace: string): Promise<string[]> {
  const connection = await Connection.connect({ address });
  try {
    return await addMissingSearchAttributes(connection, namespace);
  } finally {
    await connection.close();
  }
}

/** Adds our search attributes a server lacks, over an open connection (the time-skipping test server has none). */
export async function addMissingSearchAttributes(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace }).catch((err: unknown) => {
    // The Java time-skipping server implements only AddSearchAttributes: add them all there.
    if ((err as { code?: number }).code === 12) return { customAttributes: {} };
    throw err;
  });
  const missing = ALL_SEARCH_ATTRIBUTE_KEYS.filter((k) => !(k.name in (existing.customAttributes ?? {})));
  if (missing.length > 0) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED_TYPE[k.type]!])),
    });
  }
  return missing.map((k) => k.name);
}

/**
 * Reuses a Temporal server already answering on `port` (with `reuse`, the default: `npm start` next to a server the
 * user runs), or starts `temporal server start-dev` with file persistence, the Web UI and our search attributes.
 * With `reuse: false` a taken port is an error, whatever answers there (a test run must not share a server that
 * another run may stop, nor one left by a run that died). `stop()` stops only a server started here.
 */
export async function ensureDevServer(o: { port: number; uiPort: number; dbFile: string; namespace?: string; logName?: string; reuse?: boolean; whenTaken?: string }): Promise<DevServerHandle> {
  const namespace = o.namespace ?? 'default';
  const address = `127.0.0.1:${o.port}`;
  const uiUrl = `http://127.0.0.1:${o.uiPort}`;
  const cliPath = ensureTemporalCli();
  if (await portOpen(o.port)) {
    if (o.reuse === false) throw new Error(`port ${o.port} is taken${o.whenTaken ? `: ${o.whenTaken}` : ''}`);
    if (!(await temporalAnswers(address))) throw new Error(`port ${o.port} is taken by something that is not a Temporal server`);
    const added = await registerSearchAttributes(address, namespace);
    say('temporal', `reusing the Temporal server on ${address}${added.length ? ` (registered ${added.join(', ')})` : ''}`);
    return { address, uiUrl, namespace, startedHere: false, cliPath, stop: async () => undefined };
  }
  if (o.reuse === false && (await portOpen(o.uiPort))) throw new Error(`port ${o.uiPort} (Web UI) is taken${o.whenTaken ? `: ${o.whenTaken}` : ''}`);
  mkdirSync(dirname(o.dbFile), { recursive: true });
  const server: Background = startBackground('temporal', cliPath, devServerArgs({ ...o, namespace }), {
    logFile: join(logDir, `${o.logName ?? 'temporal-dev-server'}.log`),
  });
  let exitCode: number | null = null;
  server.child.once('exit', (code) => (exitCode = code ?? -1));
  await waitFor(`the Temporal dev server on ${address}`, async () => {
    if (exitCode !== null) throw new Error(`temporal server start-dev exited with ${exitCode}; see ${server.logFile}`);
    return temporalAnswers(address);
  }, 60_000, 300);
  say('temporal', `dev server on ${address}, Web UI ${uiUrl}, state in ${o.dbFile}`);
  return { address, uiUrl, namespace, startedHere: true, cliPath, stop: () => server.stop() };
}
