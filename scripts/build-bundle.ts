// Prebuilds the workflow bundle for production workers: dist/workflow-bundle.js. A worker given this file
// (TEMPORAL_WORKFLOW_BUNDLE) starts without webpack and runs exactly the code that was built and tested.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { repoRoot } from './infra/paths.js';

const out = join(repoRoot, 'dist', 'workflow-bundle.js');
const { code } = await bundleWorkflowCode({ workflowsPath: join(repoRoot, 'src', 'workflows.ts') });
mkdirSync(join(repoRoot, 'dist'), { recursive: true });
writeFileSync(out, code);
console.log(`[build] workflow bundle: ${out} (${(code.length / 1024).toFixed(0)} KiB)`);
