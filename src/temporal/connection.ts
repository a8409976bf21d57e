import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { AppConfig } from '../config.js';

/** Connection settings for a self-hosted cluster (optionally mTLS) or Temporal Cloud (mTLS or API key). */
export function temporalConnectionOptions(t: AppConfig['temporal']): ConnectionOptions {
  const tls = t.tls
    ? {
        ...(t.tls.serverName ? { serverNameOverride: t.tls.serverName } : {}),
        ...(t.tls.caPath ? { serverRootCACertificate: readFileSync(t.tls.caPath) } : {}),
        ...(t.tls.certPath && t.tls.keyPath ? { clientCertPair: { crt: readFileSync(t.tls.certPath), key: readFileSync(t.tls.keyPath) } } : {}),
      }
    : undefined;
  return {
    address: t.address,
    ...(tls ? { tls } : t.apiKey ? { tls: true } : {}),
    ...(t.apiKey ? { apiKey: t.apiKey } : {}),
    connectTimeout: '5 s',
  };
}

/** Opens the process's one Temporal client connection. */
export async function connectTemporalClient(t: AppConfig['temporal']): Promise<Client> {
  const connection = await Connection.connect(temporalConnectionOptions(t));
  return new Client({ connection, namespace: t.namespace });
}
