import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { ESLint } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The fence catches what it promises to catch: a small tree with one planted violation per rule is linted with the
// repository's own eslint.config.js and .dependency-cruiser.cjs, and each violation must be reported under the
// rule's name, and nothing else (the tree also holds the allowed forms: SQL in a store, a type-only import of a
// context's contract, prose that starts with "update"). The tree lives in a temporary directory with its own
// tsconfig, so the real tree's lint stays clean and type information is computed for a handful of files, not the repository.

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const FIXTURE: Record<string, string> = {
  'tsconfig.json': JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], verbatimModuleSyntax: true, skipLibCheck: true, noEmit: true },
    include: ['src', 'test'],
  }),
  // A type-only cycle between two contracts.
  'src/orders/contract.ts': ["import type { SupervisionNote } from '../supervision/contract.js';", 'export interface OrderNote { readonly supervision?: SupervisionNote }', ''].join('\n'),
  'src/supervision/contract.ts': ["import type { OrderNote } from '../orders/contract.js';", 'export interface SupervisionNote { readonly order?: OrderNote }', ''].join('\n'),
  // SQL in a store, pg as a type: allowed.
  'src/orders/store.ts': [
    "import type { Pool } from 'pg';",
    'export async function countOrders(pool: Pool): Promise<number> {',
    "  const r = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM instances');",
    '  return r.rows[0]?.n ?? 0;',
    '}',
    '',
  ].join('\n'),
  // Another context's store, a test helper, SQL outside a store, a floating promise.
  'src/supervision/service.ts': [
    "import type { Pool } from 'pg';",
    "import type { OrderNote } from '../orders/contract.js';",
    "import { countLicenses } from '../licenses/store.js';",
    "import { countOrders } from '../orders/store.js';",
    "import { fixtureOrderId } from '../../test/helper.js';",
    'export async function overdue(pool: Pool): Promise<number> {',
    '  const r = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM supervisions WHERE order_id = $1`, [fixtureOrderId]);',
    '  return r.rows[0]?.n ?? (await countOrders(pool)) + (await countLicenses(pool));',
    '}',
    'export function remind(pool: Pool, note: OrderNote): string {',
    '  overdue(pool);',
    "  return note.supervision ? 'update refused' : 'with a reason';",
    '}',
    '',
  ].join('\n'),
  // A workflow that loads pg and a Node built-in.
  'src/supervision/workflow.ts': [
    "import { createHash } from 'node:crypto';",
    "import pg from 'pg';",
    "import { sleep } from '@temporalio/workflow';",
    "import type { SupervisionNote } from './contract.js';",
    'export async function supervisionWorkflow(note: SupervisionNote): Promise<string> {',
    '  await sleep(1);',
    "  return `${typeof pg}${typeof createHash}${note.order ? 'order' : ''}`;",
    '}',
    '',
  ].join('\n'),
  // A context named only in the CONTEXTS list (no code of it exists yet): its store is as private as the others'.
  'src/licenses/store.ts': [
    "import type { Pool } from 'pg';",
    'export async function countLicenses(pool: Pool): Promise<number> {',
    "  const r = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM licenses');",
    '  return r.rows[0]?.n ?? 0;',
    '}',
    '',
  ].join('\n'),
  // Its own store is fine; a promise where void is expected is not.
  'src/licenses/service.ts': [
    "import type { Pool } from 'pg';",
    "import { countLicenses } from './store.js';",
    'export function countAll(pools: Pool[]): void {',
    '  pools.forEach(async (pool) => {',
    '    await countLicenses(pool);',
    '  });',
    '}',
    '',
  ].join('\n'),
  // The order lifecycle, which another context's workflow may build on, and the orders context's private state.
  'src/orders/workflow.ts': 'export async function runOrderLifecycle(orderId: string): Promise<string> {\n  return Promise.resolve(orderId);\n}\n',
  'src/orders/state.ts': "export const GONE_PHASES: readonly string[] = ['RELEASED'];\n",
  // A license workflow on the lifecycle (allowed), reaching into the orders context's state (not allowed).
  'src/licenses/workflow.ts': [
    "import { runOrderLifecycle } from '../orders/workflow.js';",
    "import { GONE_PHASES } from '../orders/state.js';",
    'export async function licenseWorkflow(orderId: string): Promise<string> {',
    '  return GONE_PHASES.includes(orderId) ? orderId : runOrderLifecycle(orderId);',
    '}',
    '',
  ].join('\n'),
  // The lifecycle is for workflow code only: routes (or any other file) reach the orders context by its contract.
  'src/licenses/routes.ts': [
    "import { runOrderLifecycle } from '../orders/workflow.js';",
    'export const lifecycle: (orderId: string) => Promise<string> = runOrderLifecycle;',
    '',
  ].join('\n'),
  'test/helper.ts': "export const fixtureOrderId = 'CS0001';\n",
};

