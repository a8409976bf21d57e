import { status, type Interceptor, InterceptingCall } from '@grpc/grpc-js';
import { Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/platform/config.js';
import { temporalConnectionOptions } from '../../../src/platform/temporal/connection.js';
import { freePort } from '../../../scripts/infra/proc.js';

// The connection's retry interceptor waits between attempts on a timer. A call whose answer nobody waits for any more
// (a budget gave up on it) can still be in such a wait when the API closes its connection at shutdown; the next
// attempt must end the call, not throw "Channel has been shut down" from the timer (an uncaught exception: the
// process dies, and in CI the test file that closed its connection is reported as failed).

/** Watches each attempt below the retry interceptor: calls `onStatus` with every attempt's status code. */
function attemptWatcher(onStatus: (code: status) => void): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        next(metadata, {
          onReceiveStatus(s, nextStatus) {
            onStatus(s.code);
            nextStatus(s);
          },
        });
      },
    });
}

describe('Temporal client connection', () => {
  it('when the connection closes while a failed call waits to retry, then the call ends with CANCELLED and nothing is thrown from the retry timer', async () => {
    // Nothing listens there: every attempt fails at once with UNAVAILABLE, which the SDK retries after 136–204 ms.
    const config = loadConfig({ APP_ENV: 'test', TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
    const options = temporalConnectionOptions(config.temporal);
    const attempts: status[] = [];
    let firstFailed!: () => void;
    const failedOnce = new Promise<void>((resolve) => (firstFailed = resolve));
    const connection = Connection.lazy({
      ...options,
      interceptors: [
        ...(options.interceptors ?? []),
        attemptWatcher((code) => {
          attempts.push(code);
          firstFailed();
        }),
      ],
    });
    const call = connection.workflowService.getSystemInfo({}).then(
      () => 'answered',
      (err: { code?: number }) => err.code,
    );
    await failedOnce;
    await connection.close();
    const outcome = await Promise.race([call, new Promise((resolve) => setTimeout(() => resolve('still waiting after 3 s'), 3000))]);
    expect(attempts[0]).toBe(status.UNAVAILABLE);
    expect(outcome).toBe(status.CANCELLED);
  });

  it('when a call is made on a closed connection, then it fails where it is made, as without the interceptor', async () => {
    const config = loadConfig({ APP_ENV: 'test', TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
    const connection = Connection.lazy(temporalConnectionOptions(config.temporal));
    await connection.close();
    await expect(connection.workflowService.getSystemInfo({})).rejects.toThrow(/shut down|closed/i);
  });
});
