import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { dockerfileStages, dockerignoreExcludes, dockerignoreRules } from '../support/docker-files.js';

// The production image carries no simulator, recorder, test or benchmark code: what `npm run build` compiles and
// bundles is read from its own steps (package.json), each step's files are followed through their imports as tsc
// resolves them, and the Docker build context and COPY lines are checked against the directories that must stay out.

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const read = (rel: string): string => readFileSync(join(repoRoot, rel), 'utf8');

/** Directories whose code never reaches the image. */
const OUTSIDE_THE_IMAGE = ['tools', 'test', 'bench'] as const;
/** What the build may read from scripts/: the bundle step and its own imports, nothing else of the plumbing. */
const isOutside = (rel: string): boolean => OUTSIDE_THE_IMAGE.some((d) => rel === d || rel.startsWith(`${d}/`));

/**
 * The repository's own files reachable from `roots` through their imports (static, dynamic, `export … from`),
 * resolved as tsc resolves them: the repository part of what `tsc --listFilesOnly` lists, without parsing every
 * declaration file in node_modules. Repo-relative and sorted.
 */
function ownFiles(roots: readonly string[], options: ts.CompilerOptions): string[] {
  const seen = new Set<string>();
  const queue = [...roots];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    if (!/\.[cm]?tsx?$/.test(file)) continue;
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      const resolved = ts.resolveModuleName(fileName, file, options, ts.sys).resolvedModule;
      if (resolved && !resolved.isExternalLibraryImport) queue.push(resolved.resolvedFileName);
    }
  }
  return [...seen]
    .map((f) => relative(repoRoot, f).split('\\').join('/'))
    .filter((rel) => !rel.startsWith('..') && !rel.split('/').includes('node_modules'))
    .sort();
}

function parsedConfig(configFile: string): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(repoRoot, configFile), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error(`cannot read ${configFile}`);
  return parsed;
}

/** One step of `npm run build` and the repository files it reads. */
interface BuildStep {
  readonly command: string;
  readonly files: string[];
}

/**
 * The steps of package.json's `build` script: `tsc -p <config>` (the config's program) and `tsx <file>` (the file
 * and what it imports, resolved with tsconfig.json's options). Any other step fails here, so a new kind of build
 * step must be taught to this test before it can ship.
 */
function buildSteps(): BuildStep[] {
  const build = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.build;
  if (!build) throw new Error('package.json has no build script');
  const base = parsedConfig('tsconfig.json').options;
  return build.split('&&').map((part) => {
    const command = part.trim();
    const tsc = /^tsc -p (\S+)$/.exec(command);
    if (tsc) {
      const parsed = parsedConfig(tsc[1]!);
      return { command, files: ownFiles(parsed.fileNames, parsed.options) };
    }
    const tsx = /^tsx (\S+\.ts)$/.exec(command);
    if (tsx) return { command, files: ownFiles([join(repoRoot, tsx[1]!)], base) };
    throw new Error(`build step "${command}" is neither "tsc -p <config>" nor "tsx <file.ts>": teach this test what it reads`);
  });
}

/** Every file below `dir` (repo-relative), node_modules skipped. */
function filesUnder(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(repoRoot, join(e.parentPath, e.name)).split('\\').join('/'))
    .filter((rel) => !rel.split('/').includes('node_modules'));
}

describe('the production build', () => {
  let steps: BuildStep[];
  beforeAll(() => {
    steps = buildSteps();
  });

  it('compiles the service (worker.ts and src/) and not a file under tools/, test/, bench/ or scripts/', () => {
    const tsc = steps.find((s) => s.command.startsWith('tsc '));
    expect(tsc, 'npm run build compiles with tsc -p').toBeDefined();
    // The program is the real one: the entry points compose runs are in it.
    expect(tsc!.files).toEqual(expect.arrayContaining(['worker.ts', 'src/main/api-server.ts', 'src/platform/db/migrate-cli.ts', 'src/workflows.ts']));
    expect(tsc!.files.filter((f) => isOutside(f) || f.startsWith('scripts/'))).toEqual([]);
  });

  it('bundles the workflows with scripts/build-bundle.ts, which reads no tools/, test/ or bench/ code', () => {
    const bundle = steps.find((s) => s.command === 'tsx scripts/build-bundle.ts');
    expect(bundle, 'npm run build prebuilds the workflow bundle with scripts/build-bundle.ts').toBeDefined();
    // Imports are followed: the step's own helper is found.
    expect(bundle!.files).toEqual(expect.arrayContaining(['scripts/build-bundle.ts', 'scripts/infra/paths.ts']));
    expect(bundle!.files.filter(isOutside)).toEqual([]);
  });

  it('.dockerignore keeps every file of tools/, test/ and bench/ out of the build context', () => {
    const rules = dockerignoreRules(read('.dockerignore'));
    const inContext = OUTSIDE_THE_IMAGE.flatMap(filesUnder).filter((f) => !dockerignoreExcludes(rules, f));
    expect(filesUnder('tools').length).toBeGreaterThan(0);
    expect(inContext).toEqual([]);
  });

  it('.dockerignore lets in every file the build reads, and no scripts/ file it does not', () => {
    const rules = dockerignoreRules(read('.dockerignore'));
    const needed = new Set(['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', ...steps.flatMap((s) => s.files)]);
    expect([...needed].filter((f) => dockerignoreExcludes(rules, f))).toEqual([]);
    const unneededScripts = filesUnder('scripts').filter((f) => !needed.has(f) && !dockerignoreExcludes(rules, f));
    expect(unneededScripts).toEqual([]);
  });

  it('the Dockerfile copies nothing from tools/, test/ or bench/ and runs nothing from them', () => {
    const named = /(^|[\s/"'=])(tools|test|bench)(\/|[\s"']|$)/;
    for (const stage of dockerfileStages(read('Dockerfile'))) {
      for (const { op, args } of stage.instructions) {
        if (op === 'COPY' || op === 'ADD') {
          const sources = args.split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1);
          expect(sources.filter((s) => named.test(s)), `${op} ${args}`).toEqual([]);
        }
        if (op === 'RUN') expect(args, `RUN ${args}`).not.toMatch(/\b(tools|bench)\//);
      }
    }
    const build = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.build!;
    expect(build).not.toMatch(/\b(tools|test|bench)\//);
  });
});
