// ESLint (flat config) for the whole repository, with TypeScript type information. Half of "the fence": this file
// holds the rules that look inside a file (promises, type-only imports, what a workflow file may import, where SQL
// may be written); .dependency-cruiser.cjs holds the rules about which folder may import which. `npm run lint` runs
// both; `npm test` runs `npm run lint` after tsc. README "The fence" lists every rule.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Deterministic workflow code and what it is built from: bundled by the worker into the workflow sandbox. */
const WORKFLOW_FILES = ['src/*/workflow.ts', 'src/*/state.ts', 'src/*/contract.ts', 'src/kernel/**/*.ts', 'src/workflows.ts'];

/** Where SQL may be written: a context's store (`store.ts`, `ops-store.ts`, `inbox-store.ts`, …) and the db platform. */
const SQL_FILES = ['src/**/*store.ts', 'src/platform/db/**'];

// Packages a workflow file must not value-import: they do I/O, read the clock or the environment, or pull
// Node-only code into the workflow bundle. `@temporalio/common` types are fine (its values are reached through
// `@temporalio/workflow`, except in src/kernel, below).
const workflowForbiddenPackages = [
  'pg',
  'express',
  'pino',
  'prom-client',
  // Validation belongs at the edges (HTTP, activity results); a workflow receives typed payloads.
  'zod',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
  '@temporalio/proto',
];
const nodeBuiltins = [...new Set(builtinModules.map((m) => m.replace(/^node:/, '')))];
const workflowImportMessage = 'workflow code runs in the deterministic sandbox: import only @temporalio/workflow, contracts and src/kernel (types from elsewhere with `import type`).';
const restrictedForWorkflows = (allowCommonValues) => ({
  paths: [
    ...workflowForbiddenPackages.map((name) => ({ name, message: workflowImportMessage, allowTypeImports: true })),
    ...(allowCommonValues ? [] : [{ name: '@temporalio/common', message: 'workflow files take @temporalio/common values through @temporalio/workflow; `import type` from @temporalio/common is fine.', allowTypeImports: true }]),
  ],
  patterns: [
    { group: ['node:*'], message: workflowImportMessage, allowTypeImports: true },
    { group: nodeBuiltins.flatMap((m) => [m, `${m}/*`]), message: workflowImportMessage, allowTypeImports: true },
    { group: workflowForbiddenPackages.map((p) => `${p}/*`), message: workflowImportMessage, allowTypeImports: true },
  ],
});

// SQL is recognised by how a statement starts, case-insensitively (leading whitespace allowed, as in indented
// template literals). Each keyword needs the word that follows it in a statement, so that prose such as
// "update refused" or "with a reason" in a message is not mistaken for SQL.
const SQL_START = String.raw`/^\s*(select\s|insert\s+into\s|update\s+\S+\s+set\s|update\s+$|delete\s+from\s|with\s+(recursive\s+)?\w+(\s*\([^)]*\))?\s+as\s*(not\s+materialized\s*|materialized\s*)?\()/i`;
const SQL_MESSAGE = 'SQL belongs in a store (a file named *store.ts) or src/platform/db: call the store from here.';

// Node's globals for the few plain JavaScript files (scripts/run.mjs, this file); TypeScript checks the rest.
const nodeGlobals = Object.fromEntries(['process', 'console', 'URL', 'Buffer', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'].map((g) => [g, 'readonly']));

export default defineConfig(
  { ignores: ['node_modules/', 'dist/', '.data/', 'test-output/', 'bench/results/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The fence, everywhere: a promise is awaited, returned, or explicitly `void`-ed; no promise where a
      // callback's result is ignored (an Express handler, an event listener).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Type-only imports are written as such (verbatimModuleSyntax keeps every other import at runtime), and an
      // import whose every name is a type is `import type`, or it would still load the module for its side effects
      // (`import { type X } from 'pg'` compiles to `import 'pg'`). `import('x').T` in a type position is type-only
      // by construction, so it is allowed.
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-import-type-side-effects': 'error',

      // Turned off or relaxed from the recommended sets, each for a reason:
      // - `_`-prefixed names are the house way to say "deliberately unused" (destructuring a field away, a
      //   callback's position-fixed parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // - An `async` function without `await` is how an implementation of a Promise-returning port (a channel,
      //   a provisioner, a test double) turns a synchronous throw into a rejection; the rule calls that a mistake.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests, tools, benchmarks and scripts read untyped JSON (HTTP answers, fixtures, recorded histories) and poke
    // at SDK internals; checking the shape is what their assertions do. The `any`-safety rules would flag several
    // hundred such reads, so they hold for src/ and worker.ts only. Likewise a few idioms of test code:
    // initialisers before retry loops, `expect(obj.method)`-style method references, `(clearInterval(t), done())`
    // sequences, control characters in regular expressions that assert ASCII-only output, and stringifying
    // unknown JSON values in messages, and `as` casts that document what an untyped read returns.
    files: ['test/**', 'tools/**', 'bench/**', 'scripts/**', 'vitest.config.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unused-expressions': 'off',
      'no-useless-assignment': 'off',
      'no-control-regex': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { ...nodeGlobals, module: 'writable', require: 'readonly' } },
  },
  {
    files: WORKFLOW_FILES,
    ignores: ['src/kernel/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', restrictedForWorkflows(false)] },
  },
  {
    // The kernel is workflow-safe shared code: the same fence, except that @temporalio/common values are allowed
    // (search attribute keys are defined with its `defineSearchAttributeKey`, which @temporalio/workflow does not
    // re-export; @temporalio/common is bundle-safe, the workflow package is built on it).
    files: ['src/kernel/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', restrictedForWorkflows(true)] },
  },
  {
    files: ['src/**/*.ts'],
    ignores: SQL_FILES,
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: `Literal[value=${SQL_START}]`, message: SQL_MESSAGE },
        { selector: `TemplateLiteral > TemplateElement:first-child[value.raw=${SQL_START}]`, message: SQL_MESSAGE },
      ],
    },
  },
);
