import { Metadata, status as GrpcStatus, type Interceptor, type NextCall } from '@grpc/grpc-js';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ConnectionOptions } from '@temporalio/client';
import type { AppConfig } from '../config.js';
import { temporalTls } from './tls.js';

/** Connection settings for a self-hosted cluster (optionally mTLS) or Temporal Cloud (mTLS or API key). */
export function temporalConnectionOptions(t: AppConfig['temporal']): ConnectionOptions {
  const tls = temporalTls(t);
  return {
    address: t.address,
    ...(tls ? { tls } : {}),
    ...(t.apiKey ? { apiKey: t.apiKey } : {}),
    connectTimeout: '5 s',
    interceptors: [closeSafeRetryInterceptor()],
  };
}

/** Opens the process's one Temporal client connection. */
export async function connectTemporalClient(t: AppConfig['temporal']): Promise<Client> {
  const connection = await Connection.connect(temporalConnectionOptions(t));
  return new Client({ connection, namespace: t.namespace });
}

type Call = ReturnType<NextCall>;

/**
 * The SDK's retry interceptor (its default retries and backoff), safe across the connection's close. It waits for
 * the next attempt on a timer, and an attempt begun after the connection closed throws "Channel has been shut down"
 * from that timer: an uncaught exception, which ends the process. Calls do outlive their answers (a budget gives up
 * waiting, the call goes on) and the API closes its connection when it stops; such a later attempt now ends the call
 * with CANCELLED, which is not retried. The first attempt is left as it was: a call on a closed connection still
 * fails where it is made.
 */
export function closeSafeRetryInterceptor(): Interceptor {
  const retrying = makeGrpcRetryInterceptor(defaultGrpcRetryOptions());
  return (options, nextCall) => {
    let attempts = 0;
    return retrying(options, (o) => {
      attempts += 1;
      if (attempts === 1) return nextCall(o);
      try {
        return nextCall(o);
      } catch (err) {
        return endedCall(`attempt ${attempts} not made: ${(err as Error).message}`);
      }
    });
  };
}

/** A call that could not begin: it ends with CANCELLED as soon as it is started. */
function endedCall(details: string): Call {
  return {
    start(_metadata, listener) {
      process.nextTick(() => listener?.onReceiveStatus?.({ code: GrpcStatus.CANCELLED, details, metadata: new Metadata() }));
    },
    cancelWithStatus: () => undefined,
    getPeer: () => '',
    sendMessageWithContext: () => undefined,
    sendMessage: () => undefined,
    startRead: () => undefined,
    halfClose: () => undefined,
    getAuthContext: () => null,
  };
}
