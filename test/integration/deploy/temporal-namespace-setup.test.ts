import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALL_SEARCH_ATTRIBUTE_KEYS } from '../../../src/kernel/search-attributes.js';
import { testInfra, uniqueId } from '../../setup/infra.js';

// deploy/temporal/setup-namespace.sh, the compose stack's `temporal-namespace` one-shot, run for real: with the
// arguments docker-compose.yml gives it, against the test run's Temporal server, through the Temporal CLI and a
// POSIX sh (as busybox sh runs it in the admin-tools image). It must create the namespace with its retention and
// every search attribute of src/kernel/search-attributes.ts, be a no-op the second time, and refuse a type clash.

const { IndexedValueType } = proto.temporal.api.enums.v1;
const SCRIPT = join(process.cwd(), 'deploy/temporal/setup-namespace.sh');

interface Run {
  code: number;
  stderr: string;
}

describe('deploy/temporal/setup-namespace.sh against a real Temporal server', () => {
  const infra = testInfra();
  const namespace = uniqueId('ns-setup');
  let bin: string;
  let connection: Connection;
  const composeArgs = (): string[] => {
    const compose = parse(readFileSync(join(process.cwd(), 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[] }>;
    };
    return compose.services['temporal-namespace']!.command!;
  };

  const runScript = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        'sh',
        [SCRIPT, ...args],
        {
          env: {
            PATH: `${bin}:/usr/bin:/bin`,
            HOME: bin, // the CLI reads its (absent) config file under $HOME
            TEMPORAL_ADDRESS: infra.temporalAddress,
            TEMPORAL_NAMESPACE: namespace,
            SETUP_RETRY_DELAY_SECONDS: '1',
            ...env,
          },
          encoding: 'utf8',
          timeout: 90_000,
        },
        (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr }),
      );
    });

  beforeAll(async () => {
    // The admin-tools image has the CLI on PATH as `temporal`.
    bin = mkdtempSync(join(tmpdir(), 'temporal-cli-'));
    symlinkSync(infra.temporalCliPath, join(bin, 'temporal'));
    connection = await Connection.connect({ address: infra.temporalAddress });
  });

  afterAll(async () => {
    await connection?.close();
    if (bin) rmSync(bin, { recursive: true, force: true });
  });

  it('creates the namespace (retention 30d) and every search attribute with its type, from the compose arguments', async () => {
    const args = composeArgs();
    expect(args).toHaveLength(ALL_SEARCH_ATTRIBUTE_KEYS.length);
    const r = await runScript(args, { TEMPORAL_NAMESPACE_RETENTION: '30d' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`created namespace '${namespace}'`);

    const described = await connection.workflowService.describeNamespace({ namespace });
    expect(Number(described.config?.workflowExecutionRetentionTtl?.seconds)).toBe(30 * 24 * 3600);
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const typeName = (t: number | null | undefined) => IndexedValueType[t ?? 0]!.replace('INDEXED_VALUE_TYPE_', '');
    const got = Object.fromEntries(Object.entries(customAttributes ?? {}).map(([k, v]) => [k, typeName(v)]));
    expect(got).toEqual(Object.fromEntries(ALL_SEARCH_ATTRIBUTE_KEYS.map((k) => [k.name, k.type])));
  });

  it('is a no-op the second time, and refuses an attribute that exists with another type', async () => {
    const again = await runScript(composeArgs());
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('creating');
    expect(again.stderr).toContain(`has all ${ALL_SEARCH_ATTRIBUTE_KEYS.length} search attributes`);

    const clash = await runScript(['OrderId=Int']);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain("'OrderId' already exists");
  });

  it('gives up (exit 1) when no server answers, and rejects malformed arguments before asking anything', async () => {
    const down = await runScript(['OrderId=Keyword'], { TEMPORAL_ADDRESS: '127.0.0.1:1', SETUP_MAX_ATTEMPTS: '2' });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('gave up after 2 attempts');
    expect((await runScript(['OrderId'])).code).toBe(1);
    expect((await runScript(['OrderId=Color'])).stderr).toContain("unsupported type 'Color'");
  });
});
