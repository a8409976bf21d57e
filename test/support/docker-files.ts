// The Dockerfile and .dockerignore, parsed as far as the tests check them (no Docker engine in CI).

/** One instruction of a stage, continuation lines joined. */
export interface Instruction {
  op: string;
  args: string;
}
/** One FROM … [AS name] and what follows it. */
export interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** The stages of a Dockerfile, ARG defaults before the first FROM substituted into its images. */
export function dockerfileStages(text: string): Stage[] {
  const logical = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (op === 'ARG' && stages.length === 0) {
      const [k, v = ''] = rest.split('=');
      args.set(k!.trim(), v.trim());
      continue;
    }
    if (op === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!f) throw new Error(`cannot parse FROM ${rest}`);
      const image = f[1]!.replace(/\$\{?(\w+)\}?/g, (_, k: string) => args.get(k) ?? '');
      stages.push({ image, ...(f[2] ? { name: f[2] } : {}), instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push({ op, args: rest });
  }
  return stages;
}

/** The rules of a .dockerignore file, comments and blank lines dropped. */
export function dockerignoreRules(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Docker's .dockerignore semantics: last matching rule wins; a rule matching a parent directory matches its contents. */
export function dockerignoreExcludes(rules: string[], path: string): boolean {
  const toRegex = (pattern: string): RegExp => {
    let re = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      if (c === '*' && pattern[i + 1] === '*') {
        if (pattern[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
  };
  const parents = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const raw of rules) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).trim().replace(/^\/+/, '').replace(/\/+$/, '');
    if (!pattern) continue;
    const re = toRegex(pattern);
    if (parents.some((p) => re.test(p))) excluded = !negate;
  }
  return excluded;
}
