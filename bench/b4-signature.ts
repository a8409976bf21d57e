import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { bodySignHeaderValue, computeV2Signature, verifyV2Signature } from '../src/koogallery/index.js';
import { selfCpuMs } from './lib/proc-stats.js';
import type { BenchResult } from './lib/results.js';
import { r } from './lib/stats.js';

// B4: the CPU cost of the protocol's cryptography per request — V2 signature verification of a typical 200-byte
// body plus the Body-Sign of the answer — with the src/koogallery functions themselves, single-threaded, timed in
// CPU time (process.cpuUsage), so "per second per core" holds on a machine others are using.

const ACCESS_KEY = 'TestAccessKey-0123456789';

/** A typical V2 newInstance body of ~200 bytes. */
function typicalBody(): Buffer {
  const body = {
    activity: 'newInstance',
    orderId: 'CS2511240138ABCDE',
    orderLineId: 'CS2511240138ABCDE-000001',
    businessId: '0f4b7c1e-5a3d-4e8b-9c2f-1d6e7a8b9c0d',
    testFlag: '0',
    extra: 'x'.repeat(40),
  };
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** A typical newInstance answer (what the Body-Sign covers). */
const ANSWER = Buffer.from(JSON.stringify({ resultCode: '000000', resultMsg: 'success.', instanceId: '0f4b7c1e-5a3d-4e8b-9c2f-1d6e7a8b9c0d' }), 'utf8');

function measure(label: string, budgetMs: number, op: () => void): { label: string; ops: number; cpuMs: number; perCoreSecond: number; usPerOp: number } {
  for (let i = 0; i < 2000; i++) op(); // warm-up: JIT and OpenSSL contexts
  let ops = 0;
  const c0 = selfCpuMs();
  const t0 = performance.now();
  while (performance.now() - t0 < budgetMs) {
    for (let i = 0; i < 500; i++) op();
    ops += 500;
  }
  const cpuMs = selfCpuMs() - c0;
  return { label, ops, cpuMs: r(cpuMs, 1), perCoreSecond: Math.round((ops / cpuMs) * 1000), usPerOp: r((cpuMs * 1000) / ops, 2) };
}

/** Runs B4. */
export async function runB4(): Promise<BenchResult> {
  const started = new Date();
  const t0 = performance.now();
  const body = typicalBody();
  // Pre-signed requests with distinct nonces, as a stream of real calls would have.
  const now = Date.now();
  const calls = Array.from({ length: 1024 }, () => {
    const nonce = randomBytes(16).toString('hex');
    const timestamp = String(now);
    return { signature: computeV2Signature(ACCESS_KEY, { nonce, timestamp, body }), timestamp, nonce };
  });
  let k = 0;
  const verify = () => {
    const c = calls[k++ & 1023]!;
    if (!verifyV2Signature(ACCESS_KEY, c, body, { nowMs: now, toleranceMs: 60_000 }).ok) throw new Error('B4: signature did not verify');
  };
  const sign = () => void bodySignHeaderValue(ACCESS_KEY, ANSWER);
  const both = () => {
    verify();
    sign();
  };
  const v = measure('verifyV2Signature (200-byte body)', 2500, verify);
  const s = measure('bodySignHeaderValue (answer)', 2500, sign);
  const b = measure('verify + Body-Sign (one request)', 3000, both);
  return {
    id: 'B4',
    title: 'Signature cost: V2 verification + Body-Sign per second per core',
    startedAt: started.toISOString(),
    durationSeconds: r((performance.now() - t0) / 1000, 1),
    headline: `${b.perCoreSecond.toLocaleString('en-US')} verify+Body-Sign /s/core (${b.usPerOp} µs each)`,
    targets: [],
    limitedBy: 'one core, CPU-bound (3 HMAC-SHA256: payload hash, signature, Body-Sign; + hex/base64 encoding)',
    details: { bodyBytes: body.length, answerBytes: ANSWER.length, measurements: [v, s, b] },
  };
}
