import { hostname } from 'node:os';
import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';

// Whether a worker really polls its task queue, as Temporal sees it: DescribeTaskQueue lists the pollers the
// server saw recently (identity and last access time, for each task-queue type). A worker whose process is up
// and whose metrics port answers can still poll nothing (lost connection, wedged core, wrong namespace or task
// queue); this check fails for all of those. Used by worker-health-cli.ts, the worker's container health check.

// @temporalio/proto is CommonJS: Node's ESM loader sees only its default export.
const { TaskQueueType, TaskQueueKind } = proto.temporal.api.enums.v1;

/** The task-queue types the order worker polls: it runs workflows and activities. */
export const POLLED_TYPES = ['workflow', 'activity'] as const;
export type PolledType = (typeof POLLED_TYPES)[number];

/**
 * An idle worker's poll is a long poll that the server answers empty after about a minute, and the poller's
 * last access time is the start of its latest poll: so a healthy idle worker is at most ~60-70 s old.
 */
export const DEFAULT_MAX_POLL_AGE_MS = 120_000;

export interface PollerSighting {
  readonly identity: string;
  /** When the server last saw a poll from it (undefined when the server did not say). */
  readonly lastAccessTime: Date | undefined;
}

export interface PollHealth {
  readonly healthy: boolean;
  /** Per task-queue type: the freshest poll of ours, or why there is none. */
  readonly types: Record<PolledType, { ok: boolean; identity?: string; ageMs?: number; problem?: string }>;
}

/**
 * The SDK's default worker identity is `${pid}@${hostname}`. In a container (or a pod) the health command shares the
 * worker's hostname but not its pid, so "ours" means: the identity's host part is this host.
 */
export function sameHostIdentity(host: string = hostname()): (identity: string) => boolean {
  return (identity) => {
    const at = identity.lastIndexOf('@');
    return at >= 0 && identity.slice(at + 1) === host;
  };
}

/** Decides, from the pollers the server reported, whether our worker polls every type recently enough. */
export function judgePolling(
  pollers: Record<PolledType, readonly PollerSighting[]>,
  o: { isOurs: (identity: string) => boolean; maxAgeMs: number; now: Date },
): PollHealth {
  const types = {} as Record<PolledType, PollHealth['types'][PolledType]>;
  for (const type of POLLED_TYPES) {
    const ours = pollers[type].filter((p) => o.isOurs(p.identity));
    if (ours.length === 0) {
      types[type] = { ok: false, problem: `no ${type} poller of this worker (pollers seen: ${pollers[type].length})` };
      continue;
    }
    const freshest = ours.reduce((a, b) => ((b.lastAccessTime?.getTime() ?? -Infinity) > (a.lastAccessTime?.getTime() ?? -Infinity) ? b : a));
    if (!freshest.lastAccessTime) {
      types[type] = { ok: false, identity: freshest.identity, problem: 'the server reported no last access time' };
      continue;
    }
    const ageMs = o.now.getTime() - freshest.lastAccessTime.getTime();
    types[type] =
      ageMs <= o.maxAgeMs
        ? { ok: true, identity: freshest.identity, ageMs }
        : { ok: false, identity: freshest.identity, ageMs, problem: `last ${type} poll ${Math.round(ageMs / 1000)} s ago (limit ${Math.round(o.maxAgeMs / 1000)} s)` };
  }
  return { healthy: POLLED_TYPES.every((t) => types[t].ok), types };
}

function toDate(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): Date | undefined {
  if (!ts || ts.seconds === undefined || ts.seconds === null) return undefined;
  // Long (protobufjs) or number: Number() covers both for any realistic epoch second.
  return new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

/** Asks Temporal which pollers it saw on the task queue, per type, and judges them. */
export async function checkWorkerPolling(
  connection: Connection,
  o: { namespace: string; taskQueue: string; isOurs: (identity: string) => boolean; maxAgeMs?: number; timeoutMs?: number; now?: () => Date },
): Promise<PollHealth> {
  const describe = async (type: PolledType): Promise<PollerSighting[]> => {
    const res = await connection.withDeadline(Date.now() + (o.timeoutMs ?? 5000), () =>
      connection.workflowService.describeTaskQueue({
        namespace: o.namespace,
        taskQueue: { name: o.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: type === 'workflow' ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      }),
    );
    return (res.pollers ?? []).map((p) => ({ identity: p.identity ?? '', lastAccessTime: toDate(p.lastAccessTime) }));
  };
  const [workflow, activity] = await Promise.all([describe('workflow'), describe('activity')]);
  return judgePolling({ workflow, activity }, { isOurs: o.isOurs, maxAgeMs: o.maxAgeMs ?? DEFAULT_MAX_POLL_AGE_MS, now: (o.now ?? (() => new Date()))() });
}
