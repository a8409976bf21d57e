import { z } from 'zod';

// The only reader of process.env. Parsed once, validated, frozen; fails fast with every problem listed.
// Secrets are kept out of `describeConfig()` so the startup log can show the effective configuration.

/** Development defaults: usable only when APP_ENV is not `production`, and announced with a warning. */
export const DEV_DEFAULTS = Object.freeze({
  accessKey: 'dev-access-key-change-me',
  huaweiAk: 'DEVAKEXAMPLE0000000',
  huaweiSk: 'dev-secret-key-change-me',
  dataEncryptionKey: 'dev-data-encryption-key-change-me-32b',
  opsApiToken: 'dev-ops-token',
  apiBase: 'http://127.0.0.1:7090',
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
  WORKER_METRICS_PORT: intFrom(9464, 0, 65535),
  MAX_BODY_BYTES: intFrom(64 * 1024, 1024, 10 * 1024 * 1024),

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
  KOOGALLERY_API_BASE: optionalString,
  KOOGALLERY_API_FALLBACK_BASE: optionalString,
  HUAWEI_CLOUD_AK: optionalString,
  HUAWEI_CLOUD_SK: optionalString,

  PROVISION_BUDGET_MS: intFrom(3500, 100, 4500),
  V1_TIMESTAMP_TOLERANCE_MS: intFrom(5 * 60_000, 1000, 24 * 3600_000),
  V2_TIMESTAMP_TOLERANCE_MS: intFrom(60_000, 1000, 3600_000),

  PROVISIONER: z.enum(['builtin', 'http']).default('builtin'),
  PROVISIONER_HTTP_URL: optionalString,
  PROVISIONER_HTTP_TOKEN: optionalString,
  TENANT_URL_TEMPLATE: z.string().default('https://{tenant}.saas.example.com'),
  TENANT_ADMIN_URL_TEMPLATE: z.string().default('https://{tenant}.saas.example.com/admin'),
  DATA_ENCRYPTION_KEY: optionalString,

  OPS_API_TOKEN: optionalString,
});

/** The service's typed, frozen configuration. */
export interface AppConfig {
  readonly env: 'development' | 'test' | 'production';
  readonly logLevel: string;
  readonly http: { readonly host: string; readonly port: number; readonly maxBodyBytes: number };
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
    readonly accessKey: string;
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
  readonly opsApiToken: string;
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

/** Parses an environment (default: process.env) into a frozen AppConfig, or throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const production = e.APP_ENV === 'production';
  const problems: string[] = [];
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
  const huaweiAk = secret('HUAWEI_CLOUD_AK', e.HUAWEI_CLOUD_AK, DEV_DEFAULTS.huaweiAk);
  const huaweiSk = secret('HUAWEI_CLOUD_SK', e.HUAWEI_CLOUD_SK, DEV_DEFAULTS.huaweiSk);
  const dataEncryptionKey = secret('DATA_ENCRYPTION_KEY', e.DATA_ENCRYPTION_KEY, DEV_DEFAULTS.dataEncryptionKey);
  const opsApiToken = secret('OPS_API_TOKEN', e.OPS_API_TOKEN, DEV_DEFAULTS.opsApiToken);
  // Outside production the marketplace is the bundled simulator; in production the real open API.
  const apiBase = e.KOOGALLERY_API_BASE ?? (production ? 'https://mkt.myhuaweicloud.com' : DEV_DEFAULTS.apiBase);
  const apiFallbackBase = e.KOOGALLERY_API_FALLBACK_BASE ?? (production ? 'https://mkt.myhuaweicloud.cn' : undefined);

  if (e.TEMPORAL_TLS_CERT_PATH !== undefined && e.TEMPORAL_TLS_KEY_PATH === undefined) {
    problems.push('TEMPORAL_TLS_KEY_PATH: required with TEMPORAL_TLS_CERT_PATH');
  }
  if (e.PROVISIONER === 'http' && e.PROVISIONER_HTTP_URL === undefined) {
    problems.push('PROVISIONER_HTTP_URL: required when PROVISIONER=http');
  }
  if (dataEncryptionKey.length > 0 && dataEncryptionKey.length < 16) {
    problems.push('DATA_ENCRYPTION_KEY: must be at least 16 characters');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const useTls = e.TEMPORAL_TLS_CERT_PATH !== undefined || e.TEMPORAL_TLS_CA_PATH !== undefined || e.TEMPORAL_API_KEY !== undefined;
  const config: AppConfig = {
    env: e.APP_ENV,
    logLevel: e.LOG_LEVEL,
    http: { host: e.HOST, port: e.PORT, maxBodyBytes: e.MAX_BODY_BYTES },
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
    opsApiToken,
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
    koogallery: { apiBase: c.koogallery.apiBase, accessKey: '***', huaweiAk: '***', huaweiSk: '***', provisionBudgetMs: c.koogallery.provisionBudgetMs },
    provisioner: c.provisioner.kind === 'http' ? { kind: 'http', url: c.provisioner.url } : c.provisioner,
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
