import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
// The routing parser is a pure leaf of the notification context (it imports only that context's contract types),
// and nothing in notifications imports configuration: the dependency runs one way.
import { CHANNEL_NAME_PATTERN, DEFAULT_NOTIFICATION_ROUTING, LOG_CHANNEL_NAME, NotificationRoutingError, parseNotificationRouting, type NotificationRouting } from '../notifications/routing.js';
import type { SupervisionKind } from '../supervision/contract.js';
import { parseLicenseKeySet, pickActiveKid, type LicenseJwk } from '../licenses/key-settings.js';
import { parseSettlementCatalogue } from '../settlement/catalogue-settings.js';
import type { SettlementSettings } from '../settlement/contract.js';
import { parsePackageTerms, type PackageTerms } from '../metering/settings.js';

// The only reader of process.env. Parsed once, validated, frozen; fails fast with every problem listed.
// Secrets are kept out of `describeConfig()` so the startup log can show the effective configuration. Each secret
// may come from a file instead (`<NAME>_FILE`, as Docker and Kubernetes mount secrets).

/** Development defaults: usable only when APP_ENV is not `production`, and announced with a warning. */
export const DEV_DEFAULTS = Object.freeze({
  accessKey: 'dev-access-key-change-me',
  huaweiAk: 'DEVAKEXAMPLE0000000',
  huaweiSk: 'dev-secret-key-change-me',
  dataEncryptionKey: 'dev-data-encryption-key-change-me-32b',
  opsApiToken: 'dev-ops-token',
  meteringApiToken: 'dev-metering-token',
  apiBase: 'http://127.0.0.1:7090',
  // A published development key (kid `dev-1`): licenses signed with it prove nothing. Never configured in production.
  licenseSigningKeys:
    '{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"dev-1","x":"v2KFdnJWdEOjQj2hSGK9RHneHAfLBzVmxusx10yqMgg","d":"tL1WJYbwLSsGBtSO4fkEiYa5KOH-ixndEAl3qznrBLY"}]}',
});

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const intFrom = (def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer in [${min}, ${max}]` });
        return z.NEVER;
      }
      return n;
    });

const EnvSchema = z.object({
  APP_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('0.0.0.0'),
  PORT: intFrom(8080, 0, 65535),
  // Health, readiness, metrics, the OpenAPI document and the ops API: never exposed to the marketplace.
  INTERNAL_PORT: intFrom(8081, 0, 65535),
  INTERNAL_HOST: optionalString,
  // After SIGTERM: how long /readyz says "draining" while calls are still answered, before the listeners close.
  DRAIN_DELAY_MS: intFrom(5000, 0, 60_000),
  WORKER_METRICS_PORT: intFrom(9464, 0, 65535),
  MAX_BODY_BYTES: intFrom(64 * 1024, 1024, 10 * 1024 * 1024),
  // Answered calls whose inbox (audit) row may wait in memory for PostgreSQL (≈ 2.2 KB each) before rows are dropped.
  INBOX_BACKLOG_MAX: intFrom(10_000, 100, 1_000_000),

  DATABASE_URL: z.string().default('postgres://koogallery:koogallery@127.0.0.1:5432/koogallery_orders'),
  PG_POOL_MAX: intFrom(10, 1, 200),

  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('koogallery-orders'),
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  TEMPORAL_TLS_CA_PATH: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_WORKFLOW_BUNDLE: optionalString,

  KOOGALLERY_ACCESS_KEY: optionalString,
  // Further keys the marketplace may sign calls with: other products' keys, or a key being rotated in or out.
  KOOGALLERY_OTHER_ACCESS_KEYS: optionalString,
  KOOGALLERY_API_BASE: optionalString,
  KOOGALLERY_API_FALLBACK_BASE: optionalString,
  HUAWEI_CLOUD_AK: optionalString,
  HUAWEI_CLOUD_SK: optionalString,

  // At most 4 s: with the look-ups after it (src/orders/service.ts, LOOKUP_MS) the answer leaves within the marketplace's 5 s.
  PROVISION_BUDGET_MS: intFrom(3500, 100, 4000),
  V1_TIMESTAMP_TOLERANCE_MS: intFrom(5 * 60_000, 1000, 24 * 3600_000),
  V2_TIMESTAMP_TOLERANCE_MS: intFrom(60_000, 1000, 3600_000),

  PROVISIONER: z.enum(['builtin', 'http']).default('builtin'),
  PROVISIONER_HTTP_URL: optionalString,
  PROVISIONER_HTTP_TOKEN: optionalString,
  TENANT_URL_TEMPLATE: z.string().default('https://{tenant}.saas.example.com'),
  TENANT_ADMIN_URL_TEMPLATE: z.string().default('https://{tenant}.saas.example.com/admin'),
  DATA_ENCRYPTION_KEY: optionalString,
  // Keys DATA_ENCRYPTION_KEY had before (a rotation): values sealed under them still open; nothing new is sealed with them.
  DATA_ENCRYPTION_PREVIOUS_KEYS: optionalString,

  // Ops operators: `name:sha256hex` entries (the SHA-256 of each operator's token, never the token), inline and/or
  // in a file; revoked names or hashes; OPS_API_TOKEN is the token of the operator named `ops`.
  OPS_API_TOKEN: optionalString,
  OPS_OPERATORS: optionalString,
  OPS_OPERATORS_FILE: optionalString,
  OPS_OPERATORS_REVOKED: optionalString,

  // Service supervision (§9): which products were listed with 是否涉及服务监管 = 是, and the waiting rules.
  SUPERVISED_PRODUCTS: z.string().default(''),
  SUPERVISION_REMINDER_AFTER_DAYS: intFrom(180, 1, 3650),
  SUPERVISION_REMINDER_INTERVAL_DAYS: intFrom(30, 1, 365),
  HARDWARE_AUTO_ACCEPT_DAYS: intFrom(10, 1, 365),

  // Notifications: which channels each recipient gets (`MERCHANT=log+sms,ACCOUNT_MANAGER=email`), and webhook
  // gateways for channels other than the built-in `log` (`sms=https://gw/sms,email=https://gw/mail`).
  NOTIFICATION_ROUTING: z.string().default(''),
  NOTIFICATION_WEBHOOKS: z.string().default(''),
  NOTIFICATION_WEBHOOK_TOKEN: optionalString,
  // No retention or dispatcher settings: notifications are Temporal workflows (README, "Notifications"), kept for
  // the namespace's retention and delivered by every worker on the task queue.

  // License products (issue #13): the Ed25519 signing keys as a JWK set (every key, retired ones included, is
  // published in the JWKS; only keys with `d` can sign), which of them signs, and the licenses' `iss`.
  LICENSE_SIGNING_KEYS: optionalString,
  LICENSE_ACTIVE_KID: optionalString,
  LICENSE_ISSUER: z.string().default('koogallery-orders'),

  // Settlement (issue #15, spec §10): the product catalogue (goods type, tax rate, share), joint-operation
  // certifications, platform-fee tiers, the invoice template and holidays, as JSON inline or in a file (README,
  // "Settlement"). Absent: every product is general goods at 6 %, with the default tiers.
  SETTLEMENT_CATALOGUE: optionalString,
  SETTLEMENT_CATALOGUE_FILE: optionalString,
  // Create the monthly settlement schedule paused (a second deployment on the same namespace, or tests).
  SETTLEMENT_SCHEDULE_PAUSED: z.enum(['true', 'false']).default('false'),
  // New orders carry settlement lines and stay open after release until every line is paid or written off (#15: the
  // order's workflow covers its settlement). `false` for a deployment whose settlement is kept elsewhere: its orders
  // then close at release, as before the patch.
  SETTLEMENT_ORDER_LINES: z.enum(['true', 'false']).default('true'),
  // Metering (issue #14): the bearer token of the usage intake (POST /metering/usage on the internal listener), its
  // body limit (1,000 records), the hourly push to the usage-data API, and package terms per SKU.
  METERING_API_TOKEN: optionalString,
  METERING_MAX_BODY_BYTES: intFrom(512 * 1024, 1024, 10 * 1024 * 1024),
  METERING_FUTURE_TOLERANCE_MS: intFrom(5 * 60_000, 0, 3600_000),
  METERING_PUSH_INTERVAL_MINUTES: intFrom(60, 1, 1440),
  METERING_PUSH_CLOSE_DELAY_MINUTES: intFrom(5, 0, 50),
  METERING_PUSH_MAX_ATTEMPTS: intFrom(12, 1, 1000),
  // At most 25 s: the push activity's heartbeat timeout is 30 s.
  METERING_PUSH_TIMEOUT_MS: intFrom(10_000, 100, 25_000),
  METERING_USAGE_API_BASE: optionalString,
  METERING_PACKAGES: z.string().default(''),
  METERING_REPURCHASE_WINDOW_MINUTES: intFrom(60, 1, 30 * 24 * 60),
  METERING_REPURCHASE_POLL_MS: intFrom(60_000, 100, 3600_000),
});

