// What a recorder catalogue is made of, and the small helpers every recorder and kit shares. A catalogue holds
// the recorders of one workflow type; the driver (record-histories.ts) finds every catalogue in catalogues.ts.
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowExecutionStatusName } from '@temporalio/client';
import { formatCompactUtc } from '../../src/koogallery/index.js';

/** One run to export, and the state it must be in when exported. */
export interface RunToExport {
  readonly workflowId: string;
  /** Without it, the latest run (once no continue-as-new is under way). */
  readonly runId?: string;
  /** Appended to the scenario name when a scenario exports several runs of one workflow type. */
  readonly part?: string;
  /** A run of another type than the catalogue's (e.g. the supervision child of an order): filed under that type. */
  readonly workflowType?: string;
  /** COMPLETED / CONTINUED_AS_NEW: wait until closed so; RUNNING: wait until idle (no task, no activity pending). */
  readonly status: Extract<WorkflowExecutionStatusName, 'COMPLETED' | 'CONTINUED_AS_NEW' | 'RUNNING'>;
}

/** How a run was found once it had settled. */
export interface Settled {
  readonly status: WorkflowExecutionStatusName;
  readonly runId: string;
  readonly events: number;
}

/** What the driver needs from either kind of kit: a client on the kit's server and a way to wait for a run. */
export interface RecordingKit {
  readonly client: Client;
  settle(workflowId: string, runId?: string, timeoutMs?: number): Promise<Settled>;
}

export const DAY_MS = 86_400_000;

/** A marketplace timestamp `days` from now. */
export const inDays = (days: number): string => formatCompactUtc(new Date(Date.now() + days * DAY_MS));

export const sleep = (ms: number): Promise<void> => new Promise<void>((r) => setTimeout(r, ms));

/** An id no earlier recording used: the prefix, the time, and some randomness. */
export const freshId = (prefix: string): string => `${prefix}${Date.now().toString(36).toUpperCase()}${randomUUID().slice(0, 6).toUpperCase()}`;

/** The recorders' polling (shared with the tests). */
export { until } from '../testing/until.js';
