import pino, { type Logger } from 'pino';

/** Fields that must never reach a log line in plain text, wherever they appear. */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'accessKey',
  '*.accessKey',
  'otherAccessKeys',
  '*.otherAccessKeys',
  'sk',
  '*.sk',
  'secret',
  '*.secret',
  'authToken',
  '*.authToken',
  'signature',
  '*.signature',
  'credentialsSealed',
  '*.credentialsSealed',
  'headers.authorization',
  '*.headers.authorization',
  'apiKey',
  '*.apiKey',
  // Ops API and configuration secrets, should a config object or a request's headers ever be logged whole.
  'authorization',
  '*.authorization',
  'token',
  '*.token',
  'opsApiToken',
  '*.opsApiToken',
  'dataEncryptionKey',
  '*.dataEncryptionKey',
  'dataEncryptionPreviousKeys',
  '*.dataEncryptionPreviousKeys',
  'huaweiSk',
  '*.huaweiSk',
  // The buyer's contacts (personal data), should a command, a tenant spec or a Query Order answer be logged whole.
  'mobilePhone',
  '*.mobilePhone',
  'email',
  '*.email',
  'contacts',
  '*.contacts',
  'adminContacts',
  '*.adminContacts',
  'buyerInfo',
  '*.buyerInfo',
];

/** Creates the process's JSON logger (one per process; children carry order, instance and workflow ids). */
export function createLogger(o: { level: string; name: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      name: o.name,
      level: o.level,
      base: { service: o.name },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '***' },
      formatters: { level: (label) => ({ level: label }) },
    },
    o.destination,
  );
}

export type { Logger } from 'pino';
