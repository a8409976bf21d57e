import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, SECRET_SETTINGS, SETTING_NAMES, describeConfig, loadConfig, readSecretFiles } from '../../src/platform/config.js';

// Secrets as files (`<NAME>_FILE`): how Docker secrets (/run/secrets/<name>) and Kubernetes secret volumes hand
// secrets to a process without putting them in its environment, where `docker inspect` and /proc/<pid>/environ
// show them. Real files in a temporary folder.

const dir = mkdtempSync(join(tmpdir(), 'config-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('secrets from files', () => {
  it('when every production secret comes from a file ending in a newline, then the values are the files without it', () => {
    const env: Record<string, string> = { APP_ENV: 'production' };
    const values = {
      KOOGALLERY_ACCESS_KEY: 'file-access-key',
      HUAWEI_CLOUD_AK: 'FILEAK0001',
      HUAWEI_CLOUD_SK: 'file-secret-key',
      DATA_ENCRYPTION_KEY: 'a-file-data-encryption-key-0123',
      OPS_API_TOKEN: 'file-ops-token',
      DATABASE_URL: 'postgres://app:file-db-password@db:5432/orders',
      TEMPORAL_API_KEY: 'file-temporal-api-key',
      NOTIFICATION_WEBHOOK_TOKEN: 'file-webhook-token',
      METERING_API_TOKEN: 'file-metering-token-0123',
    };
    for (const [name, value] of Object.entries(values)) env[`${name}_FILE`] = file(name, `${value}\n`);
    const c = loadConfig(env);
    expect(c.koogallery).toMatchObject({ accessKey: 'file-access-key', huaweiAk: 'FILEAK0001', huaweiSk: 'file-secret-key' });
    expect(c.dataEncryptionKey).toBe('a-file-data-encryption-key-0123');
    // OPS_API_TOKEN is the token of the operator `ops`; configuration keeps only its SHA-256.
    expect(c.ops.operators).toContainEqual({ name: 'ops', tokenSha256: sha256('file-ops-token') });
    expect(c.database.url).toBe('postgres://app:file-db-password@db:5432/orders');
    expect(c.temporal.apiKey).toBe('file-temporal-api-key');
    expect(c.notifications.webhookToken).toBe('file-webhook-token');
    expect(c.metering.apiToken).toBe('file-metering-token-0123');
    expect(c.devDefaultsUsed).toEqual([]);
    // Read from a file or not, a secret stays out of the startup log.
    const described = JSON.stringify(describeConfig(c));
    const { DATABASE_URL: _url, ...plain } = values;
    for (const secret of [...Object.values(plain), 'file-db-password']) expect(described).not.toContain(secret);
  });

  it('when a file ends in CRLF or has no newline, then only a trailing line break is removed; inner whitespace stays', () => {
    expect(loadConfig({ PROVISIONER: 'http', PROVISIONER_HTTP_URL: 'https://p', PROVISIONER_HTTP_TOKEN_FILE: file('crlf', 'tok-crlf\r\n') }).provisioner).toMatchObject({ token: 'tok-crlf' });
    expect(readSecretFiles({ OPS_API_TOKEN_FILE: file('plain', 'no newline') }).env.OPS_API_TOKEN).toBe('no newline');
    expect(readSecretFiles({ OPS_API_TOKEN_FILE: file('two', 'two lines\n\n') }).env.OPS_API_TOKEN).toBe('two lines\n');
  });

  it('when a secret is set both ways, then loading fails naming both, and never shows either value', () => {
    const problems = problemsOf({ OPS_API_TOKEN: 'env-token-value', OPS_API_TOKEN_FILE: file('ops', 'file-token-value\n') });
    expect(problems).toEqual(['OPS_API_TOKEN and OPS_API_TOKEN_FILE: both are set; set one']);
    expect(problems.join(' ')).not.toMatch(/env-token-value|file-token-value/);
  });

  it('when the file is missing or empty, then loading fails naming the setting and the path', () => {
    const missing = join(dir, 'no-such-file');
    expect(problemsOf({ HUAWEI_CLOUD_SK_FILE: missing })).toEqual([`HUAWEI_CLOUD_SK_FILE: cannot read ${missing} (ENOENT)`]);
    const empty = file('empty', '\n');
    expect(problemsOf({ DATA_ENCRYPTION_KEY_FILE: empty })).toEqual([`DATA_ENCRYPTION_KEY_FILE: ${empty} is empty`]);
  });

  it('when several file problems and a malformed value meet, then all are reported at once', () => {
    const problems = problemsOf({ PORT: 'eighty', OPS_API_TOKEN: 'a', OPS_API_TOKEN_FILE: file('ops2', 'b'), HUAWEI_CLOUD_SK_FILE: join(dir, 'gone') });
    expect(problems).toHaveLength(3);
    expect(problems.map((p) => p.split(/[ :]/)[0]).sort()).toEqual(['HUAWEI_CLOUD_SK_FILE', 'OPS_API_TOKEN', 'PORT']);
  });

  it('when an empty <NAME>_FILE is set, then it is ignored like any empty setting', () => {
    expect(loadConfig({ OPS_API_TOKEN: 'from-env', OPS_API_TOKEN_FILE: '' }).ops.operators).toContainEqual({ name: 'ops', tokenSha256: sha256('from-env') });
  });

  it('covers every setting whose name says it is a secret (a new *_KEY, *_TOKEN, *_SK or *_PASSWORD must be added)', () => {
    const looksSecret = SETTING_NAMES.filter((n) => /(_KEY|_TOKENS?|_SK|_SECRET|_PASSWORD)$/.test(n));
    expect(looksSecret.length).toBeGreaterThan(4);
    expect(looksSecret.filter((n) => !(SECRET_SETTINGS as readonly string[]).includes(n))).toEqual([]);
    expect(SECRET_SETTINGS.filter((n) => !SETTING_NAMES.includes(n))).toEqual([]);
  });
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