/**
 * The settings that hold secrets. Each may be given as `<NAME>_FILE=/path` instead of `<NAME>=value`: the file's
 * content is the value (one trailing newline removed, as `echo` and editors leave one). Setting both is an error,
 * so that nobody wonders which one is in force.
 */
export const SECRET_SETTINGS = [
  'DATABASE_URL',
  'TEMPORAL_API_KEY',
  'KOOGALLERY_ACCESS_KEY',
  'KOOGALLERY_OTHER_ACCESS_KEYS',
  'HUAWEI_CLOUD_AK',
  'HUAWEI_CLOUD_SK',
  'PROVISIONER_HTTP_TOKEN',
  'DATA_ENCRYPTION_KEY',
  'DATA_ENCRYPTION_PREVIOUS_KEYS',
  'OPS_API_TOKEN',
  'NOTIFICATION_WEBHOOK_TOKEN',
  'LICENSE_SIGNING_KEYS',
  'METERING_API_TOKEN',
] as const;

/** Every setting the service reads (the secrets' `_FILE` forms aside). */
export const SETTING_NAMES: readonly string[] = Object.keys(EnvSchema.shape);

/**
 * The environment with every `<SECRET>_FILE` read into `<SECRET>`; problems (both set, unreadable, empty) are
 * listed, never the content. `readFile` is injectable for tests.
 */
