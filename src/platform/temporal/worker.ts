import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Where the workflow code comes from: a prebuilt bundle in production (`npm run build` writes
 * dist/workflow-bundle.js; TEMPORAL_WORKFLOW_BUNDLE overrides), else the sources, bundled at start (development).
 */
export function workflowSource(bundlePath?: string): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const candidates = [bundlePath, join(here, '..', '..', '..', 'workflow-bundle.js'), join(here, '..', '..', '..', '..', 'dist', 'workflow-bundle.js')];
  const found = candidates.find((p): p is string => p !== undefined && existsSync(p));
  if (found) return { workflowBundle: { codePath: found } };
  const sources = [join(here, '..', '..', 'workflows.ts'), join(here, '..', '..', 'workflows.js')].find((p) => existsSync(p));
  if (!sources) throw new Error('no workflow bundle and no workflow sources found');
  return { workflowsPath: sources };
}

/** Creates the order worker: the one place its options are decided (tests, worker.ts and benchmarks share it). */
export function createOrderWorker(o: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Every activity the workflows call (src/main/worker-activities.ts builds them; platform does not know them). */
  activities: NonNullable<WorkerOptions['activities']>;
  workflowBundlePath?: string;
  tuning?: Partial<Pick<WorkerOptions, 'maxCachedWorkflows' | 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentLocalActivityExecutions'>>;
}): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    activities: o.activities,
    ...workflowSource(o.workflowBundlePath),
    // Orders wait for months between events: keep many cached, they are small (see bench B5).
    maxCachedWorkflows: 2000,
    maxConcurrentActivityTaskExecutions: 100,
    maxConcurrentLocalActivityExecutions: 100,
    ...o.tuning,
    shutdownGraceTime: '10 s',
  });
}

/**
 * The SDK runtime's Prometheus exporter as every worker process installs it (worker.ts, the benchmarks' worker),
 * named as Prometheus expects: counters end in `_total`, durations are histograms in seconds with `_seconds` in the
 * name (the SDK's defaults are neither: bare counter names and unitless milliseconds). docs/metrics.md lists them.
 */
export function workerPrometheusExporter(bindAddress: string) {
  return { prometheus: { bindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } };
}
