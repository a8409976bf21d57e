import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import pg from 'pg';
import pino from 'pino';
import { createActivities } from '../../src/main/worker-activities.js';
import { withFaults } from '../../src/orders/provisioning/fault-injecting-provisioner.js';
import { createProvisioner } from '../../src/orders/provisioning/index.js';
import { composeApi, type ApiSurfaces } from '../../src/main/api-deps.js';
import { SAAS_PATH } from '../../src/production-interface/paths.js';
import { loadConfig, type AppConfig } from '../../src/platform/config.js';
import { sealedBoxOf } from '../../src/platform/sealed-box.js';
import { createOpenApiServer, type OpenApiServer } from '../simulator/open-api-server.js';
import { createProductionClient, type ProductionClient } from '../simulator/production-client.js';
import { createOrderWorker } from '../../src/platform/temporal/worker.js';
import { temporalConnectionOptions } from '../../src/platform/temporal/connection.js';
import { uniqueId } from './ids.js';

// Shared by the tests (test/support/service-harness.ts binds it to the test run's servers), the benchmarks
// (bench/procs/service-process.ts) and the history recorder, none of which may import another's files.

/** The whole service in-process against the real Temporal and PostgreSQL, with the marketplace simulated. */
export interface ServiceHarness {
  readonly config: AppConfig;
  readonly pool: pg.Pool;
  readonly client: Client;
  readonly marketplace: OpenApiServer;
  readonly market: ProductionClient;
  /** The production interface on the public listener (what the marketplace calls). */
  readonly baseUrl: string;
  /** The internal listener: /healthz, /readyz, /metrics, /openapi.json, /ops. */
  readonly internalOrigin: string;
  /** The bearer token of the operator `ops` (OPS_API_TOKEN) the harness configures. */
  readonly opsToken: string;
  readonly api: ApiSurfaces;
  readonly provisionerFaults: ReturnType<typeof withFaults>;
  readonly logLines: string[];
  worker?: Worker;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

/** Test key material: a key like the merchant's, and AK/SK like the merchant's Huawei Cloud credentials. */
export const TEST_ACCESS_KEY = 'TestAccessKey-0123456789';
const TEST_AK = 'HARNESSAKEXAMPLE0001';
const TEST_SK = 'harness-secret-key';
/** The harness's OPS_API_TOKEN (the operator `ops`), unless the test's env sets another. */
export const TEST_OPS_TOKEN = 'test-ops-token';
/** The harness's DATA_ENCRYPTION_KEY, for callers that open the sealed tenant credentials themselves. */
export const HARNESS_DATA_ENCRYPTION_KEY = 'test-data-encryption-key-0123456789';

/** The servers a harness runs against. */
export interface HarnessInfra {
  readonly databaseUrl: string;
  readonly temporalAddress: string;
  readonly temporalNamespace: string;
  /** A prebuilt workflow bundle; without it the worker bundles src/workflows.ts itself. */
  readonly workflowBundlePath?: string;
}

/** How to start a harness. */
export interface ServiceHarnessOptions {
  readonly infra: HarnessInfra;
  /** Environment on top of the harness's own (e.g. SUPERVISED_PRODUCTS). */
  readonly env?: Record<string, string>;
  /** false: no worker until `startWorker()`. */
  readonly worker?: boolean;
  /** Fault injection: the worker's activities, wrapped (e.g. a result lost after the work was done). */
  readonly wrapActivities?: (activities: ReturnType<typeof createActivities>) => ReturnType<typeof createActivities>;
  /** Dependencies of the worker's activities other than the harness's (its provisioner with faults is always used). */
  readonly activityOverrides?: Omit<NonNullable<Parameters<typeof createActivities>[2]>, 'provisioner'>;
}

/** Starts a harness: simulator, worker on its own task queue, API on port 0. */
export async function startServiceHarness(o: ServiceHarnessOptions): Promise<ServiceHarness> {
  const { infra } = o;
  const marketplace = createOpenApiServer({ ak: TEST_AK, sk: TEST_SK, usageKey: o.env?.KOOGALLERY_ACCESS_KEY ?? TEST_ACCESS_KEY });
  const { url: simUrl } = await marketplace.listen(0);
  const config = loadConfig({
    APP_ENV: 'test',
    DATABASE_URL: infra.databaseUrl,
    TEMPORAL_ADDRESS: infra.temporalAddress,
    TEMPORAL_NAMESPACE: infra.temporalNamespace,
    TEMPORAL_TASK_QUEUE: uniqueId('orders'),
    KOOGALLERY_ACCESS_KEY: TEST_ACCESS_KEY,
    KOOGALLERY_API_BASE: simUrl,
    HUAWEI_CLOUD_AK: TEST_AK,
    HUAWEI_CLOUD_SK: TEST_SK,
    DATA_ENCRYPTION_KEY: HARNESS_DATA_ENCRYPTION_KEY,
    OPS_API_TOKEN: TEST_OPS_TOKEN,
    TENANT_URL_TEMPLATE: 'https://{tenant}.tenants.test',
    ...o.env,
  });
  const pool = new pg.Pool({ connectionString: config.database.url, max: 10 });
  // The API's own connection settings, its retry interceptor included.
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const logLines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  const provisionerFaults = withFaults(createProvisioner(config.provisioner, { pool, sealedBox: sealedBoxOf(config) }));
  const api = composeApi(config, pool, client, logger);
  const listen = (app: ApiSurfaces['public']): Promise<Server> =>
    new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
  const server = await listen(api.public);
  const internalServer = await listen(api.internal);
  const internalOrigin = `http://127.0.0.1:${(internalServer.address() as AddressInfo).port}`;
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}${SAAS_PATH}`;
  const market = createProductionClient({ baseUrl, accessKey: TEST_ACCESS_KEY });

  let nativeConnection: NativeConnection | undefined;
  let running: Promise<void> | undefined;
  const harness: ServiceHarness = {
    config,
    pool,
    client,
    marketplace,
    market,
    baseUrl,
    internalOrigin,
    opsToken: o.env?.OPS_API_TOKEN ?? TEST_OPS_TOKEN,
    api,
    provisionerFaults,
    logLines,
    async startWorker() {
      nativeConnection ??= await NativeConnection.connect({ address: config.temporal.address });
      harness.worker = await createOrderWorker({
        connection: nativeConnection,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        activities: (o.wrapActivities ?? ((a) => a))(createActivities(config, pool, { ...o.activityOverrides, provisioner: provisionerFaults.provisioner })),
        ...(infra.workflowBundlePath ? { workflowBundlePath: infra.workflowBundlePath } : {}),
      });
      running = harness.worker.run();
    },
    async stopWorker() {
      if (harness.worker && harness.worker.getState() === 'RUNNING') harness.worker.shutdown();
      await running;
      running = undefined;
      harness.worker = undefined;
    },
    async close() {
      await harness.stopWorker();
      for (const s of [server, internalServer]) {
        await new Promise<void>((resolve) => s.close(() => resolve()));
        s.closeAllConnections();
      }
      await api.metering.stopRedelivery();
      await marketplace.close();
      await nativeConnection?.close();
      await connection.close();
      await api.inbox.flush();
      await pool.end();
    },
  };
  if (o.worker !== false) await harness.startWorker();
  return harness;
}
