import { PROC } from './context.js';
import type { CpuReport } from './proc-stats.js';

const SHORT: Record<string, string> = {
  [PROC.bench]: 'bench',
  [PROC.service]: 'service',
  [PROC.api]: 'api',
  [PROC.worker1]: 'worker1',
  [PROC.temporal]: 'temporal',
  [PROC.pgBench]: 'pg(ours)',
  [PROC.pgTemporal]: 'pg(temporal)',
  [PROC.worker2]: 'worker2',
  [PROC.pgRest]: 'pg(rest)',
};

/** "machine 1.9/2 cores: temporal 0.8, service 0.6, …, other 0.3" — the CPU picture of a window in one line. */
export function cpuLine(c: CpuReport): string {
  const parts = Object.entries(c.processes)
    .filter(([name]) => name !== PROC.pgRest)
    .sort((a, b) => b[1].cores - a[1].cores)
    .map(([name, u]) => `${SHORT[name] ?? name} ${u.cores.toFixed(2)}`);
  return `machine ${c.machine.cores.toFixed(2)}/${c.machine.capacityCores} cores: ${parts.join(', ')}, other ${c.other.cores.toFixed(2)}`;
}

/** CPU milliseconds per unit of work, by process (e.g. per completed purchase). */
export function cpuMsPer(c: CpuReport, units: number): Record<string, number> {
  const out: Record<string, number> = {};
  if (units <= 0) return out;
  for (const [name, u] of Object.entries(c.processes)) out[SHORT[name] ?? name] = Math.round((u.cpuSeconds * 1000 * 10) / units) / 10;
  return out;
}

/** Sum of our processes' CPU ms per unit (everything but pg(rest) and other). */
export function oursCpuMsPer(c: CpuReport, units: number): number {
  let ms = 0;
  for (const [name, u] of Object.entries(c.processes)) if (name !== PROC.pgRest) ms += u.cpuSeconds * 1000;
  return units > 0 ? Math.round((ms / units) * 10) / 10 : Number.NaN;
}

/**
 * The serving side's CPU ms per unit from a `cpuMsPer` record: every process but the load generator (in B1 it plays
 * the marketplace: signing requests, reading answers) and pg(rest). What the deployment pays per purchase.
 */
export function servingCpuMs(perUnit: Record<string, number>): number {
  let ms = 0;
  for (const [name, v] of Object.entries(perUnit)) if (name !== SHORT[PROC.bench] && name !== SHORT[PROC.pgRest]) ms += v;
  return Math.round(ms * 10) / 10;
}

/** A window in which other engineers' processes took more than half a core: its figures are noisy. */
export function noisy(c: CpuReport): boolean {
  return c.other.cores > 0.5;
}

