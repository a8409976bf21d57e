// `node dist/src/platform/temporal/worker-health-cli.js [--max-age-seconds N] [--identity ID] [--tolerate-unreachable]`
//
// The worker's health check (docker-compose healthcheck, Kubernetes exec probes): run inside the worker's container,
// with the worker's environment, it asks Temporal (DescribeTaskQueue) whether a poller of this host polled the
// worker's task queue, for workflow and for activity tasks, within the last N seconds (default 120). Exit 0: healthy;
// 1: not polling, or Temporal could not be asked; 2: bad arguments or configuration. One JSON line on stdout says why.
//
// --tolerate-unreachable: exit 0 when Temporal itself cannot be reached. For a liveness probe: restarting workers
// does not bring a Temporal outage to an end, while a worker that Temporal answers for but that does not poll is
// restarted. --identity: match one exact poller identity instead of "any identity @ this hostname".
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { ConfigError, loadConfig } from '../config.js';
import { temporalConnectionOptions } from './connection.js';
import { checkWorkerPolling, DEFAULT_MAX_POLL_AGE_MS, sameHostIdentity } from './worker-health.js';

interface Outcome {
  readonly code: 0 | 1 | 2;
  readonly body: Record<string, unknown>;
}

async function main(argv: string[]): Promise<Outcome> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        'max-age-seconds': { type: 'string' },
        identity: { type: 'string' },
        'tolerate-unreachable': { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    return { code: 2, body: { healthy: false, problem: (err as Error).message } };
  }
  const maxAgeSeconds = args['max-age-seconds'] === undefined ? DEFAULT_MAX_POLL_AGE_MS / 1000 : Number(args['max-age-seconds']);
  if (!Number.isFinite(maxAgeSeconds) || maxAgeSeconds <= 0) return { code: 2, body: { healthy: false, problem: '--max-age-seconds must be a positive number' } };
  const tolerate = args['tolerate-unreachable'];
  const identity = args.identity;

  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { code: 2, body: { healthy: false, problem: 'invalid configuration', problems: err.problems } };
  }
  const { address, namespace, taskQueue } = config.temporal;

  let connection: Connection;
  try {
    connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  } catch (err) {
    return { code: tolerate ? 0 : 1, body: { healthy: false, temporalReachable: false, address, problem: (err as Error).message } };
  }
  try {
    const health = await checkWorkerPolling(connection, {
      namespace,
      taskQueue,
      isOurs: identity === undefined ? sameHostIdentity() : (id) => id === identity,
      maxAgeMs: maxAgeSeconds * 1000,
    });
    return { code: health.healthy ? 0 : 1, body: { ...health, namespace, taskQueue } };
  } catch (err) {
    // A deadline or an unavailable frontend is "cannot ask"; anything Temporal answered with (e.g. no such
    // namespace) is a real failure of this worker's setup.
    const grpcCode = (err as { code?: unknown }).code;
    const unreachable = grpcCode === GRPC_DEADLINE_EXCEEDED || grpcCode === GRPC_UNAVAILABLE;
    return { code: unreachable && tolerate ? 0 : 1, body: { healthy: false, temporalReachable: !unreachable, namespace, taskQueue, problem: (err as Error).message } };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

const { code, body } = await main(process.argv.slice(2));
console.log(JSON.stringify(body));
process.exit(code);
