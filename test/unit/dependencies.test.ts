import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The lock file is what `npm ci` installs on a developer's machine, in CI and in the Dockerfile. Read as data (no
// npm, no node_modules): a lock regenerated on one platform that drops another platform's native packages, or a
// dependency that creeps back into the production image, fails here before it fails someone's first `npm ci`.

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
interface Lock {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}
interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const read = <T>(rel: string): T => JSON.parse(readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8')) as T;
const lock = read<Lock>('package-lock.json');
const pkg = read<PackageJson>('package.json');

/** The package name of a lock key (`node_modules/a/node_modules/@b/c` → `@b/c`). */
const nameOf = (key: string): string => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);

/** Packages npm installs with `--omit=dev`: every lock entry not marked dev-only. */
const productionEntries = Object.entries(lock.packages).filter(([key, e]) => key !== '' && e.dev !== true);

/** Packages that must not be among the runtime's direct dependencies (heavy, replaced, or test-only). */
const NOT_DIRECT = ['axios', 'lodash', 'log4js', 'moment', 'protobufjs'];

describe('package-lock.json', () => {
  it('is lockfile version 3 with a root entry that matches package.json', () => {
    expect(lock.lockfileVersion).toBe(3);
    expect(lock.packages['']?.dependencies).toEqual(pkg.dependencies);
  });

  // npm ci installs only what the lock lists: a lock written on linux-x64 by an npm that prunes other platforms'
  // optional packages breaks `npm ci` on a Mac or an arm64 CI runner.
  for (const parent of ['@swc/core', 'rollup']) {
    it(`lists every platform package that ${parent} declares as optional`, () => {
      const entry = lock.packages[`node_modules/${parent}`];
      expect(entry, `${parent} is not in the lock`).toBeDefined();
      const optional = Object.entries(entry!.optionalDependencies ?? {});
      expect(optional.length).toBeGreaterThan(5);
      const missing = optional
        .filter(([name, range]) => {
          const own = lock.packages[`node_modules/${name}`];
          // fsevents (rollup's ~2.3.2) is a range; the platform builds are pinned to the parent's exact version.
          return own === undefined || (/^\d+\.\d+\.\d+$/.test(range) && own.version !== range);
        })
        .map(([name, range]) => `${name}@${range}`);
      expect(missing).toEqual([]);
    });
  }
});

describe('the production dependency tree', () => {
  it(`has none of ${NOT_DIRECT.join(', ')} as a direct dependency`, () => {
    const direct = Object.keys(pkg.dependencies);
    expect(direct.filter((d) => NOT_DIRECT.includes(d))).toEqual([]);
    expect(Object.keys(lock.packages['']?.dependencies ?? {}).filter((d) => NOT_DIRECT.includes(d))).toEqual([]);
  });

  it('has no pino-pretty anywhere (a development pretty-printer, not for the image)', () => {
    expect(Object.keys(lock.packages).filter((key) => nameOf(key) === 'pino-pretty')).toEqual([]);
  });

  it('keeps the Huawei Cloud SDK and its axios/lodash/log4js/moment out of it (they serve only tests and tools)', () => {
    const inProduction = new Set(productionEntries.map(([key]) => nameOf(key)));
    expect(['@huaweicloud/huaweicloud-sdk-core', 'axios', 'lodash', 'log4js', 'moment'].filter((n) => inProduction.has(n))).toEqual([]);
    // The reader of the lock sees the runtime at all (a filter that dropped everything would pass the line above).
    expect(inProduction.has('@temporalio/worker')).toBe(true);
    expect(inProduction.has('express')).toBe(true);
  });
});