export function readSecretFiles(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): { env: Record<string, string | undefined>; problems: string[] } {
  const out: Record<string, string | undefined> = { ...env };
  const problems: string[] = [];
  const isSet = (v: string | undefined) => v !== undefined && v !== '';
  for (const name of SECRET_SETTINGS) {
    const path = env[`${name}_FILE`];
    if (!isSet(path)) continue;
    if (isSet(env[name])) {
      problems.push(`${name} and ${name}_FILE: both are set; set one`);
      continue;
    }
    let content: string;
    try {
      content = readFile(path!);
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      continue;
    }
    const value = content.replace(/\r?\n$/, '');
    if (value.trim() === '') problems.push(`${name}_FILE: ${path} is empty`);
    else out[name] = value;
  }
  return { env: out, problems };
}

/** Parses `NOTIFICATION_WEBHOOKS` (`channel=https://url,...`). */
export function parseNotificationWebhooks(text: string): { webhooks: Record<string, string>; problems: string[] } {
  const webhooks: Record<string, string> = {};
  const problems: string[] = [];
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    const name = eq > 0 ? item.slice(0, eq).trim().toLowerCase() : '';
    const url = eq > 0 ? item.slice(eq + 1).trim() : '';
    let ok = CHANNEL_NAME_PATTERN.test(name) && name !== LOG_CHANNEL_NAME;
    try {
      ok = ok && ['http:', 'https:'].includes(new URL(url).protocol);
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`NOTIFICATION_WEBHOOKS: "${item.slice(0, 80)}" is not channel=http(s)://url (channel "log" is built in)`);
    else webhooks[name] = url;
  }
  return { webhooks, problems };
}

/** Parses `SUPERVISED_PRODUCTS` (`productId=HARDWARE,productId=GENERAL`; a bare productId means GENERAL). */
export function parseSupervisedProducts(text: string): { products: Record<string, SupervisionKind>; problems: string[] } {
  const products: Record<string, SupervisionKind> = {};
  const problems: string[] = [];
  for (const item of text.split(/[,;\s]+/).filter(Boolean)) {
    const [id, kindText, extra] = item.split('=');
    const kind = (kindText ?? 'GENERAL').trim().toUpperCase();
    if (!id || extra !== undefined || (kind !== 'GENERAL' && kind !== 'HARDWARE')) {
      problems.push(`SUPERVISED_PRODUCTS: "${item.slice(0, 80)}" is not productId=GENERAL|HARDWARE`);
      continue;
    }
    products[id.trim()] = kind;
  }
  return { products, problems };
}

/** One ops operator: a name (recorded with each action) and the SHA-256 (lower-case hex) of its bearer token. */
export interface OpsOperator {
  readonly name: string;
  readonly tokenSha256: string;
}

/** Who may call the ops API, and whom it refuses by name or by token hash. */
export interface OpsOperators {
  readonly operators: readonly OpsOperator[];
  readonly revokedNames: readonly string[];
  readonly revokedTokenSha256: readonly string[];
}

/** The operator name OPS_API_TOKEN authenticates as. */
export const OPS_API_TOKEN_OPERATOR = 'ops';

/** Operator names: what an audit row can show; at most 63 characters, so a name is never taken for a 64-hex hash. */
const OPERATOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,62}$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/**
 * Parses the ops operators: `name:sha256hex` entries from OPS_OPERATORS and from the file's text (separated by
 * commas, spaces or new lines; `#` starts a comment in the file), OPS_API_TOKEN as the operator `ops`, and
 * OPS_OPERATORS_REVOKED (names, or token hashes). Problems never quote an entry's hash part: it may be a token
 * pasted by mistake.
 */
