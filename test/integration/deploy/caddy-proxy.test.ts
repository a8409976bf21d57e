import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions, type SecureVersion } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCaddy } from '../../../scripts/infra/caddy.js';
import { portOpen, waitFor } from '../../../scripts/infra/proc.js';

// deploy/caddy/Caddyfile, the TLS edge the marketplace calls: `caddy validate` on the file as shipped, then the same
// file run by a real Caddy (v2.11.9, scripts/infra/caddy.ts) in front of a stub of the API's public port. For the run only, global
// options are added so it works offline on free ports (a local CA instead of ACME, no admin endpoint); the site
// block, which is what routes and terminates TLS, is the shipped one unchanged.

const CADDYFILE = join(process.cwd(), 'deploy/caddy/Caddyfile');
const DOMAIN = 'orders.koogallery.test';

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

interface Seen {
  method: string;
  url: string;
  body: Buffer;
  headers: IncomingMessage['headers'];
}
interface Answer {
  status: number;
  rawHeaders: string[];
  body: string;
  alpn: string | false | null;
  tlsVersion: string | null;
}

describe('deploy/caddy/Caddyfile (real Caddy)', () => {
  let caddy: string;
  let dir: string;
  let upstream: Server;
  let proxy: ChildProcess | undefined;
  let httpsPort: number;
  let httpPort: number;
  const seen: Seen[] = [];

  const validate = (env: Record<string, string>): Promise<{ code: number; output: string }> =>
    new Promise((resolve) => {
      execFile(caddy, ['validate', '--config', CADDYFILE, '--adapter', 'caddyfile'], { env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, ...env }, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, output: stdout + stderr }),
      );
    });

  const call = (path: string, o: { method?: string; body?: string; alpn?: string[]; maxVersion?: SecureVersion } = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      // ALPN is a TLS option that https.request passes on, though its options type does not list it.
      const options: RequestOptions & Pick<ConnectionOptions, 'ALPNProtocols'> = {
        host: '127.0.0.1',
        port: httpsPort,
        servername: DOMAIN,
        path,
        method: o.method ?? 'GET',
        headers: { host: DOMAIN, ...(o.body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(o.body) } : {}) },
        // Caddy's local CA (test only): the chain is not what is under test, the routing and the TLS settings are.
        rejectUnauthorized: false,
        ALPNProtocols: o.alpn ?? ['h2', 'http/1.1'],
        ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}),
        agent: false,
      };
      const req = httpsRequest(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const socket = res.socket as unknown as { alpnProtocol?: string | false | null; getProtocol?: () => string | null };
          resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8'), alpn: socket.alpnProtocol ?? null, tlsVersion: socket.getProtocol?.() ?? null });
        });
      });
      req.on('error', reject);
      req.end(o.body);
    });

  beforeAll(async () => {
    caddy = ensureCaddy();
    dir = mkdtempSync(join(tmpdir(), 'caddy-test-'));
    // The API's public port, as a stub that records what reaches it and answers with a Body-Sign header.
    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks), headers: req.headers });
        res.writeHead(200, [
          ['Content-Type', 'application/json;charset=UTF-8'],
          ['Body-Sign', 'sign_type="HMAC-SHA256", signature= "c3R1Yg=="'],
        ]);
        res.end('{"resultCode":"000000","resultMsg":"success."}');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    [httpsPort, httpPort] = [await freePort(), await freePort()];

    const shipped = readFileSync(CADDYFILE, 'utf8');
    const testOptions = ['\tadmin off', '\tlocal_certs', '\tskip_install_trust', `\thttp_port ${httpPort}`, `\thttps_port ${httpsPort}`, `\tstorage file_system ${join(dir, 'data')}`].join('\n');
    const globalStart = shipped.indexOf('\n{\n');
    expect(globalStart, 'the Caddyfile opens with a global options block').toBeGreaterThanOrEqual(0);
    const testFile = join(dir, 'Caddyfile');
    writeFileSync(testFile, `${shipped.slice(0, globalStart + 3)}${testOptions}\n${shipped.slice(globalStart + 3)}`);

    proxy = spawn(caddy, ['run', '--config', testFile, '--adapter', 'caddyfile'], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, KOOGALLERY_DOMAIN: DOMAIN, KOOGALLERY_UPSTREAM: `127.0.0.1:${upstreamPort}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    proxy.stderr!.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    await waitFor('caddy', () => portOpen(httpsPort), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${log}`);
    });
    // The local CA issues the site's certificate right after start.
    await waitFor('a certificate for the site', () => call('/koogallery/saas').then(() => true, () => false), 30_000);
    seen.length = 0;
  }, 120_000);

  afterAll(async () => {
    if (proxy && proxy.exitCode === null) {
      const exited = new Promise((r) => proxy!.once('exit', r));
      proxy.kill('SIGTERM');
      await exited;
    }
    await new Promise((r) => upstream?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is a valid Caddyfile with a domain, and refuses to run without one', async () => {
    const ok = await validate({ KOOGALLERY_DOMAIN: 'orders.example.com' });
    expect(ok.code, ok.output).toBe(0);
    expect(ok.output).toContain('Valid configuration');
    const missing = await validate({});
    expect(missing.code).not.toBe(0);
  });

  it('forwards a V2 call on /koogallery/saas byte for byte, query included, and returns Body-Sign as the API wrote it', async () => {
    const body = '{"activity":"newInstance","businessId":"87b94795","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","testFlag":"1"}\n';
    const r = await call('/koogallery/saas?signature=abc&timestamp=1660040000000&nonce=n1', { method: 'POST', body });
    expect(r.status).toBe(200);
    expect(r.body).toBe('{"resultCode":"000000","resultMsg":"success."}');
    // The exact header name on the wire: HTTP/1.1 was negotiated although the client offered h2.
    expect(r.alpn).toBe('http/1.1');
    expect(r.rawHeaders).toContain('Body-Sign');
    expect(r.rawHeaders[r.rawHeaders.indexOf('Body-Sign') + 1]).toBe('sign_type="HMAC-SHA256", signature= "c3R1Yg=="');
    expect(r.rawHeaders).not.toContain('Server');
    const hsts = r.rawHeaders.indexOf('Strict-Transport-Security');
    expect(r.rawHeaders[hsts + 1]).toBe('max-age=31536000');

    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe('POST');
    expect(seen[0]!.url).toBe('/koogallery/saas?signature=abc&timestamp=1660040000000&nonce=n1');
    expect(seen[0]!.body.equals(Buffer.from(body))).toBe(true);
    expect(seen[0]!.headers.host).toBe(DOMAIN);
    expect(seen[0]!.headers['x-forwarded-proto']).toBe('https');

    const notification = await call('/koogallery/order-notification', { method: 'POST', body: '{}' });
    expect(notification.status).toBe(200);
    expect(seen.at(-1)!.url).toBe('/koogallery/order-notification');
  });

  it('answers 404 itself for everything outside /koogallery/: the internal endpoints are never reached', async () => {
    seen.length = 0;
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/ops/orders', '/', '/koogallery', '/koogallery-saas', '/koogallery/../healthz', '/koogallery/%2e%2e/ops/orders']) {
      const r = await call(path);
      expect(r.status, path).toBe(404);
    }
    expect(seen.map((s) => s.url)).toEqual([]);
  });

  it('speaks TLS 1.2 and 1.3 only, and redirects plain HTTP to HTTPS', async () => {
    expect((await call('/koogallery/saas', { maxVersion: 'TLSv1.2' })).tlsVersion).toBe('TLSv1.2');
    expect((await call('/koogallery/saas')).tlsVersion).toBe('TLSv1.3');
    const old = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: httpsPort, servername: DOMAIN, rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }, () => {
        resolve(`connected with ${s.getProtocol()}`);
        s.destroy();
      });
      s.on('error', (err) => resolve(`refused: ${err.message}`));
    });
    expect(old).toMatch(/^refused/);

    const redirect = await new Promise<{ status: number; location?: string }>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: httpPort, path: '/koogallery/saas', headers: { host: DOMAIN } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}) });
      })
        .on('error', reject)
        .end();
    });
    expect(redirect.status).toBe(308);
    expect(redirect.location).toContain(`https://${DOMAIN}`);
  });
});
