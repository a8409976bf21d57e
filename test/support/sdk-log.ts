import { formatWithOptions } from 'node:util';
import type { LogEntry } from '@temporalio/worker';

// How a test process treats the Temporal SDK's own log lines (test/setup/quiet-runtime.ts). Tests provoke failures
// on purpose (an order Query Order does not know, a provisioner without capacity, a worker killed mid-task): the SDK
// logs each with its error and a stack trace, which buried real failures under thousands of lines. Such expected
// lines are held and shown only when the test that was running fails; anything that looks like a bug is shown at once.

/** `loud`: print now. `held`: keep, and print only if the current test fails. */
export type SdkLogTreatment = 'loud' | 'held';

/**
 * ERROR entries, and failures that are not typed `ApplicationFailure`s (a TypeError in an activity, a workflow task
 * that throws) are loud. Typed ApplicationFailures (what our activities and test fakes throw deliberately, with a
 * `type` the tests assert on) and every other warning (the SDK core's notices about the test servers, a task a
 * killed worker left behind, whose error is text, not an Error) are held.
 */
export function sdkLogTreatment(entry: Pick<LogEntry, 'level' | 'message' | 'meta'>): SdkLogTreatment {
  if (entry.level === 'ERROR') return 'loud';
  const error = (entry.meta as { error?: unknown } | undefined)?.error;
  // The core's own lines carry their error as text ("Workflow task not found." after a worker was killed): notices.
  if (!(error instanceof Error)) return 'held';
  const typed = error.name === 'ApplicationFailure' && typeof (error as { type?: unknown }).type === 'string';
  return typed ? 'held' : 'loud';
}

const format = formatWithOptions.bind(undefined, { colors: false, depth: 4 });

/** One entry as the SDK's default logger prints it (time, level, message, details with any stack). */
export function renderSdkLog(entry: Pick<LogEntry, 'level' | 'message' | 'meta' | 'timestampNanos'>): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  return `${time} [${entry.level}] ${entry.message}${entry.meta === undefined ? '' : ` ${format(entry.meta)}`}\n`;
}
