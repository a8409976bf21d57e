import { readFileSync } from 'node:fs';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { AppConfig } from '../config.js';

/** The worker's connection options: the same cluster settings as the client's, in the native layer's form. */
export function nativeConnectionOptions(t: AppConfig['temporal']): NativeConnectionOptions {
  const tls = t.tls
    ? {
        ...(t.tls.serverName ? { serverNameOverride: t.tls.serverName } : {}),
        ...(t.tls.caPath ? { serverRootCACertificate: readFileSync(t.tls.caPath) } : {}),
        ...(t.tls.certPath && t.tls.keyPath ? { clientCertPair: { crt: readFileSync(t.tls.certPath), key: readFileSync(t.tls.keyPath) } } : {}),
      }
    : undefined;
  return { address: t.address, ...(tls ? { tls } : t.apiKey ? { tls: true } : {}), ...(t.apiKey ? { apiKey: t.apiKey } : {}) };
}

/** Opens the worker's one native connection. */
export function connectWorker(t: AppConfig['temporal']): Promise<NativeConnection> {
  return NativeConnection.connect(nativeConnectionOptions(t));
}
