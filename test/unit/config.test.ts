import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from '../../src/platform/config.js';

const PRODUCTION_SECRETS = {
  KOOGALLERY_ACCESS_KEY: 'prod-access-key',
  HUAWEI_CLOUD_AK: 'PRODAK',
  HUAWEI_CLOUD_SK: 'prod-sk-secret',
  DATA_ENCRYPTION_KEY: 'a-long-enough-data-encryption-key',
  OPS_API_TOKEN: 'prod-ops-token',
  LICENSE_SIGNING_KEYS: '{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"prod-1","x":"NMHnq_gCzDMqmEbvv9Tk5AZ_NK-w52Sg_gLH7buyrlo","d":"TddzoQtrKLVh4sjY0tHqVUEo8oew5pvAELOyZT2b0IE"}]}',
};

describe('configuration', () => {
  it('when nothing is set outside production, then development defaults are used and listed', () => {
    const c = loadConfig({});
    expect(c.env).toBe('development');
    expect(c.http.port).toBe(8080);
    expect(c.koogallery.apiBase).toBe('http://127.0.0.1:7090');
    expect(c.devDefaultsUsed).toEqual(['KOOGALLERY_ACCESS_KEY', 'HUAWEI_CLOUD_AK', 'HUAWEI_CLOUD_SK', 'DATA_ENCRYPTION_KEY', 'OPS_API_TOKEN', 'LICENSE_SIGNING_KEYS', 'METERING_API_TOKEN']);
  });

  it('when production lacks secrets, then every missing one is reported at once', () => {
    try {
      loadConfig({ APP_ENV: 'production' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      // LICENSE_SIGNING_KEYS is not among them: only a merchant selling License products needs a signing key.
      expect((err as ConfigError).problems).toHaveLength(5);
    }
  });

  it('when production has its secrets, then the real marketplace endpoints are the defaults', () => {
    const c = loadConfig({ APP_ENV: 'production', ...PRODUCTION_SECRETS });
    expect(c.koogallery.apiBase).toBe('https://mkt.myhuaweicloud.com');
    expect(c.koogallery.apiFallbackBase).toBe('https://mkt.myhuaweicloud.cn');
    expect(c.devDefaultsUsed).toEqual([]);
  });

  it('when values are malformed, then loading fails naming them', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ PROVISION_BUDGET_MS: '6000' })).toThrow(/PROVISION_BUDGET_MS/);
    // Above 4 s the look-ups after the budget could carry the answer past the marketplace's 5 s.
    expect(() => loadConfig({ PROVISION_BUDGET_MS: '4001' })).toThrow(/PROVISION_BUDGET_MS/);
    expect(loadConfig({ PROVISION_BUDGET_MS: '4000' }).koogallery.provisionBudgetMs).toBe(4000);
    expect(() => loadConfig({ PROVISIONER: 'http' })).toThrow(/PROVISIONER_HTTP_URL/);
    expect(() => loadConfig({ TEMPORAL_TLS_CERT_PATH: '/c.pem' })).toThrow(/TEMPORAL_TLS_KEY_PATH/);
  });

  it('when loaded, then the object is frozen all the way down', () => {
    const c = loadConfig({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.koogallery)).toBe(true);
    expect(() => {
      (c.http as { port: number }).port = 1;
    }).toThrow();
  });

  it('when described for the log, then no secret appears', () => {
    const c = loadConfig({ APP_ENV: 'production', ...PRODUCTION_SECRETS, DATABASE_URL: 'postgres://u:db-password@h/db', TEMPORAL_API_KEY: 'cloud-key' });
    const text = JSON.stringify(describeConfig(c));
    for (const secret of [...Object.values(PRODUCTION_SECRETS), 'db-password', 'cloud-key', 'TddzoQtrKLVh4sjY0tHqVUEo8oew5pvAELOyZT2b0IE']) expect(text).not.toContain(secret);
    expect(text).toContain('prod-1');
    expect(text).toContain('mkt.myhuaweicloud.com');
  });

  it('when previous data-encryption keys are set (a rotation), then they are read in order, never described, and a short, repeated or current key is refused', () => {
    const previous = ['previous-data-encryption-key-02', 'oldest-data-encryption-key-0001'];
    const c = loadConfig({ APP_ENV: 'production', ...PRODUCTION_SECRETS, DATA_ENCRYPTION_PREVIOUS_KEYS: ` ${previous[0]}\n${previous[1]}\n` });
    expect(c.dataEncryptionPreviousKeys).toEqual(previous);
    // One per line only: a data-encryption key may contain a comma, and stays one key.
    const withComma = 'an old key, with a comma in it';
    expect(loadConfig({ DATA_ENCRYPTION_PREVIOUS_KEYS: withComma }).dataEncryptionPreviousKeys).toEqual([withComma]);
    const described = JSON.stringify(describeConfig(c));
    for (const k of previous) expect(described).not.toContain(k);
    expect(describeConfig(c)['dataEncryption']).toEqual({ key: '***', previousKeys: 2 });
    expect(loadConfig({}).dataEncryptionPreviousKeys).toEqual([]);
    const problems = (previousKeys: string) => {
      try {
        loadConfig({ APP_ENV: 'production', ...PRODUCTION_SECRETS, DATA_ENCRYPTION_PREVIOUS_KEYS: previousKeys });
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems('too-short')).toEqual(['DATA_ENCRYPTION_PREVIOUS_KEYS: every key must be at least 16 characters']);
    expect(problems(`${previous[0]}\n${PRODUCTION_SECRETS.DATA_ENCRYPTION_KEY}`)).toEqual([
      'DATA_ENCRYPTION_PREVIOUS_KEYS: lists DATA_ENCRYPTION_KEY itself: every key here is one besides it',
    ]);
    expect(problems(`${previous[0]}\n${previous[0]}`)).toEqual(['DATA_ENCRYPTION_PREVIOUS_KEYS: lists a key twice']);
    // The problems name the setting, never a key.
    for (const p of [...problems('too-short'), ...problems(`${previous[0]}\n${previous[0]}`)]) expect(p).not.toContain(previous[0]);
  });

  it('when other access keys are set, then they are read in order and never described; the access key itself or a repeat is refused', () => {
    const c = loadConfig({ APP_ENV: 'production', ...PRODUCTION_SECRETS, KOOGALLERY_OTHER_ACCESS_KEYS: 'product-b-key, product-c-key' });
    expect(c.koogallery.otherAccessKeys).toEqual(['product-b-key', 'product-c-key']);
    expect(JSON.stringify(describeConfig(c))).not.toContain('product-b-key');
    expect((describeConfig(c)['koogallery'] as { otherAccessKeys: number }).otherAccessKeys).toBe(2);
    expect(loadConfig({}).koogallery.otherAccessKeys).toEqual([]);
    expect(() => loadConfig({ APP_ENV: 'production', ...PRODUCTION_SECRETS, KOOGALLERY_OTHER_ACCESS_KEYS: `x,${PRODUCTION_SECRETS.KOOGALLERY_ACCESS_KEY}` })).toThrow(
      /KOOGALLERY_OTHER_ACCESS_KEYS: lists KOOGALLERY_ACCESS_KEY itself/,
    );
    expect(() => loadConfig({ APP_ENV: 'production', ...PRODUCTION_SECRETS, KOOGALLERY_OTHER_ACCESS_KEYS: 'b-key,b-key' })).toThrow(/KOOGALLERY_OTHER_ACCESS_KEYS: lists a key twice/);
  });

  it('when a Temporal Cloud API key is set, then TLS is on', () => {
    const c = loadConfig({ TEMPORAL_API_KEY: 'k', TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233' });
    expect(c.temporal.apiKey).toBe('k');
    expect(c.temporal.tls).toBeDefined();
  });
});
