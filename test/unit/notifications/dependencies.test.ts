import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Configuration is the one parser of the environment and calls the routing parser; the notification context must
// never import configuration back (that was an import cycle), and the routing parser stays a pure leaf.

const src = join(import.meta.dirname, '..', '..', '..', 'src');
const importsOf = (path: string) => [...readFileSync(path, 'utf8').matchAll(/^(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]!);

describe('notification context dependencies', () => {
  it('when the notification sources are read, then none imports src/platform/config', () => {
    const dir = join(src, 'notifications');
    const offenders = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => importsOf(join(dir, f)).some((i) => i.includes('platform/config')));
    expect(offenders).toEqual([]);
  });

  it('when the routing parser and the contract are read, then routing imports only the contract and the contract nothing', () => {
    expect(importsOf(join(src, 'notifications', 'routing.ts'))).toEqual(['./contract.js']);
    expect(importsOf(join(src, 'notifications', 'contract.ts'))).toEqual([]);
  });
});
