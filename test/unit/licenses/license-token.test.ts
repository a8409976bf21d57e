import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { LicenseClaims } from '../../../src/licenses/contract.js';
import { createLicenseKeyRing, generateLicenseJwk, parseLicenseKeySet, pickActiveKid, publicJwk, type LicenseJwk } from '../../../src/licenses/key-settings.js';
import { createLicenseSigner } from '../../../src/licenses/license-token.js';
import { verifyLicense } from '../../../src/licenses/verify.js';

const OLD: LicenseJwk = { kty: 'OKP', crv: 'Ed25519', kid: 'k-2024', x: 'NMHnq_gCzDMqmEbvv9Tk5AZ_NK-w52Sg_gLH7buyrlo', d: 'TddzoQtrKLVh4sjY0tHqVUEo8oew5pvAELOyZT2b0IE' };
const NEW: LicenseJwk = { kty: 'OKP', crv: 'Ed25519', kid: 'k-2025', x: '5nQAA7VC9xCBmIBUkjdYRR3vhCQqibxlNB7TZ5z4mvI', d: 'FnAGytF3xcCeWRHVoU0mGfFWuQCtisDuD39duaGdQqo' };
const { d: _oldPrivate, ...OLD_RETIRED } = OLD;

const NOW = Math.floor(Date.now() / 1000);
const claims = (over: Partial<LicenseClaims> = {}): LicenseClaims => ({
  licenseId: 'lic-0001',
  family: 'ONLINE_LICENSE',
  instanceId: 'inst-0001',
  productId: 'prod-1',
  skuCode: 'sku-1',
  customerId: 'cust-1',
  effectiveTime: new Date((NOW - 60) * 1000).toISOString(),
  expireTime: new Date((NOW + 86_400) * 1000).toISOString(),
  eventId: 'evt-1',
  deviceFingerprint: 'AA:BB:CC:DD:EE:FF|DISK1|BOARD1|CPU1',
  quota: 10,
  iat: NOW,
  nbf: NOW - 60,
  exp: NOW + 86_400,
  ...over,
});

const signerFor = (keys: LicenseJwk[], kid: string) => createLicenseSigner(createLicenseKeyRing(keys, kid), { issuer: 'test-issuer' });
const jwksOf = (keys: LicenseJwk[]) => ({ keys: keys.map(publicJwk) });

describe('license signing and verification', () => {
  it('when a license is signed, then it verifies against the JWKS and carries every claim, kid and issuer', async () => {
    const token = await signerFor([OLD], OLD.kid).sign(claims());
    expect(token.split('.')).toHaveLength(3);
    const result = await verifyLicense(token, jwksOf([OLD]));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.kid).toBe('k-2024');
    expect(result.claims).toMatchObject({ ...claims(), iss: 'test-issuer', sub: 'inst-0001', jti: 'lic-0001' });
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8'));
    expect(header).toEqual({ alg: 'EdDSA', kid: 'k-2024', typ: 'JWT' });
  });

  it('when the same claims are signed twice with the same key, then the bytes are identical', async () => {
    const signer = signerFor([OLD], OLD.kid);
    expect(await signer.sign(claims())).toBe(await signer.sign(claims()));
  });

  it('when any single byte of the license is changed, then it no longer verifies', async () => {
    const token = await signerFor([OLD], OLD.kid).sign(claims());
    const jwks = jwksOf([OLD]);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const failures: string[] = [];
    for (let i = 0; i < token.length; i++) {
      const c = token[i]!;
      // The next character of the base64url alphabet (or a letter for the dots): a change inside the alphabet is the
      // hard case, because it still decodes.
      const replacement = c === '.' ? 'A' : alphabet[(alphabet.indexOf(c) + 1) % alphabet.length]!;
      const changed = token.slice(0, i) + replacement + token.slice(i + 1);
      const result = await verifyLicense(changed, jwks);
      if (result.ok) failures.push(`position ${i}`);
    }
    expect(failures).toEqual([]);
  });

  it('when the key is removed from the JWKS, then the license fails as signed by an unknown key', async () => {
    const token = await signerFor([OLD, NEW], OLD.kid).sign(claims());
    const result = await verifyLicense(token, jwksOf([NEW]));
    expect(result).toMatchObject({ ok: false, reason: 'unknown key' });
  });

  it('when the key was rotated and the old one retired (public part only), then old licenses still verify and new ones use the new kid', async () => {
    const before = await signerFor([OLD], OLD.kid).sign(claims());
    const afterRotation = parseLicenseKeySet(JSON.stringify({ keys: [OLD_RETIRED, NEW] }));
    expect(afterRotation.problems).toEqual([]);
    expect(pickActiveKid(afterRotation.keys, undefined)).toEqual({ kid: 'k-2025' });
    const ring = createLicenseKeyRing(afterRotation.keys, 'k-2025');
    expect(ring.jwks.keys.map((k) => k.kid)).toEqual(['k-2024', 'k-2025']);
    expect(JSON.stringify(ring.jwks)).not.toContain(NEW.d);
    const old = await verifyLicense(before, ring.jwks);
    expect(old).toMatchObject({ ok: true, kid: 'k-2024' });
    const fresh = await createLicenseSigner(ring, { issuer: 'test-issuer' }).sign(claims({ licenseId: 'lic-0002' }));
    expect(await verifyLicense(fresh, ring.jwks)).toMatchObject({ ok: true, kid: 'k-2025' });
  });

  it('when a license is outside its time window, then it fails as not yet valid or expired, and passes with the time check off', async () => {
    const signer = signerFor([OLD], OLD.kid);
    const future = await signer.sign(claims({ nbf: NOW + 3600 }));
    const past = await signer.sign(claims({ nbf: NOW - 10_800, exp: NOW - 3600 }));
    expect(await verifyLicense(future, jwksOf([OLD]))).toMatchObject({ ok: false, reason: 'not yet valid' });
    expect(await verifyLicense(past, jwksOf([OLD]))).toMatchObject({ ok: false, reason: 'expired' });
    expect((await verifyLicense(past, jwksOf([OLD]), { at: false })).ok).toBe(true);
    expect((await verifyLicense(past, jwksOf([OLD]), { at: new Date((NOW - 7200) * 1000) })).ok).toBe(true);
  });

  it('when the input is not a license at all, then the reason is malformed, never an exception', async () => {
    for (const bad of ['', 'abc', 'a.b', 'a.b.c.d', '!!!.???.###', 'eyJhbGciOiJub25lIn0.e30.']) {
      expect(await verifyLicense(bad, jwksOf([OLD]))).toMatchObject({ ok: false });
    }
  });
});

