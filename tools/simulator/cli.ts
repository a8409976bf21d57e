import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { DEV_DEFAULTS } from '../../src/platform/config.js';
import { createOpenApiServer } from './open-api-server.js';
import { OrderBook } from './order-book.js';
import { createProductionClient } from './production-client.js';
import { SCENARIOS, SCENARIO_DESCRIPTIONS, type ScenarioOpsApi } from './scenarios.js';
import { createSimAdminClient } from './sim-admin-client.js';

// `npm run sim -- <scenario|all> [--url U] [--sim S] [--ops-url O] [--ops-token T]` runs scenarios against a running
// stack (the supervision scenarios also act as the merchant through the ops API, on the service's internal port);
// `npm run sim -- serve [--port 7090] [--host 127.0.0.1]` starts the simulated open API; `npm run sim -- list`.
// Reads its own environment (dev defaults match src/config.ts DEV_DEFAULTS) so it can run without the service config.

const USAGE = `usage:
  npm run sim -- list
  npm run sim -- <scenario>|all [--url ${'$'}PRODUCTION_URL] [--sim ${'$'}SIM_URL] [--ops-url ${'$'}OPS_URL] [--ops-token ${'$'}OPS_API_TOKEN]
  npm run sim -- serve [--port 7090] [--host 127.0.0.1]

  --url        the production interface (default http://127.0.0.1:8080/koogallery/saas)
  --sim        the simulator's admin API (default http://127.0.0.1:7090)
  --ops-url    the service's ops API, on its internal port (default http://127.0.0.1:8081/ops)
  --ops-token  an operator's ops API token, for the supervision scenarios (default ${'$'}OPS_API_TOKEN, else the
               development default)`;

const env = (name: string, fallback: string): string => {
  const v = process.env[name]?.trim();
  return v ? v : fallback;
};

async function serve(portText: string | undefined, host: string): Promise<void> {
  const logger = pino({ level: env('LOG_LEVEL', 'info') });
  const port = Number(portText ?? env('SIM_PORT', '7090'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${String(portText)}`);
  const server = createOpenApiServer({
    ak: env('HUAWEI_CLOUD_AK', 'DEVAKEXAMPLE0000000'),
    sk: env('HUAWEI_CLOUD_SK', 'dev-secret-key-change-me'),
    // The usage-data API checks the push signature with the merchant's docking key (spec §2.5).
    usageKey: env('KOOGALLERY_ACCESS_KEY', 'dev-access-key-change-me'),
    orderBook: new OrderBook(),
    logger,
  });
  const { url } = await server.listen(port, host);
  logger.info({ url, orders: server.orderBook.size }, 'KooGallery open-API simulator listening (admin API on loopback only)');
  const stop = (signal: string): void => {
    logger.info({ signal }, 'simulator stopping');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

async function runScenarios(names: string[], productionUrl: string, simUrl: string, ops: ScenarioOpsApi): Promise<boolean> {
  const client = createProductionClient({
    baseUrl: productionUrl,
    accessKey: env('KOOGALLERY_ACCESS_KEY', 'dev-access-key-change-me'),
  });
  const orderBook = createSimAdminClient(simUrl);
  let allPassed = true;
  for (const name of names) {
    const run = SCENARIOS[name];
    if (!run) throw new Error(`unknown scenario ${name}`);
    const log = (msg: string): void => console.log(`  [${name}] ${msg}`);
    try {
      const report = await run({ client, orderBook, ops, log });
      console.log(`PASS ${name}: ${report.steps.length} calls in ${report.durationMs} ms`);
    } catch (err) {
      allPassed = false;
      console.error(`FAIL ${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return allPassed;
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      sim: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'ops-url': { type: 'string' },
      'ops-token': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    console.log(USAGE);
    return command === undefined && !values.help ? 1 : 0;
  }
  if (command === 'list') {
    const width = Math.max(...Object.keys(SCENARIOS).map((n) => n.length));
    for (const name of Object.keys(SCENARIOS)) console.log(`${name.padEnd(width)} ${SCENARIO_DESCRIPTIONS[name] ?? ''}`);
    return 0;
  }
  if (command === 'serve') {
    await serve(values.port, values.host ?? '127.0.0.1');
    return -1; // keep running until a signal arrives
  }
  const names = command === 'all' ? Object.keys(SCENARIOS) : [command];
  if (!names.every((n) => n in SCENARIOS)) {
    console.error(`unknown scenario ${command}; try \`npm run sim -- list\``);
    return 1;
  }
  const productionUrl = values.url ?? env('PRODUCTION_URL', 'http://127.0.0.1:8080/koogallery/saas');
  const simUrl = values.sim ?? env('SIM_URL', 'http://127.0.0.1:7090');
  const opsUrl = values['ops-url'] ?? env('OPS_URL', 'http://127.0.0.1:8081/ops');
  for (const [flag, url] of [
    ['--url', productionUrl],
    ['--ops-url', opsUrl],
  ] as const) {
    if (!URL.canParse(url)) {
      console.error(`invalid ${flag} ${url}`);
      return 1;
    }
  }
  const ops: ScenarioOpsApi = { baseUrl: opsUrl.replace(/\/+$/, ''), token: values['ops-token'] ?? env('OPS_API_TOKEN', DEV_DEFAULTS.opsApiToken) };
  return (await runScenarios(names, productionUrl, simUrl, ops)) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  },
);
