import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { run } from '../../scripts/infra/proc.js';
import { repoRoot } from '../../scripts/infra/paths.js';

/** What the numbers were measured on. */
export interface MachineDescription {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memTotalMiB: number;
  readonly memAvailableMiB: number;
  readonly loadAverageAtStart: readonly number[];
  readonly kernel: string;
  readonly node: string;
  readonly temporalCli: string;
  readonly temporalSdk: string;
  readonly postgres?: string;
  readonly git: { readonly commit: string; readonly dirtyFiles: number };
}

function meminfoMiB(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
}

/** Describes the machine, the runtimes and the tree under test (read-only git commands only). */
export function describeMachine(o: { temporalCliPath: string; postgresVersion?: string }): MachineDescription {
  const nproc = Number(run('nproc', []).stdout.trim()) || cpus().length;
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const sdk = JSON.parse(readFileSync(join(repoRoot, 'node_modules', '@temporalio', 'worker', 'package.json'), 'utf8')) as { version: string };
  const commit = run('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']).stdout.trim();
  const dirty = run('git', ['-C', repoRoot, 'status', '--porcelain']).stdout.split('\n').filter((l) => l.trim() !== '').length;
  return {
    nproc,
    cpuModel: model,
    memTotalMiB: meminfoMiB('MemTotal'),
    memAvailableMiB: meminfoMiB('MemAvailable'),
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
    kernel: run('uname', ['-r']).stdout.trim(),
    node: process.version,
    temporalCli: run(o.temporalCliPath, ['--version']).stdout.trim(),
    temporalSdk: sdk.version,
    ...(o.postgresVersion ? { postgres: o.postgresVersion } : {}),
    git: { commit, dirtyFiles: dirty },
  };
}
