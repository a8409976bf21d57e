import { readFileSync, readdirSync } from 'node:fs';
import { r } from './stats.js';

// CPU time and memory of the processes a benchmark involves, read from /proc (Linux): children by pid, this
// process with process.cpuUsage(), the whole machine from /proc/stat. The machine is shared with other engineers'
// test runs, so every result records the machine's total CPU next to ours: "other" is everything that is not us.

const CLK_TCK = 100; // USER_HZ on every Linux this runs on (getconf CLK_TCK); /proc/<pid>/stat counts in these ticks.

/** CPU time (user + system, all threads) of a process in ms, or undefined when it is gone. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses: split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, i.e. 12 and 13 after comm and state.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Parent pid of a process, or undefined. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Resident set size of a process in KiB (VmRSS), or undefined. */
export function processRssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Pids whose parent is `ppid`. */
export function childPids(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (parentPid(Number(name)) === ppid) out.push(Number(name));
  }
  return out;
}

/** Busy and total CPU time of the whole machine in ms (all cores), from /proc/stat. */
export function machineCpuMs(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: ((total - idle) * 1000) / CLK_TCK, total: (total * 1000) / CLK_TCK };
}

/** This process's CPU time (all threads) in ms. */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** A named source of CPU time: this process, one pid, or a changing set of pids (e.g. database backends). */
export type CpuSource =
  | { readonly name: string; readonly kind: 'self' }
  | { readonly name: string; readonly kind: 'pid'; readonly pid: () => number | undefined }
  | { readonly name: string; readonly kind: 'pids'; readonly pids: () => number[] | Promise<number[]> };

/** CPU used by one source over a window. */
export interface CpuUse {
  /** CPU seconds used in the window. */
  readonly cpuSeconds: number;
  /** cpuSeconds / wall seconds: 1.0 = one core fully busy. */
  readonly cores: number;
}

/** The CPU of every source over a window, plus the machine's. */
export interface CpuReport {
  readonly wallSeconds: number;
  readonly processes: Record<string, CpuUse>;
  /** All cores of the machine, every process (other engineers' included). */
  readonly machine: CpuUse & { readonly capacityCores: number };
  /** machine − (sum of the processes that are ours): other engineers, kernel, anything else. */
  readonly other: CpuUse;
}

async function snapshot(sources: readonly CpuSource[]): Promise<Map<string, Map<number, number>>> {
  const snap = new Map<string, Map<number, number>>();
  for (const s of sources) {
    const m = new Map<number, number>();
    if (s.kind === 'self') m.set(process.pid, selfCpuMs());
    else if (s.kind === 'pid') {
      const pid = s.pid();
      const ms = pid !== undefined ? processCpuMs(pid) : undefined;
      if (pid !== undefined && ms !== undefined) m.set(pid, ms);
    } else {
      for (const pid of await s.pids()) {
        const ms = processCpuMs(pid);
        if (ms !== undefined) m.set(pid, ms);
      }
    }
    snap.set(s.name, m);
  }
  return snap;
}

/**
 * Measures CPU over windows: `const w = await meter.begin(); …; const report = await w.end()`.
 * A pid that appears during the window counts its whole CPU time (it started inside the window); one that exits
 * during the window is lost (pool connections stay open under load, so this is rare and small).
 */
export function cpuMeter(sources: readonly CpuSource[], opts: { notOurs?: readonly string[] } = {}) {
  const notOurs = new Set(opts.notOurs ?? []);
  return {
    async begin() {
      const t0 = performance.now();
      const m0 = machineCpuMs();
      const s0 = await snapshot(sources);
      return {
        async end(): Promise<CpuReport> {
          const s1 = await snapshot(sources);
          const m1 = machineCpuMs();
          const wall = (performance.now() - t0) / 1000;
          const processes: Record<string, CpuUse> = {};
          let ours = 0;
          for (const s of sources) {
            const before = s0.get(s.name) ?? new Map<number, number>();
            let ms = 0;
            for (const [pid, v] of s1.get(s.name) ?? new Map<number, number>()) ms += v - (before.get(pid) ?? 0);
            processes[s.name] = { cpuSeconds: r(ms / 1000, 2), cores: r(ms / 1000 / wall, 2) };
            if (!notOurs.has(s.name)) ours += ms;
          }
          const machineMs = m1.busy - m0.busy;
          const capacityCores = r((m1.total - m0.total) / 1000 / wall, 1);
          return {
            wallSeconds: r(wall, 2),
            processes,
            machine: { cpuSeconds: r(machineMs / 1000, 2), cores: r(machineMs / 1000 / wall, 2), capacityCores },
            other: { cpuSeconds: r((machineMs - ours) / 1000, 2), cores: r((machineMs - ours) / 1000 / wall, 2) },
          };
        },
      };
    },
  };
}

/** Samples a value every `intervalMs` until stopped (e.g. RSS while a benchmark runs); returns min/max/last. */
export function sampler(read: () => number | undefined, intervalMs = 500) {
  const values: number[] = [];
  const take = () => {
    const v = read();
    if (v !== undefined) values.push(v);
  };
  take();
  const timer = setInterval(take, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      take();
      return { min: Math.min(...values), max: Math.max(...values), last: values[values.length - 1] ?? Number.NaN, samples: values.length };
    },
  };
}
