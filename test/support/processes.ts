import { readdirSync, readFileSync } from 'node:fs';

// What runs on this machine, read from /proc (Linux): the tests of process cleanup list what a command started and
// check afterwards that none of it is left.

/** A process: pid, parent, process group, state letter, command line. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  cmd: string;
}

function read(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may itself hold spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), state: fields[0]!, cmd };
  } catch {
    return undefined; // gone between the listing and the read
  }
}

/** Every process on the machine. */
export function allProcesses(): ProcessInfo[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => read(Number(d)))
    .filter((p): p is ProcessInfo => p !== undefined);
}

/** The process `root` and all its descendants (children, their children, …), whatever group or session they are in. */
export function processTree(root: number): ProcessInfo[] {
  const all = allProcesses();
  const tree = all.filter((p) => p.pid === root);
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i]!.pid));
  return tree;
}

/** True while the process exists and is not a zombie (a zombie has exited; only its exit status waits for a parent). */
export function running(pid: number): boolean {
  const p = read(pid);
  return p !== undefined && p.state !== 'Z';
}

/** Waits until none of `pids` runs, or the timeout passes; returns those still running. */
export async function waitUntilGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(running);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}
