// dependency-cruiser: the folder half of "the fence" (eslint.config.js holds the in-file half). `npm run lint` runs
// it over the whole repository; test/unit/fence.test.ts plants one violation per rule and checks it is named.
// Paths are relative to the repository root; every import counts, type-only ones included (tsPreCompilationDeps).
//
// dependency-cruiser is pinned to 17.x: 18.x refuses to start on Node 20 (its engines are ^22||^24||>=26), and
// this repository must lint on Node 20 (installed) and 22 (the target). Move to 18 when Node 20 is dropped.

/**
 * The bounded contexts: each a folder src/<name>/ with the same shape (contract.ts, workflow.ts + state.ts,
 * activities.ts, store.ts, service.ts, routes). Add a new context here, and only here.
 */
const CONTEXTS = ['orders', 'supervision', 'reconciliation', 'notifications', 'licenses', 'metering', 'settlement'];
const CONTEXT = `(${CONTEXTS.join('|')})`;

/**
 * A context's public surface, for everyone outside it: contract.ts (ids, payloads, message definitions, port
 * types such as SupervisionCatalogue) and service.ts (its use cases). An index.ts does NOT count: a barrel that
 * re-exports a store would open every internal to every caller. Composition roots (src/main, worker.ts) are exempt.
 */
const CONTEXT_PUBLIC = `^src/${CONTEXT}/(contract|service)\\.ts$`;

/** Deterministic workflow code and what it is built from (bundled into the workflow sandbox). */
const WORKFLOW_FILES = `^src/(${CONTEXT}/(workflow|state|contract)\\.ts$|kernel/|workflows\\.ts$)`;

