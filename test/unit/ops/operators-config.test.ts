import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from '../../../src/platform/config.js';
import { tokenSha256 } from '../../../src/platform/http/ops/auth.js';

// Ops operators in the configuration: named tokens as SHA-256 hashes (inline and from a file), OPS_API_TOKEN as the
// operator `ops`, revocations; and the internal listener's settings.

const A = tokenSha256('alice-token');
const B = tokenSha256('bob-token');

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  return [];
}

describe('ops operators', () => {
  it('when operators are listed inline and in a file (with comments), then each is known by name and hash, OPS_API_TOKEN is `ops`, and the log shows names only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-operators-'));
    const file = join(dir, 'operators');
    writeFileSync(file, `# the on-call team\nbob:${B.toUpperCase()}   # upper-case hex is fine\n\n`);
    const c = loadConfig({ OPS_API_TOKEN: 'legacy-token', OPS_OPERATORS: `alice:${A}`, OPS_OPERATORS_FILE: file, OPS_OPERATORS_REVOKED: `carol, ${'f'.repeat(64)}` });
    expect(c.ops.operators).toEqual([
      { name: 'ops', tokenSha256: tokenSha256('legacy-token') },
      { name: 'alice', tokenSha256: A },
      { name: 'bob', tokenSha256: B },
    ]);
    expect(c.ops.revokedNames).toEqual(['carol']);
    expect(c.ops.revokedTokenSha256).toEqual(['f'.repeat(64)]);
    expect(c.devDefaultsUsed).not.toContain('OPS_API_TOKEN');
    const described = JSON.stringify(describeConfig(c));
    expect(described).toContain('"alice"');
    for (const secret of ['legacy-token', A, B]) expect(described).not.toContain(secret);
  });

  it('when only named operators are configured, then there is no `ops` operator, in production too', () => {
    const c = loadConfig({ OPS_OPERATORS: `alice:${A}` });
    expect(c.ops.operators.map((o) => o.name)).toEqual(['alice']);
    expect(c.devDefaultsUsed).not.toContain('OPS_API_TOKEN');
  });

  it('when nothing names an operator outside production, then the development token is the operator `ops`', () => {
    const c = loadConfig({});
    expect(c.ops.operators).toEqual([{ name: 'ops', tokenSha256: tokenSha256('dev-ops-token') }]);
    expect(c.devDefaultsUsed).toContain('OPS_API_TOKEN');
  });

  it('when an entry holds a token instead of its hash, then loading fails naming the operator but never quoting the token', () => {
    const p = problems({ OPS_OPERATORS: `alice:${A},bob:my-plain-secret-token` });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/OPS_OPERATORS: operator bob: .*SHA-256/);
    expect(p.join()).not.toContain('my-plain-secret-token');
  });

  it('when entries are malformed, duplicated or share a token, or the file is missing, then every problem is listed', () => {
    const p = problems({
      OPS_API_TOKEN: 'alice-token',
      OPS_OPERATORS: `alice:${A},alice:${B},nocolon,:${A},ops:${B}`,
      OPS_OPERATORS_FILE: '/nonexistent/operators',
      OPS_OPERATORS_REVOKED: 'not a name!',
    });
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/OPS_OPERATORS: operator alice has the same token as ops/),
        expect.stringMatching(/OPS_OPERATORS: an entry is not name:sha256hex/),
        expect.stringMatching(/OPS_OPERATORS: operator ops is listed twice/),
        expect.stringMatching(/OPS_OPERATORS_FILE: cannot read \/nonexistent\/operators \(ENOENT\)/),
        expect.stringMatching(/OPS_OPERATORS_REVOKED: an entry is neither/),
      ]),
    );
  });

  it('when production has neither OPS_API_TOKEN nor named operators, then it is refused saying both ways', () => {
    expect(problems({ APP_ENV: 'production' }).some((x) => /OPS_API_TOKEN: required when APP_ENV=production, unless operators are named/.test(x))).toBe(true);
  });
});

describe('listeners', () => {
  it('when nothing is set, then the internal listener is 8081 on HOST, and the drain delay 5 s', () => {
    const c = loadConfig({ HOST: '10.0.0.5' });
    expect(c.http).toMatchObject({ host: '10.0.0.5', port: 8080, internalHost: '10.0.0.5', internalPort: 8081, drainDelayMs: 5000 });
    expect(loadConfig({ INTERNAL_HOST: '127.0.0.1', INTERNAL_PORT: '9000' }).http).toMatchObject({ internalHost: '127.0.0.1', internalPort: 9000 });
  });

  it('when INTERNAL_PORT equals PORT on the same host, then loading fails (0, any free port, is allowed for both)', () => {
    expect(problems({ PORT: '8080', INTERNAL_PORT: '8080' })).toEqual([expect.stringMatching(/INTERNAL_PORT: must differ from PORT/)]);
    expect(problems({ PORT: '0', INTERNAL_PORT: '0' })).toEqual([]);
    expect(problems({ PORT: '8080', INTERNAL_PORT: '8080', INTERNAL_HOST: '127.0.0.2' })).toEqual([]);
  });
});
