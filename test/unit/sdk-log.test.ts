import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { renderSdkLog, sdkLogTreatment } from '../support/sdk-log.js';

// Which of the Temporal SDK's log lines a test process holds back (printed only for a failing test) and which it
// prints at once (test/setup/quiet-runtime.ts).

describe('SDK log lines in tests', () => {
  it('when an activity fails with a typed ApplicationFailure (deliberate, asserted by type), then the line is held', () => {
    const error = ApplicationFailure.create({ type: 'MARKETPLACE_ORDER_NOT_FOUND', message: 'order not found', nonRetryable: true });
    expect(sdkLogTreatment({ level: 'WARN', message: 'Activity failed', meta: { activityType: 'fetchOrderDetails', error } })).toBe('held');
  });

  it('when an activity fails with anything else (a TypeError, an untyped failure), then it is loud: that is a bug until shown otherwise', () => {
    expect(sdkLogTreatment({ level: 'WARN', message: 'Activity failed', meta: { error: new TypeError("Cannot read properties of undefined (reading 'x')") } })).toBe('loud');
    expect(sdkLogTreatment({ level: 'WARN', message: 'Activity failed', meta: { error: ApplicationFailure.create({ message: 'no type' }) } })).toBe('loud');
  });

  it('when the SDK logs an ERROR, then it is loud whatever it carries', () => {
    expect(sdkLogTreatment({ level: 'ERROR', message: 'Worker failed', meta: {} })).toBe('loud');
    expect(sdkLogTreatment({ level: 'ERROR', message: 'x', meta: { error: ApplicationFailure.create({ type: 'T', message: 'm' }) } })).toBe('loud');
  });

  it('when a warning carries no error (core notices about test servers, tasks a killed worker left), then it is held', () => {
    expect(
      sdkLogTreatment({ level: 'WARN', message: 'Task not found when completing', meta: { sdkComponent: 'core', error: `code: 'Some requested entity was not found', message: "Workflow task not found."` } }),
    ).toBe('held');
    expect(sdkLogTreatment({ level: 'WARN', message: 'Temporal Server 1.16.0 or newer is required', meta: undefined })).toBe('held');
  });

  it('renders an entry as one line of time, level and message, then its details with the stack', () => {
    const text = renderSdkLog({ level: 'WARN', message: 'Activity failed', meta: { error: new TypeError('boom') }, timestampNanos: 1_700_000_000_000_000_000n });
    expect(text.startsWith('2023-11-14T22:13:20.000Z [WARN] Activity failed {')).toBe(true);
    expect(text).toContain('TypeError: boom');
    expect(text).toMatch(/\n\s+at /);
    expect(text.endsWith('\n')).toBe(true);
  });
});