export function parseOpsOperators(o: { apiToken?: string; list?: string; fileText?: string; revoked?: string }): { ops: OpsOperators; problems: string[] } {
  const problems: string[] = [];
  const operators: OpsOperator[] = [];
  const entries = (text: string | undefined, comments: boolean) =>
    (text ?? '')
      .split('\n')
      .map((line) => (comments ? line.replace(/#.*$/, '') : line))
      .flatMap((line) => line.split(/[,\s]+/))
      .filter(Boolean);
  const add = (where: string, name: string, tokenSha256: string) => {
    if (operators.some((x) => x.name === name)) problems.push(`${where}: operator ${name} is listed twice`);
    else if (operators.some((x) => x.tokenSha256 === tokenSha256)) problems.push(`${where}: operator ${name} has the same token as ${operators.find((x) => x.tokenSha256 === tokenSha256)!.name} (each operator needs a token of their own)`);
    else operators.push({ name, tokenSha256 });
  };
  if (o.apiToken !== undefined) add('OPS_API_TOKEN', OPS_API_TOKEN_OPERATOR, createHash('sha256').update(o.apiToken, 'utf8').digest('hex'));
  for (const [where, text, comments] of [
    ['OPS_OPERATORS', o.list, false],
    ['OPS_OPERATORS_FILE', o.fileText, true],
  ] as const) {
    for (const entry of entries(text, comments)) {
      const colon = entry.indexOf(':');
      const name = colon > 0 ? entry.slice(0, colon) : '';
      const hash = colon > 0 ? entry.slice(colon + 1) : '';
      if (!OPERATOR_NAME.test(name)) {
        problems.push(`${where}: an entry is not name:sha256hex (a name of letters, digits and ._@+- before the colon)`);
        continue;
      }
      if (!SHA256_HEX.test(hash)) {
        problems.push(`${where}: operator ${name}: the part after the colon must be the SHA-256 of the token in hex (64 characters; printf %s "$TOKEN" | sha256sum), never the token itself`);
        continue;
      }
      add(where, name, hash.toLowerCase());
    }
  }
  const revokedNames: string[] = [];
  const revokedTokenSha256: string[] = [];
  for (const entry of entries(o.revoked, false)) {
    if (SHA256_HEX.test(entry)) revokedTokenSha256.push(entry.toLowerCase());
    else if (OPERATOR_NAME.test(entry)) revokedNames.push(entry);
    else problems.push('OPS_OPERATORS_REVOKED: an entry is neither an operator name nor a 64-character SHA-256 hex');
  }
  return { ops: { operators, revokedNames, revokedTokenSha256 }, problems };
}

/** The service's typed, frozen configuration. */
export interface AppConfig {
  readonly env: 'development' | 'test' | 'production';
  readonly logLevel: string;
  readonly http: {
    /** The public listener: only what the marketplace calls (/koogallery/*). */
    readonly host: string;
    readonly port: number;
    /** The internal listener: health, readiness, metrics, /openapi.json and the ops API. */
    readonly internalHost: string;
    readonly internalPort: number;
    readonly maxBodyBytes: number;
    /** After SIGTERM, how long /readyz answers 503 draining while calls are still served. */
    readonly drainDelayMs: number;
    /** How many answered calls' inbox rows may wait for PostgreSQL before new ones are dropped (and counted). */
    readonly inboxBacklogMax: number;
  };
  readonly workerMetricsPort: number;
  readonly database: { readonly url: string; readonly poolMax: number };
  readonly temporal: {
    readonly address: string;
    readonly namespace: string;
    readonly taskQueue: string;
    readonly tls?: { readonly certPath?: string; readonly keyPath?: string; readonly caPath?: string; readonly serverName?: string };
    readonly apiKey?: string;
    readonly workflowBundlePath?: string;
  };
  readonly koogallery: {
    /** The merchant's access key: signs our calls to the marketplace, and verifies and answers its calls. */
    readonly accessKey: string;
    /**
     * Other keys a call may be signed with (KOOGALLERY_OTHER_ACCESS_KEYS): a call verified with one of them is
     * answered, signed and its fields encrypted with that key, the one its product is bound to.
     */
    readonly otherAccessKeys: readonly string[];
    readonly apiBase: string;
    readonly apiFallbackBase?: string;
    readonly huaweiAk: string;
    readonly huaweiSk: string;
    readonly provisionBudgetMs: number;
    readonly v1TimestampToleranceMs: number;
    readonly v2TimestampToleranceMs: number;
  };
  readonly provisioner:
    | { readonly kind: 'builtin'; readonly tenantUrlTemplate: string; readonly tenantAdminUrlTemplate: string }
    | { readonly kind: 'http'; readonly url: string; readonly token?: string };
  readonly dataEncryptionKey: string;
  /** Previous data-encryption keys, newest first: they open what they sealed, and seal nothing (README "Key rotation"). */
  readonly dataEncryptionPreviousKeys: readonly string[];
  /** The ops API's operators (token hashes only: no token is kept in the configuration). */
  readonly ops: OpsOperators;
  readonly supervision: {
    /** productId → supervision flow, for products listed with service supervision. */
    readonly products: Readonly<Record<string, SupervisionKind>>;
    readonly reminderAfterDays: number;
    readonly reminderIntervalDays: number;
    readonly autoAcceptDays: number;
  };
  readonly notifications: {
    readonly routing: NotificationRouting;
    /** channel → webhook URL (the built-in `log` channel needs none). */
    readonly webhooks: Readonly<Record<string, string>>;
    readonly webhookToken?: string;
  };
  readonly licenses: {
    /** Every configured key (private parts included: never log them). */
    readonly keys: readonly LicenseJwk[];
    /** The key that signs new licenses; undefined when no key is configured (production without License products). */
    readonly activeKid: string | undefined;
    readonly issuer: string;
  };
  readonly settlement: SettlementSettings & { readonly schedulePaused: boolean; readonly orderLines: boolean };
  readonly metering: {
    /** The bearer token of POST /metering/usage; undefined (production without on-demand products): intake is off. */
    readonly apiToken?: string;
    readonly maxBodyBytes: number;
    /** How far in the future a record's end may lie (the reporter's clock skew). */
    readonly futureToleranceMs: number;
    readonly pushIntervalMinutes: number;
    /** An hour is aggregated this long after it ended, so records still in flight land in it. */
    readonly pushCloseDelayMs: number;
    /** Failed attempts after which a refused item is flagged to ops instead of retried. */
    readonly pushMaxAttempts: number;
    readonly pushTimeoutMs: number;
    /** Base URL of the usage-data API (default: KOOGALLERY_API_BASE). */
    readonly usageApiBase: string;
    /** Package terms per SKU, where the order does not state them. */
    readonly packages: Readonly<Record<string, PackageTerms>>;
    /** How long after a package's threshold a repurchase may take before the buyer is told it did not happen. */
    readonly repurchaseWindowMs: number;
    /** How often a package workflow looks for the repurchased package while it waits. */
    readonly repurchasePollMs: number;
  };
  /** Names of settings that fell back to development defaults (warned about at startup). */
  readonly devDefaultsUsed: readonly string[];
}

/** Thrown when the environment is invalid; `problems` lists every issue. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * A list of further keys (DATA_ENCRYPTION_PREVIOUS_KEYS, KOOGALLERY_OTHER_ACCESS_KEYS), one per line (a `_FILE`
 * with one per line, or a value with newlines), each at least `minLength` long; `commas` also separates at commas,
 * for keys that never contain one. The setting's main key among them is refused (for a rotation it would mean the
 * rotation was not made), and so is a key listed twice. Problems never quote a key.
 */
export function parseKeyList(
  text: string | undefined,
  mainKey: { readonly name: string; readonly value: string },
  o: { readonly minLength: number; readonly commas: boolean },
): { keys: string[]; problems: string[] } {
  const keys = (text ?? '').split(o.commas ? /[,\n]/ : /\n/).map((k) => k.trim()).filter((k) => k.length > 0);
  const problems: string[] = [];
  if (keys.some((k) => k.length < o.minLength)) problems.push(`every key must be at least ${o.minLength} characters`);
  if (keys.includes(mainKey.value)) problems.push(`lists ${mainKey.name} itself: every key here is one besides it`);
  if (new Set(keys).size !== keys.length) problems.push('lists a key twice');
  return { keys, problems };
}

/** Parses an environment (default: process.env) into a frozen AppConfig, or throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const files = readSecretFiles(env);
  const parsed = EnvSchema.safeParse(files.env);
  if (!parsed.success) {
    throw new ConfigError([...files.problems, ...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)]);
  }
  const e = parsed.data;
  const production = e.APP_ENV === 'production';
  const problems: string[] = [...files.problems];
  const devDefaultsUsed: string[] = [];

  const secret = (name: string, value: string | undefined, devDefault: string): string => {
    if (value !== undefined) return value;
    if (production) {
      problems.push(`${name}: required when APP_ENV=production`);
      return '';
    }
    devDefaultsUsed.push(name);
    return devDefault;
  };

  const accessKey = secret('KOOGALLERY_ACCESS_KEY', e.KOOGALLERY_ACCESS_KEY, DEV_DEFAULTS.accessKey);
  // No length rule for the marketplace's keys beyond being non-empty: Seller Console makes them, not us. Commas
  // separate too (handy in a compose .env); ASSUMED: Seller Console's keys are letters and digits, never a comma.
  const otherAccessKeys = parseKeyList(e.KOOGALLERY_OTHER_ACCESS_KEYS, { name: 'KOOGALLERY_ACCESS_KEY', value: accessKey }, { minLength: 1, commas: true });
  problems.push(...otherAccessKeys.problems.map((p) => `KOOGALLERY_OTHER_ACCESS_KEYS: ${p}`));
  const huaweiAk = secret('HUAWEI_CLOUD_AK', e.HUAWEI_CLOUD_AK, DEV_DEFAULTS.huaweiAk);
  const huaweiSk = secret('HUAWEI_CLOUD_SK', e.HUAWEI_CLOUD_SK, DEV_DEFAULTS.huaweiSk);
  const dataEncryptionKey = secret('DATA_ENCRYPTION_KEY', e.DATA_ENCRYPTION_KEY, DEV_DEFAULTS.dataEncryptionKey);
  let operatorsFile: string | undefined;
  if (e.OPS_OPERATORS_FILE !== undefined) {
    try {
      operatorsFile = readFileSync(e.OPS_OPERATORS_FILE, 'utf8');
    } catch (err) {
      problems.push(`OPS_OPERATORS_FILE: cannot read ${e.OPS_OPERATORS_FILE} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const namedOperators = e.OPS_OPERATORS !== undefined || e.OPS_OPERATORS_FILE !== undefined;
  // Without any operator the ops API would refuse everyone: the development default is the token of `ops`.
  let opsApiToken = e.OPS_API_TOKEN;
  if (opsApiToken === undefined && !namedOperators) {
    if (production) problems.push('OPS_API_TOKEN: required when APP_ENV=production, unless operators are named (OPS_OPERATORS or OPS_OPERATORS_FILE)');
    else opsApiToken = secret('OPS_API_TOKEN', undefined, DEV_DEFAULTS.opsApiToken);
  }
  const operators = parseOpsOperators({
    ...(opsApiToken !== undefined ? { apiToken: opsApiToken } : {}),
    ...(e.OPS_OPERATORS !== undefined ? { list: e.OPS_OPERATORS } : {}),
    ...(operatorsFile !== undefined ? { fileText: operatorsFile } : {}),
    ...(e.OPS_OPERATORS_REVOKED !== undefined ? { revoked: e.OPS_OPERATORS_REVOKED } : {}),
  });
  problems.push(...operators.problems);
  if (namedOperators && operators.problems.length === 0 && operators.ops.operators.length === 0) {
    problems.push('OPS_OPERATORS: no operator listed (and no OPS_API_TOKEN): nobody could use the ops API');
  }
  // Outside production the marketplace is the bundled simulator; in production the real open API.
  const apiBase = e.KOOGALLERY_API_BASE ?? (production ? 'https://mkt.myhuaweicloud.com' : DEV_DEFAULTS.apiBase);
  const apiFallbackBase = e.KOOGALLERY_API_FALLBACK_BASE ?? (production ? 'https://mkt.myhuaweicloud.cn' : undefined);

  const internalHost = e.INTERNAL_HOST ?? e.HOST;
  if (e.PORT !== 0 && e.PORT === e.INTERNAL_PORT && internalHost === e.HOST) {
    problems.push(`INTERNAL_PORT: must differ from PORT (${e.PORT}): the internal endpoints never share the marketplace's listener`);
  }
  if (e.TEMPORAL_TLS_CERT_PATH !== undefined && e.TEMPORAL_TLS_KEY_PATH === undefined) {
    problems.push('TEMPORAL_TLS_KEY_PATH: required with TEMPORAL_TLS_CERT_PATH');
  }
  if (e.PROVISIONER === 'http' && e.PROVISIONER_HTTP_URL === undefined) {
    problems.push('PROVISIONER_HTTP_URL: required when PROVISIONER=http');
  }
  if (dataEncryptionKey.length > 0 && dataEncryptionKey.length < 16) {
    problems.push('DATA_ENCRYPTION_KEY: must be at least 16 characters');
  }
  // Newlines only: a data-encryption key is ours and may contain anything, commas included; split at one, an old key
  // would silently become two keys that open nothing.
  const dataEncryptionPreviousKeys = parseKeyList(e.DATA_ENCRYPTION_PREVIOUS_KEYS, { name: 'DATA_ENCRYPTION_KEY', value: dataEncryptionKey }, { minLength: 16, commas: false });
  problems.push(...dataEncryptionPreviousKeys.problems.map((p) => `DATA_ENCRYPTION_PREVIOUS_KEYS: ${p}`));
  const supervised = parseSupervisedProducts(e.SUPERVISED_PRODUCTS);
  problems.push(...supervised.problems);
  let routing: NotificationRouting = DEFAULT_NOTIFICATION_ROUTING;
  try {
    routing = parseNotificationRouting(e.NOTIFICATION_ROUTING);
  } catch (err) {
    if (!(err instanceof NotificationRoutingError)) throw err;
    problems.push(...err.problems.map((p) => `NOTIFICATION_ROUTING: ${p}`));
  }
  const hooks = parseNotificationWebhooks(e.NOTIFICATION_WEBHOOKS);
  problems.push(...hooks.problems);
  const routedChannels = new Set(Object.values(routing).flat());
  for (const channel of routedChannels) {
    if (channel !== LOG_CHANNEL_NAME && hooks.webhooks[channel] === undefined) problems.push(`NOTIFICATION_ROUTING: channel "${channel}" has no NOTIFICATION_WEBHOOKS entry`);
  }
  // Optional in production: only a merchant who sells License products signs licenses (the license interfaces then
  // refuse to start without a key); elsewhere the published development key stands in, with the usual warning.
  const licenseKeyText = production ? (e.LICENSE_SIGNING_KEYS ?? '') : secret('LICENSE_SIGNING_KEYS', e.LICENSE_SIGNING_KEYS, DEV_DEFAULTS.licenseSigningKeys);
  const licenseKeys = licenseKeyText === '' ? { keys: [], problems: [] } : parseLicenseKeySet(licenseKeyText);
  problems.push(...licenseKeys.problems.map((p) => `LICENSE_SIGNING_KEYS: ${p}`));
  const active = licenseKeys.keys.length > 0 ? pickActiveKid(licenseKeys.keys, e.LICENSE_ACTIVE_KID) : {};
  if (active.problem) problems.push(`LICENSE_ACTIVE_KID: ${active.problem}`);
  let catalogueText = e.SETTLEMENT_CATALOGUE ?? '';
  const catalogueSource = e.SETTLEMENT_CATALOGUE_FILE !== undefined ? 'SETTLEMENT_CATALOGUE_FILE' : 'SETTLEMENT_CATALOGUE';
  if (e.SETTLEMENT_CATALOGUE_FILE !== undefined) {
    if (e.SETTLEMENT_CATALOGUE !== undefined) problems.push('SETTLEMENT_CATALOGUE and SETTLEMENT_CATALOGUE_FILE: both are set; set one');
    try {
      catalogueText = readFileSync(e.SETTLEMENT_CATALOGUE_FILE, 'utf8');
    } catch (err) {
      problems.push(`SETTLEMENT_CATALOGUE_FILE: cannot read ${e.SETTLEMENT_CATALOGUE_FILE} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const catalogue = parseSettlementCatalogue(catalogueText);
  problems.push(...catalogue.problems.map((p) => `${catalogueSource}: ${p}`));
  // Optional in production, like the license keys: only a merchant selling on-demand products reports usage (without
  // a token the intake refuses every call); elsewhere a development token stands in, with the usual warning.
  const meteringApiToken = production ? e.METERING_API_TOKEN : secret('METERING_API_TOKEN', e.METERING_API_TOKEN, DEV_DEFAULTS.meteringApiToken);
  if (production && meteringApiToken !== undefined && meteringApiToken.length < 16) problems.push('METERING_API_TOKEN: must be at least 16 characters');
  const packageTerms = parsePackageTerms(e.METERING_PACKAGES);
  problems.push(...packageTerms.problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const useTls = e.TEMPORAL_TLS_CERT_PATH !== undefined || e.TEMPORAL_TLS_CA_PATH !== undefined || e.TEMPORAL_API_KEY !== undefined;
  const config: AppConfig = {
    env: e.APP_ENV,
    logLevel: e.LOG_LEVEL,
    http: { host: e.HOST, port: e.PORT, internalHost, internalPort: e.INTERNAL_PORT, maxBodyBytes: e.MAX_BODY_BYTES, drainDelayMs: e.DRAIN_DELAY_MS, inboxBacklogMax: e.INBOX_BACKLOG_MAX },
    workerMetricsPort: e.WORKER_METRICS_PORT,
    database: { url: e.DATABASE_URL, poolMax: e.PG_POOL_MAX },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      ...(useTls
        ? {
            tls: {
              ...(e.TEMPORAL_TLS_CERT_PATH ? { certPath: e.TEMPORAL_TLS_CERT_PATH } : {}),
              ...(e.TEMPORAL_TLS_KEY_PATH ? { keyPath: e.TEMPORAL_TLS_KEY_PATH } : {}),
              ...(e.TEMPORAL_TLS_CA_PATH ? { caPath: e.TEMPORAL_TLS_CA_PATH } : {}),
              ...(e.TEMPORAL_TLS_SERVER_NAME ? { serverName: e.TEMPORAL_TLS_SERVER_NAME } : {}),
            },
          }
        : {}),
      ...(e.TEMPORAL_API_KEY ? { apiKey: e.TEMPORAL_API_KEY } : {}),
      ...(e.TEMPORAL_WORKFLOW_BUNDLE ? { workflowBundlePath: e.TEMPORAL_WORKFLOW_BUNDLE } : {}),
    },
    koogallery: {
      accessKey,
      otherAccessKeys: otherAccessKeys.keys,
      apiBase,
      ...(apiFallbackBase ? { apiFallbackBase } : {}),
      huaweiAk,
      huaweiSk,
      provisionBudgetMs: e.PROVISION_BUDGET_MS,
      v1TimestampToleranceMs: e.V1_TIMESTAMP_TOLERANCE_MS,
      v2TimestampToleranceMs: e.V2_TIMESTAMP_TOLERANCE_MS,
    },
    provisioner:
      e.PROVISIONER === 'http'
        ? { kind: 'http', url: e.PROVISIONER_HTTP_URL!, ...(e.PROVISIONER_HTTP_TOKEN ? { token: e.PROVISIONER_HTTP_TOKEN } : {}) }
        : { kind: 'builtin', tenantUrlTemplate: e.TENANT_URL_TEMPLATE, tenantAdminUrlTemplate: e.TENANT_ADMIN_URL_TEMPLATE },
    dataEncryptionKey,
    dataEncryptionPreviousKeys: dataEncryptionPreviousKeys.keys,
    ops: operators.ops,
    supervision: {
      products: supervised.products,
      reminderAfterDays: e.SUPERVISION_REMINDER_AFTER_DAYS,
      reminderIntervalDays: e.SUPERVISION_REMINDER_INTERVAL_DAYS,
      autoAcceptDays: e.HARDWARE_AUTO_ACCEPT_DAYS,
    },
    notifications: {
      routing,
      webhooks: hooks.webhooks,
      ...(e.NOTIFICATION_WEBHOOK_TOKEN ? { webhookToken: e.NOTIFICATION_WEBHOOK_TOKEN } : {}),
    },
    licenses: { keys: licenseKeys.keys, activeKid: active.kid, issuer: e.LICENSE_ISSUER },
    settlement: { ...catalogue.settings, schedulePaused: e.SETTLEMENT_SCHEDULE_PAUSED === 'true', orderLines: e.SETTLEMENT_ORDER_LINES === 'true' },
    metering: {
      ...(meteringApiToken !== undefined ? { apiToken: meteringApiToken } : {}),
      maxBodyBytes: e.METERING_MAX_BODY_BYTES,
      futureToleranceMs: e.METERING_FUTURE_TOLERANCE_MS,
      pushIntervalMinutes: e.METERING_PUSH_INTERVAL_MINUTES,
      pushCloseDelayMs: e.METERING_PUSH_CLOSE_DELAY_MINUTES * 60_000,
      pushMaxAttempts: e.METERING_PUSH_MAX_ATTEMPTS,
      pushTimeoutMs: e.METERING_PUSH_TIMEOUT_MS,
      usageApiBase: e.METERING_USAGE_API_BASE ?? apiBase,
      packages: packageTerms.packages,
      repurchaseWindowMs: e.METERING_REPURCHASE_WINDOW_MINUTES * 60_000,
      repurchasePollMs: e.METERING_REPURCHASE_POLL_MS,
    },
    devDefaultsUsed,
  };
  return deepFreeze(config);
}

/** The configuration with every secret replaced by `***`, for the startup log. */
export function describeConfig(c: AppConfig): Record<string, unknown> {
  return {
    env: c.env,
    http: c.http,
    database: { url: redactUrl(c.database.url), poolMax: c.database.poolMax },
    temporal: { address: c.temporal.address, namespace: c.temporal.namespace, taskQueue: c.temporal.taskQueue, tls: Boolean(c.temporal.tls), apiKey: c.temporal.apiKey ? '***' : undefined },
    koogallery: { apiBase: c.koogallery.apiBase, accessKey: '***', otherAccessKeys: c.koogallery.otherAccessKeys.length, huaweiAk: '***', huaweiSk: '***', provisionBudgetMs: c.koogallery.provisionBudgetMs },
    provisioner: c.provisioner.kind === 'http' ? { kind: 'http', url: c.provisioner.url } : c.provisioner,
    // How many previous keys still open sealed values: above 0 is a key rotation not yet finished.
    dataEncryption: { key: '***', previousKeys: c.dataEncryptionPreviousKeys.length },
    // Operator names only: the token hashes stay out of the log.
    ops: { operators: c.ops.operators.map((o) => o.name), revokedNames: c.ops.revokedNames, revokedTokens: c.ops.revokedTokenSha256.length },
    supervision: c.supervision,
    notifications: { routing: c.notifications.routing, webhooks: Object.keys(c.notifications.webhooks), webhookToken: c.notifications.webhookToken ? '***' : undefined },
    settlement: {
      orderLines: c.settlement.orderLines,
      invoicingEntity: c.settlement.invoicingEntity,
      products: c.settlement.products,
      platformFeeTiers: c.settlement.platformFeeTiers,
      invoiceTemplate: c.settlement.invoiceTemplate ? c.settlement.invoiceTemplate.kind : null,
      holidays: c.settlement.holidays.length,
    },
    licenses: { activeKid: c.licenses.activeKid, kids: c.licenses.keys.map((k) => (k.d ? k.kid : `${k.kid} (public only)`)), issuer: c.licenses.issuer },
    metering: { ...c.metering, apiToken: c.metering.apiToken ? '***' : undefined },
    devDefaultsUsed: c.devDefaultsUsed,
  };
}

/** A connection URL with its password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