let dir: string;
let eslintFindings: string[];
let cruiseFindings: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fence-'));
  // The fixture resolves pg, @temporalio/workflow and @types/node from the repository's node_modules.
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const [path, text] of Object.entries(FIXTURE)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }

  const eslint = new ESLint({
    cwd: dir,
    overrideConfigFile: join(repoRoot, 'eslint.config.js'),
    overrideConfig: { languageOptions: { parserOptions: { tsconfigRootDir: dir } } },
  });
  const results = await eslint.lintFiles(['src/**/*.ts']);
  eslintFindings = results.flatMap((r) => r.messages.map((m) => `${relative(dir, r.filePath)} ${m.ruleId ?? `fatal: ${m.message}`}`)).sort();

  const config = createRequire(import.meta.url)(join(repoRoot, '.dependency-cruiser.cjs')) as IConfiguration;
  const { tsConfig: _ownTsConfig, ...options } = config.options ?? {};
  const cruised = await cruise(
    ['src', 'test'],
    // preserveSymlinks: node_modules is a link here, and its packages must keep their node_modules/ paths.
    { ...options, baseDir: dir, preserveSymlinks: true, validate: true, ruleSet: { forbidden: config.forbidden ?? [] } },
    undefined,
    { tsConfig: extractTSConfig(join(dir, 'tsconfig.json')) },
  );
  cruiseFindings = (cruised.output as ICruiseResult).summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the fence (eslint.config.js)', () => {
  it('when a workflow value-imports pg or a Node built-in, a promise floats or is passed where void is expected, and SQL sits outside a store, then each is reported under its rule and nothing else is', () => {
    expect(eslintFindings).toEqual(
      [
        'src/licenses/service.ts @typescript-eslint/no-misused-promises',
        'src/supervision/service.ts @typescript-eslint/no-floating-promises',
        'src/supervision/service.ts no-restricted-syntax',
        'src/supervision/workflow.ts @typescript-eslint/no-restricted-imports',
        'src/supervision/workflow.ts @typescript-eslint/no-restricted-imports',
      ].sort(),
    );
  });
});

describe('the fence (.dependency-cruiser.cjs)', () => {
  it('when a context imports another context\'s store (or, outside workflow code, the order lifecycle), src imports test/, two contracts import each other\'s types, and a workflow or a service loads pg, then each edge is reported under its rule and nothing else is (a license workflow on the order lifecycle is allowed)', () => {
    expect(cruiseFindings).toEqual(
      [
        'context-reached-through-contract-or-service: src/supervision/service.ts → src/orders/store.ts',
        'context-reached-through-contract-or-service: src/supervision/service.ts → src/licenses/store.ts',
        'context-reached-through-contract-or-service: src/licenses/workflow.ts → src/orders/state.ts',
        'context-reached-through-contract-or-service: src/licenses/routes.ts → src/orders/workflow.ts',
        'src-imports-no-support-code: src/supervision/service.ts → test/helper.ts',
        'no-circular: src/orders/contract.ts → src/supervision/contract.ts',
        'workflow-imports-only-workflow-safe-code: src/supervision/workflow.ts → crypto',
        'workflow-imports-only-workflow-safe-code: src/supervision/workflow.ts → node_modules/pg/esm/index.mjs',
        'pg-values-only-in-stores: src/supervision/workflow.ts → node_modules/pg/esm/index.mjs',
      ].sort(),
    );
  });
});
