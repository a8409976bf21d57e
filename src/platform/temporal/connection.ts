import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { AppConfig } from '../config.js';
import { temporalTls } from './tls.js';

/** Connection settings for a self-hosted cluster (optionally mTLS) or Temporal Cloud (mTLS or API key). */
export function temporalConnectionOptions(t: AppConfig['temporal']): ConnectionOptions {
  const tls = temporalTls(t);
  return { address: t.address, ...(tls ? { tls } : {}), ...(t.apiKey ? { apiKey: t.apiKey } : {}), connectTimeout: '5 s' };
}

/** Opens the process's one Temporal client connection. */
export async function connectTemporalClient(t: AppConfig['temporal']): Promise<Client> {
  const connection = await Connection.connect(temporalConnectionOptions(t));
  return new Client({ connection, namespace: t.namespace });
}