/** Packages that do I/O or run a server: never in the protocol core, values never in workflow code. */
const INFRA_PACKAGES = '^node_modules/(pg|pg-[a-z-]+|express|pino|pino-[a-z-]+|prom-client|@temporalio/[a-z-]+)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'workflow-imports-only-workflow-safe-code',
      comment:
        'Workflow files (src/*/workflow.ts, state.ts, contract.ts, src/workflows.ts) run in the deterministic sandbox: their value ' +
        'imports are @temporalio/workflow, other workflow files (contracts, state) and src/kernel; anything else only with `import type`.',
      severity: 'error',
      from: { path: WORKFLOW_FILES, pathNot: '^src/kernel/' },
      to: { dependencyTypesNot: ['type-only'], pathNot: [WORKFLOW_FILES, '^node_modules/@temporalio/workflow/'] },
    },
    {
      name: 'kernel-imports-only-workflow-safe-code',
      comment:
        'src/kernel is workflow-safe shared code: the same fence, except that @temporalio/common values are allowed ' +
        '(defineSearchAttributeKey is not re-exported by @temporalio/workflow; @temporalio/common is bundle-safe).',
      severity: 'error',
      from: { path: '^src/kernel/' },
      to: { dependencyTypesNot: ['type-only'], pathNot: [WORKFLOW_FILES, '^node_modules/@temporalio/(workflow|common)/'] },
    },
    {
      name: 'koogallery-imports-no-infrastructure',
      comment:
        'src/koogallery is the pure inbound protocol (signatures, Body-Sign, AES, request schemas, result codes): ' +
        'no pg, express, pino, prom-client or @temporalio/*, and nothing of the service around it.',
      severity: 'error',
      from: { path: '^src/koogallery/' },
      to: { path: [INFRA_PACKAGES, '^src/(platform|production-interface|marketplace-api|ops-api|main)/', '^worker\\.ts$'] },
    },
    {
      name: 'koogallery-reads-contexts-types-only',
      comment: 'The protocol core may name a context\'s contract types (import type), never load a context.',
      severity: 'error',
      from: { path: '^src/koogallery/' },
      to: { path: `^src/${CONTEXT}/`, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'context-reached-through-contract-or-service',
      comment:
        'A context is reached from outside only through its contract.ts or service.ts (not its store, activities, routes, ' +
        'workflow or index.ts). Only the composition roots (src/main, worker.ts) and the bundle entry (src/workflows.ts) may reach further.',
      severity: 'error',
      // config.ts is governed by platform-config-reads-context-settings-only instead; workflow files by the rule below.
      from: { path: '^src/([^/]+)/', pathNot: ['^src/main/', '^src/platform/config\\.ts$', `^src/${CONTEXT}/workflow\\.ts$`] },
      to: { path: `^src/${CONTEXT}/`, pathNot: ['^src/$1/', CONTEXT_PUBLIC] },
    },
    {
      name: 'context-reached-through-contract-or-service',
      comment:
        'The same rule for workflow files, with one exception: another context\'s workflow may build on the order lifecycle ' +
        '(runOrderLifecycle in src/orders/workflow.ts), as the license instance does. A workflow is bundled with its imports, ' +
        'so the lifecycle must be importable by workflow code; it stays in orders/workflow.ts (not a file of its own) so that ' +
        'changes to the order workflow land in the one body both workflow types run.',
      severity: 'error',
      from: { path: `^src/${CONTEXT}/workflow\\.ts$` },
      to: { path: `^src/${CONTEXT}/`, pathNot: ['^src/$1/', CONTEXT_PUBLIC, '^src/orders/workflow\\.ts$'] },
    },
    {
      name: 'composition-roots-not-imported',
      comment: 'src/main and worker.ts compose everything; nothing in src/ depends on them (tests and tools may).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/main/' },
      to: { path: ['^src/main/', '^worker\\.ts$'] },
    },
    {
      name: 'platform-imports-no-domain',
      comment:
        'src/platform (config, logger, pg pool, migrations, Temporal connection, http metrics) knows no context and no edge module. ' +
        'config.ts has its own, narrower rule (platform-config-reads-context-settings-only).',
      severity: 'error',
      from: { path: '^src/platform/', pathNot: '^src/platform/config\\.ts$' },
      to: { path: [`^src/${CONTEXT}/`, '^src/(koogallery|marketplace-api|production-interface|ops-api|main)/'] },
    },
    {
      name: 'platform-config-reads-context-settings-only',
      comment:
        'config.ts is the only reader of the environment, so it parses each context\'s settings, with that context\'s own types ' +
        '(contract.ts) and settings parsers (notifications/routing.ts, *settings.ts such as licenses/key-settings.ts), to report every ' +
        'problem at once. Nothing else of a context.',
      severity: 'error',
      from: { path: '^src/platform/config\\.ts$' },
      to: {
        path: [`^src/${CONTEXT}/`, '^src/(koogallery|marketplace-api|production-interface|ops-api|main)/'],
        pathNot: [`^src/${CONTEXT}/contract\\.ts$`, `^src/${CONTEXT}/[a-z-]*settings\\.ts$`, '^src/notifications/routing\\.ts$'],
      },
    },
    {
      name: 'pg-values-only-in-stores',
      comment:
        'SQL lives in stores (files named *store.ts) and src/platform/db; only they load pg. Everyone else takes a Pool type ' +
        '(import type) and calls a store.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['store\\.ts$', '^src/platform/db/'] },
      to: { path: '^node_modules/(pg|pg-[a-z-]+)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'src-imports-no-support-code',
      comment: 'Production code (src/, worker.ts) never imports test/, tools/, bench/ or scripts/ (none of them is in the image).',
      severity: 'error',
      from: { path: ['^src/', '^worker\\.ts$'] },
      to: { path: '^(test|tools|bench|scripts)/' },
    },
    {
      name: 'support-code-imports-no-tests',
      comment: 'scripts/, bench/ and tools/ do not import test/: what they share with the tests lives in tools/ (tools/testing).',
      severity: 'error',
      from: { path: '^(scripts|bench|tools)/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only ones included: move the shared piece to the side that owns it, or to src/kernel.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    // Count `import type` edges too: a type-only cycle is still a cycle between two modules' designs.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    // node_modules is not followed, but stays in the graph: the rules about packages (pg, express, @temporalio/*) need it.
    exclude: { path: ['^dist/', '^\\.data/'] },
    moduleSystems: ['es6', 'cjs'],
    skipAnalysisNotInRules: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
