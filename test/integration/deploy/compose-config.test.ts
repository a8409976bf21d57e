import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER_COMPOSE, ensureGoTool } from '../../../scripts/infra/go-tools.js';

// `docker compose config` on docker-compose.yml with the real Compose (built from its Go module and cached, see
// scripts/infra/go-tools.ts; it runs standalone as `docker-compose` and needs no Docker engine for `config`): the
// file must pass the Compose specification's schema and Compose's own checks, with every profile. The unit test
// test/unit/compose.test.ts checks what the stack means; this one checks that Compose accepts it.

const repoRoot = process.cwd();
const SECRETS = {
  KOOGALLERY_ACCESS_KEY: 'compose-test-access-key',
  HUAWEI_CLOUD_AK: 'COMPOSETESTAK000000',
  HUAWEI_CLOUD_SK: 'compose-test-secret-key',
  DATA_ENCRYPTION_KEY: 'compose-test-data-encryption-key-32',
  OPS_API_TOKEN: 'compose-test-ops-token',
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('docker-compose.yml, validated by Docker Compose itself (`docker-compose config`)', () => {
  let compose: string;
  let home: string;

  const run = (file: string, env: Record<string, string>, args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        compose,
        ['--file', file, '--project-directory', repoRoot, ...args],
        // A clean environment: no .env of the developer, no DOCKER_* of the machine, an empty config directory.
        { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', HOME: home, DOCKER_CONFIG: join(home, '.docker'), ...env }, encoding: 'utf8', timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
    });

  beforeAll(() => {
    compose = ensureGoTool(DOCKER_COMPOSE); // cached after the first build (minutes, cold)
    home = mkdtempSync(join(tmpdir(), 'compose-config-'));
  }, 30 * 60_000);

  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('accepts the file with every profile, and normalises it to the stack the unit test describes', async () => {
    const r = await run('docker-compose.yml', SECRETS, ['--profile', 'proxy', 'config', '--format', 'json']);
    expect(r.stderr).not.toMatch(/level=(warning|error)/i);
    expect(r.code, r.stderr).toBe(0);
    const model = JSON.parse(r.stdout) as {
      services: Record<string, { restart?: string; environment?: Record<string, string | null>; volumes?: Array<{ type: string; source: string; target: string; read_only?: boolean }>; depends_on?: Record<string, { condition: string }> }>;
    };
    expect(Object.keys(model.services).sort()).toEqual(['api', 'migrate', 'postgres', 'proxy', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker']);
    // YAML merge keys resolved by Compose as the unit test's parser resolves them.
    for (const name of ['migrate', 'temporal-schema', 'temporal-namespace']) expect(model.services[name]!.restart, name).toBe('no');
    expect(model.services.worker!.environment).toEqual(model.services.api!.environment);
    expect(model.services.api!.environment).toMatchObject({ APP_ENV: 'production', PORT: '8080', INTERNAL_PORT: '8081', KOOGALLERY_ACCESS_KEY: SECRETS.KOOGALLERY_ACCESS_KEY });
    expect(model.services.temporal!.depends_on).toEqual({ 'temporal-schema': expect.objectContaining({ condition: 'service_completed_successfully' }) });
    // Every bind mount points at a file or directory of the repository.
    for (const [name, s] of Object.entries(model.services)) {
      for (const v of s.volumes ?? []) {
        if (v.type !== 'bind') continue;
        expect(v.source.startsWith(repoRoot), `${name}: ${v.source}`).toBe(true);
        expect(existsSync(v.source), `${name}: ${v.source} exists`).toBe(true);
        expect(v.read_only, `${name}: ${v.target} read-only`).toBe(true);
      }
    }
  });

  it('refuses to run without a required secret, naming it', async () => {
    const { OPS_API_TOKEN: _omitted, ...withoutToken } = SECRETS;
    const r = await run('docker-compose.yml', withoutToken, ['config', '--quiet']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('required variable OPS_API_TOKEN is missing a value');
  });

  it('rejects what the Compose specification does not allow (so a passing run means something)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-bad-'));
    try {
      const original = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
      const typo = original.replace('    stop_grace_period: 30s\n', '    stop_grace_period: 30s\n    stop_grace_periods: 30s\n');
      expect(typo).not.toBe(original);
      writeFileSync(join(dir, 'typo.yml'), typo);
      const r = await run(join(dir, 'typo.yml'), SECRETS, ['config', '--quiet']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/additional properties 'stop_grace_periods' not allowed/);

      const badCondition = original.replace('condition: service_completed_successfully', 'condition: service_finished');
      writeFileSync(join(dir, 'condition.yml'), badCondition);
      const c = await run(join(dir, 'condition.yml'), SECRETS, ['config', '--quiet']);
      expect(c.code).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
