import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// docs/marketplace-contract.md is the marketplace contract as this service implements it, and code comments cite
// its sections as §n / §n.m. A citation of a section the document does not have (renumbered, or never written) is a
// broken reference for whoever follows it; so is a pointer to a spec outside the repository.

const root = new URL('../..', import.meta.url).pathname;
const doc = readFileSync(join(root, 'docs', 'marketplace-contract.md'), 'utf8');

/** Section numbers the document defines: `## 4. …` → 4, `### 4.2 …` → 4.2. */
const sections = new Set([...doc.matchAll(/^#{2,3} (\d+(?:\.\d+)?)\.? /gm)].map((m) => m[1]!));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (['node_modules', 'dist', '.data', 'test-output', 'histories'].includes(name)) return [];
    if (statSync(path).isDirectory()) return files(path);
    return /\.(ts|mts|mjs|md)$/.test(name) ? [path] : [];
  });
}

const sources = ['src', 'tools', 'test', 'scripts', 'bench', 'docs'].flatMap((d) => files(join(root, d))).concat([join(root, 'README.md'), join(root, 'worker.ts')]);

describe('docs/marketplace-contract.md', () => {
  it('numbers its sections §0 to §11 like the spec the code was written against', () => {
    for (const n of ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '2.2', '4.1', '4.8']) expect(sections.has(n), `§${n}`).toBe(true);
  });

  it('has every section that the code, tests and docs cite as §n', () => {
    const missing: string[] = [];
    let cited = 0;
    for (const file of sources) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/§(\d+(?:\.\d+)?)/g)) {
        cited += 1;
        if (!sections.has(m[1]!)) missing.push(`${relative(root, file)}: §${m[1]}`);
      }
    }
    expect(cited).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });

  it('is the only contract referenced: no path to a spec outside the repository', () => {
    const outside = sources.filter((f) => /interface-spec\.md|shared\/koogallery/.test(readFileSync(f, 'utf8')) && !f.endsWith('contract-doc.test.ts'));
    expect(outside.map((f) => relative(root, f))).toEqual([]);
  });
});