describe('license key configuration', () => {
  it('when keys are malformed, then each problem names the key but never its private part', () => {
    const text = JSON.stringify({ keys: [{ ...OLD, x: NEW.x }, OLD, OLD, { kty: 'RSA', kid: 'r' }] });
    const { keys, problems } = parseLicenseKeySet(text);
    expect(keys.map((k) => k.kid)).toEqual(['k-2024']);
    expect(problems).toEqual([
      'key k-2024: d does not belong to x',
      'key k-2024: kid appears twice',
      expect.stringContaining('key 3: kty must be "OKP"'),
    ]);
    expect(problems.join(' ')).not.toContain(OLD.d);
    expect(parseLicenseKeySet('not json').problems).toEqual(['is not JSON']);
    expect(parseLicenseKeySet('{"keys":[]}').problems).toEqual(['holds no key']);
  });

  it('when the active kid is retired, unknown or ambiguous, then it is refused', () => {
    expect(pickActiveKid([OLD_RETIRED as LicenseJwk, NEW], 'k-2024').problem).toMatch(/retired key cannot sign/);
    expect(pickActiveKid([OLD, NEW], 'nope').problem).toMatch(/not in the key set/);
    expect(pickActiveKid([OLD, NEW], undefined).problem).toMatch(/name the active one/);
    expect(pickActiveKid([OLD, NEW], 'k-2024')).toEqual({ kid: 'k-2024' });
  });

  it('when a key is generated, then it signs and verifies under its kid', async () => {
    const jwk = generateLicenseJwk('gen-1');
    expect(parseLicenseKeySet(JSON.stringify([jwk])).problems).toEqual([]);
    const token = await signerFor([jwk], 'gen-1').sign(claims());
    expect(await verifyLicense(token, jwksOf([jwk]))).toMatchObject({ ok: true, kid: 'gen-1' });
  });
});

describe('npm run license:verify', () => {
  const run = promisify(execFile);
  const cli = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/licenses/verify-cli.ts', ...args], { cwd: process.cwd() }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );

  it('when the license is valid, then it exits 0 with the claims; changed or unknown-key licenses exit 1 with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'license-cli-'));
    const token = await signerFor([OLD], OLD.kid).sign(claims());
    writeFileSync(join(dir, 'license.jwt'), `${token}\n`);
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf([OLD])));
    writeFileSync(join(dir, 'other-jwks.json'), JSON.stringify(jwksOf([NEW])));
    const i = token.lastIndexOf('.') + 5;
    writeFileSync(join(dir, 'changed.jwt'), token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1));

    const ok = await cli([join(dir, 'license.jwt'), '--jwks', join(dir, 'jwks.json')]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, kid: 'k-2024', claims: { licenseId: 'lic-0001', quota: 10 } });

    const changed = await cli([join(dir, 'changed.jwt'), '--jwks', join(dir, 'jwks.json')]);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain('INVALID: signature invalid');

    const unknown = await cli([join(dir, 'license.jwt'), '--jwks', join(dir, 'other-jwks.json')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('INVALID: unknown key');

    const usage = await cli([]);
    expect(usage.code).toBe(2);
  }, 60_000);
});
