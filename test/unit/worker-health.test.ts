import { describe, expect, it } from 'vitest';
import { judgePolling, sameHostIdentity, type PollerSighting } from '../../src/platform/temporal/worker-health.js';

// The judgement of the worker's health check (the server side is in test/integration/foundation/worker-health.test.ts).

const now = new Date('2026-01-01T00:10:00Z');
const ago = (seconds: number): Date => new Date(now.getTime() - seconds * 1000);
const opts = { isOurs: sameHostIdentity('pod-a'), maxAgeMs: 120_000, now };

describe('sameHostIdentity', () => {
  it('matches the SDK default identity pid@host of this host only', () => {
    const ours = sameHostIdentity('pod-a');
    expect(ours('7@pod-a')).toBe(true);
    expect(ours('12345@pod-a')).toBe(true);
    expect(ours('7@pod-ab')).toBe(false);
    expect(ours('7@pod')).toBe(false);
    expect(ours('pod-a')).toBe(false);
    expect(ours('')).toBe(false);
  });
});

describe('judgePolling', () => {
  const fresh = (identity: string, seconds: number): PollerSighting => ({ identity, lastAccessTime: ago(seconds) });

  it('is healthy when our freshest poll of each type is within the limit, whatever other hosts do', () => {
    const h = judgePolling(
      { workflow: [fresh('1@pod-b', 1), fresh('7@pod-a', 300), fresh('7@pod-a', 30)], activity: [fresh('7@pod-a', 119)] },
      opts,
    );
    expect(h.healthy).toBe(true);
    expect(h.types.workflow).toEqual({ ok: true, identity: '7@pod-a', ageMs: 30_000 });
    expect(h.types.activity.ageMs).toBe(119_000);
  });

  it('is unhealthy when one type has no poller of ours, even if other hosts poll it', () => {
    const h = judgePolling({ workflow: [fresh('7@pod-a', 5)], activity: [fresh('1@pod-b', 5)] }, opts);
    expect(h.healthy).toBe(false);
    expect(h.types.workflow.ok).toBe(true);
    expect(h.types.activity).toEqual({ ok: false, problem: 'no activity poller of this worker (pollers seen: 1)' });
  });

  it('is unhealthy when our last poll is older than the limit, or has no time', () => {
    const stale = judgePolling({ workflow: [fresh('7@pod-a', 121)], activity: [fresh('7@pod-a', 5)] }, opts);
    expect(stale.healthy).toBe(false);
    expect(stale.types.workflow).toMatchObject({ ok: false, ageMs: 121_000, problem: 'last workflow poll 121 s ago (limit 120 s)' });
    const timeless = judgePolling({ workflow: [{ identity: '7@pod-a', lastAccessTime: undefined }], activity: [fresh('7@pod-a', 5)] }, opts);
    expect(timeless.healthy).toBe(false);
    expect(timeless.types.workflow.problem).toMatch(/no last access time/);
  });

  it('is unhealthy when nobody polls at all', () => {
    const h = judgePolling({ workflow: [], activity: [] }, opts);
    expect(h.healthy).toBe(false);
    expect(h.types.workflow.problem).toMatch(/pollers seen: 0/);
  });
});
