// `node --import tsx bench/lib/cpu-profile-top.ts <file.cpuprofile> [n]`: the functions with the most self time
// in a V8 CPU profile (BENCH_CPU_PROF=<dir> makes the bench's children write them), grouped by function and file.
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const [file, n = '30'] = process.argv.slice(2);
if (!file) {
  console.error('usage: cpu-profile-top.ts <file.cpuprofile> [n]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const byFn = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  total += us;
  const url = node.callFrame.url.replace(/^.*node_modules\//, 'nm/').replace(/^file:\/\/\/work\/main\//, '');
  const key = `${node.callFrame.functionName || '(anonymous)'}  ${url}`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
}
const rows = [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(n));
for (const [k, us] of rows) console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
