import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { AppConfig } from '../config.js';
import { temporalTls } from './tls.js';

/** The worker's connection options: the same cluster settings as the client's, in the native layer's form. */
export function nativeConnectionOptions(t: AppConfig['temporal']): NativeConnectionOptions {
  const tls = temporalTls(t);
  return { address: t.address, ...(tls ? { tls } : {}), ...(t.apiKey ? { apiKey: t.apiKey } : {}) };
}

/** Opens the worker's one native connection. */
export function connectWorker(t: AppConfig['temporal']): Promise<NativeConnection> {
  return NativeConnection.connect(nativeConnectionOptions(t));
}
