import { z } from 'zod';
import { withDeadline } from '../deadline.js';
import type { Answer } from './openapi.js';

// Readiness of a process that serves traffic: named checks of its dependencies, and the drain switch. A check is
// named outside the function that runs it, so a throw or a timeout is still reported under its own name.

/** One dependency check: its name, and a probe that resolves (ok or not, with a detail) or throws. */
export interface ReadinessCheck {
  readonly name: string;
  readonly probe: () => Promise<{ ok: boolean; detail?: string }>;
}

/** What GET /readyz answers: 200 when `status` is ready, else 503 (`checks` says why; none while draining). */
export const readinessReportSchema = z.object({
  status: z.enum(['ready', 'not ready', 'draining']),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string().optional() })),
});

/** What GET /readyz answers. */
export type ReadinessReport = Answer<typeof readinessReportSchema>;
/** One check's outcome, as GET /readyz lists it. */
export type CheckResult = ReadinessReport['checks'][number];

/** The readiness of one process. */
export interface Readiness {
  /** Runs every check (each within the timeout), unless the process is draining. */
  report(): Promise<ReadinessReport>;
  /** From now on the process reports `draining` (503): load balancers stop sending it new calls. */
  startDrain(): void;
  readonly draining: boolean;
}

/** Creates the readiness of a process from its checks; each check gets `timeoutMs` (default 2000 ms). */
export function createReadiness(checks: readonly ReadinessCheck[], o: { timeoutMs?: number } = {}): Readiness {
  const timeoutMs = o.timeoutMs ?? 2000;
  let draining = false;
  const run = async (c: ReadinessCheck): Promise<CheckResult> => {
    try {
      const r = await withDeadline(c.probe(), timeoutMs, () => new Error(`timed out after ${timeoutMs} ms`));
      return { name: c.name, ok: r.ok, ...(r.detail !== undefined ? { detail: r.detail } : {}) };
    } catch (err) {
      return { name: c.name, ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  };
  return {
    async report() {
      // Draining is decided by the process, not by its dependencies: answer at once, without asking them.
      if (draining) return { status: 'draining', checks: [] };
      const results = await Promise.all(checks.map(run));
      return { status: results.every((c) => c.ok) ? 'ready' : 'not ready', checks: results };
    },
    startDrain() {
      draining = true;
    },
    get draining() {
      return draining;
    },
  };
}
