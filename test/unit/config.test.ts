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

  it('when a Temporal Cloud API key is set, then TLS is on', () => {
    const c = loadConfig({ TEMPORAL_API_KEY: 'k', TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233' });
    expect(c.temporal.apiKey).toBe('k');
    expect(c.temporal.tls).toBeDefined();
  });
});
