import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BODY_SIGN_HEADER, verifyBodySignHeader } from './koogallery.js';
import type { SignedV2 } from './signing.js';

// An open-loop load generator: request i is sent at t0 + i/rate whether or not earlier ones were answered, and its
// latency counts from that scheduled time. Why not autocannon for B1/B2: autocannon is closed-loop per connection
// (a connection sends its next request only after the previous answer); with a rate limit it sends less than
// asked once the service slows down and times each request from when it was actually sent, so queueing in front
// of a saturated service disappears from its percentiles (coordinated omission). The knee search and B2's "2× the
// knee" need the rate actually offered and the latency a marketplace would see. (B3's "50 concurrent callers" is
// closed-loop by definition: it uses autocannon.)

/** One answered (or failed) request. */
export interface Outcome {
  /** Scheduled send time, ms since the step began. */
  readonly at: number;
  /** From the scheduled send time to the last byte of the answer (or to the failure). */
  readonly latencyMs: number;
  /** resultCode of the answer, or 'http-<status>', 'timeout', 'error'. */
  readonly code: string;
  readonly bodySignValid: boolean;
  readonly tag?: string;
}

/** What a step produced. */
export interface OpenLoopResult {
  readonly offeredRate: number;
  readonly durationMs: number;
  readonly sent: number;
  readonly outcomes: Outcome[];
  /** From the first scheduled send to the last answer. */
  readonly spanMs: number;
  /** How late the generator itself sent requests (its own event loop lag), p99 in ms. */
  readonly generatorLagP99Ms: number;
}

/** Runs one open-loop step: `make(i)` builds request i (signed at send time). */
export async function openLoop(o: {
  host: string;
  port: number;
  rate: number;
  durationMs: number;
  timeoutMs: number;
  /** Verifies each answer's Body-Sign with it, as the marketplace does. */
  accessKey: string;
  make: (i: number) => { req: SignedV2; tag?: string };
}): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const total = Math.max(1, Math.round((o.rate * o.durationMs) / 1000));
  const interval = 1000 / o.rate;
  const outcomes: Outcome[] = [];
  const t0 = performance.now();
  let lastAnswer = t0;
  let sent = 0;
  const inflight = new Set<Promise<void>>();

  const send = (i: number): void => {
    const scheduled = i * interval;
    const { req, tag } = o.make(i);
    const p = postSigned({ ...o, agent, req }).then(({ code, bodySignValid }) => {
      const now = performance.now();
      lastAnswer = Math.max(lastAnswer, now);
      outcomes.push({ at: scheduled, latencyMs: now - t0 - scheduled, code, bodySignValid, ...(tag ? { tag } : {}) });
    });
    inflight.add(p);
    void p.then(() => inflight.delete(p));
    sent++;
  };

  // Send everything that is due, then sleep until the next request is due (timers are ~1 ms granular).
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - t0;
      while (next < total && next * interval <= elapsed) send(next++);
      if (next >= total) return resolve();
      setTimeout(tick, Math.max(0, next * interval - (performance.now() - t0) - 0.5));
    };
    tick();
  });
  await Promise.all(inflight);
  lag.disable();
  agent.destroy();
  return {
    offeredRate: o.rate,
    durationMs: o.durationMs,
    sent,
    outcomes,
    spanMs: lastAnswer - t0,
    generatorLagP99Ms: Math.round(lag.percentile(99) / 1e4) / 100,
  };
}

/**
 * POSTs one signed V2 request and reads its answer: the resultCode (or 'http-<status>', 'timeout', 'error',
 * 'unparsable') and whether its Body-Sign verifies with `accessKey`, as the marketplace checks it. Never rejects.
 */
export function postSigned(o: { host: string; port: number; agent: Agent; req: SignedV2; timeoutMs: number; accessKey: string }): Promise<{ code: string; bodySignValid: boolean }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (code: string, bodySignValid: boolean) => {
      if (done) return;
      done = true;
      resolve({ code, bodySignValid });
    };
    const r = request(
      { host: o.host, port: o.port, method: 'POST', path: o.req.path, agent: o.agent, headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Content-Length': o.req.body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => finish('error', false));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          if (res.statusCode !== 200) return finish(`http-${res.statusCode}`, false);
          let code = 'unparsable';
          try {
            code = String((JSON.parse(body.toString('utf8')) as { resultCode?: unknown }).resultCode);
          } catch {
            /* counted as unparsable */
          }
          const header = res.headers[BODY_SIGN_HEADER.toLowerCase()];
          finish(code, verifyBodySignHeader(o.accessKey, typeof header === 'string' ? header : undefined, body));
        });
      },
    );
    r.setTimeout(o.timeoutMs, () => {
      finish('timeout', false);
      r.destroy();
    });
    r.on('error', () => finish('error', false));
    r.end(o.req.body);
  });
}
