// Test processes install the SDK runtime with a WARN logger whose expected noise is held back: worker state changes
// at INFO are dropped, deliberate activity failures and core notices are printed only for a test that fails, and
// errors that look like bugs are printed at once (test/support/sdk-log.ts says which is which). The SDK core's own
// log lines are forwarded to the same logger instead of going straight to the console.
// TEST_SDK_LOG=all prints every warning as it happens (the SDK's default behaviour), for debugging.
import { DefaultLogger, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { beforeEach } from 'vitest';
import { renderSdkLog, sdkLogTreatment } from '../support/sdk-log.js';

const printAll = process.env.TEST_SDK_LOG === 'all';
/** Lines held since the last test finished (bounded: a flood keeps its last lines, nearest the failure). */
const held: string[] = [];
const HELD_LIMIT = 300;

Runtime.install({
  logger: new DefaultLogger('WARN', (entry) => {
    const line = renderSdkLog(entry);
    if (printAll || sdkLogTreatment(entry) === 'loud') {
      process.stderr.write(line);
      return;
    }
    held.push(line);
    if (held.length > HELD_LIMIT) held.splice(0, held.length - HELD_LIMIT);
  }),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
});

beforeEach((ctx) => {
  // Lines held since the last test finished (this file's setup hooks included) are shown if this test fails.
  ctx.onTestFinished(({ task }) => {
    // Forwarded core lines pass through a buffer that merges them in time order: empty it first.
    Runtime.instance().flushLogs();
    if (task.result?.state === 'fail' && held.length > 0) {
      process.stderr.write(`--- Temporal SDK warnings held back until "${task.name}" failed (${held.length}) ---\n${held.join('')}--- end ---\n`);
    }
    held.length = 0;
  });
});
