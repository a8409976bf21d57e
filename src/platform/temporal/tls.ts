import { readFileSync } from 'node:fs';
import type { AppConfig } from '../config.js';

/** TLS settings shared by the client and the worker connection: mTLS files, or plain TLS for an API key. */
export function temporalTls(t: AppConfig['temporal']) {
  if (t.tls) {
    return {
      ...(t.tls.serverName ? { serverNameOverride: t.tls.serverName } : {}),
      ...(t.tls.caPath ? { serverRootCACertificate: readFileSync(t.tls.caPath) } : {}),
      ...(t.tls.certPath && t.tls.keyPath ? { clientCertPair: { crt: readFileSync(t.tls.certPath), key: readFileSync(t.tls.keyPath) } } : {}),
    };
  }
  // Temporal Cloud API keys travel over TLS with the system's root certificates.
  return t.apiKey ? true : undefined;
}
