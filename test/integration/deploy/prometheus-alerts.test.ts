import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureGoTool, ensureRepoGoTool, PROM_RULES_CHECK, PROMTOOL } from '../../../scripts/infra/go-tools.js';

// deploy/prometheus/alerts.yaml, the alerting rules ops load into Prometheus: loaded as Prometheus loads a rule file
// (tools/prom-rules-check, built on Prometheus' own rulefmt and PromQL parser, and `promtool check rules`), every
// metric its expressions name is one this service exports (a renamed series must not leave an alert that can never
// fire), and its unit tests (deploy/prometheus/alerts.test.yaml: series in, alerts with their labels and expanded
// annotations out) pass under `promtool test rules`.

const repoRoot = process.cwd();
const RULES = join(repoRoot, 'deploy/prometheus/alerts.yaml');

interface CheckedAlert {
  readonly group: string;
  readonly alert: string;
  readonly expr: string;
  readonly labels: Record<string, string> | null;
  readonly annotations: Record<string, string> | null;
  readonly metrics: string[];
}

const RULE_TESTS = join(repoRoot, 'deploy/prometheus/alerts.test.yaml');

let checker: string;
let promtool: string;
let scratch: string;
const check = (...files: string[]) => spawnSync(checker, files, { encoding: 'utf8' });
const runPromtool = (...args: string[]) => spawnSync(promtool, args, { encoding: 'utf8' });

/**
 * Every `koogallery_*` metric name the service registers: the API's prom-client metrics (`name: '…'`) and the
 * worker's counters on the Temporal runtime's meter (`…_METRIC = '…'`, served with `_total` appended).
 */
function registeredMetricNames(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) for (const m of readFileSync(path, 'utf8').matchAll(/(?:name: |_METRIC = )'(koogallery_[a-z_]+)'/g)) names.add(m[1]!);
    }
  };
  walk(join(repoRoot, 'src'));
  return names;
}

beforeAll(() => {
  checker = ensureRepoGoTool(repoRoot, PROM_RULES_CHECK);
  promtool = ensureGoTool(PROMTOOL); // cached after the first build (minutes, cold)
  scratch = mkdtempSync(join(tmpdir(), 'prom-rules-'));
}, 600_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('deploy/prometheus/alerts.yaml', () => {
  let alerts: CheckedAlert[];

  it('when loaded as Prometheus loads a rule file, then every rule, expression and template is valid', () => {
    const r = check(RULES);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    alerts = JSON.parse(r.stdout) as CheckedAlert[];
    expect(alerts.length).toBeGreaterThanOrEqual(10);
  });

  it('when read, then every alert has a severity of page or ticket, a summary and a description', () => {
    for (const a of alerts) {
      expect(['page', 'ticket'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toBeTruthy();
    }
  });

  it('when its expressions name a koogallery_ metric, then the service registers it; a temporal_ one is a series docs/metrics.md lists', () => {
    const registered = registeredMetricNames();
    expect(registered.size).toBeGreaterThan(10);
    const docs = readFileSync(join(repoRoot, 'docs/metrics.md'), 'utf8');
    const used = new Set(alerts.flatMap((a) => a.metrics));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) {
      // A histogram's series carry _bucket, _sum and _count (prom-client registers the bare name); the worker's
      // exporter appends _total to the counters of the runtime's meter.
      const base = name.replace(/_(bucket|sum|count|total)$/, '');
      if (name.startsWith('koogallery_')) expect(registered.has(name) || registered.has(base), name).toBe(true);
      else if (name.startsWith('temporal_')) expect(docs.includes(name) || docs.includes(base), name).toBe(true);
      else expect.fail(`${name}: not a series of this service`);
    }
  });

  it('when docs/metrics.md lists the alerts, then it lists exactly the ones the file holds', () => {
    const docs = readFileSync(join(repoRoot, 'docs/metrics.md'), 'utf8');
    const documented = [...docs.matchAll(/^\| `(KooGallery[A-Za-z]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(alerts.map((a) => a.alert).sort());
  });

  it('when promtool checks the rules and runs their unit tests, then both pass', () => {
    const checked = runPromtool('check', 'rules', RULES);
    expect(checked.status, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
    const tested = runPromtool('test', 'rules', RULE_TESTS);
    expect(tested.status, tested.stdout + tested.stderr).toBe(0);
    expect(tested.stdout).toContain('SUCCESS');
  });

  it('when an alert\'s threshold or annotation changes, then its unit test fails (so the pass above means something)', () => {
    for (const [from, to] of [
      ['(rate(koogallery_requests_total[5m])) > 0.05', '(rate(koogallery_requests_total[5m])) > 0.5'],
      ['{{ $value | humanizeDuration }} outside', '{{ $value }} outside'],
    ] as const) {
      const rules = readFileSync(RULES, 'utf8');
      expect(rules).toContain(from);
      writeFileSync(join(scratch, 'alerts.yaml'), rules.replace(from, to));
      writeFileSync(join(scratch, 'alerts.test.yaml'), readFileSync(RULE_TESTS, 'utf8'));
      const r = runPromtool('test', 'rules', join(scratch, 'alerts.test.yaml'));
      expect(r.status, from).toBe(1);
      expect(r.stdout + r.stderr).toContain('FAILED');
    }
  });

  it('when a rule file is broken, then the check refuses it with the reason (so the checks above can fail)', () => {
    const bad = join(scratch, 'bad.yaml');
    writeFileSync(bad, readFileSync(RULES, 'utf8').replace('[5m])) > 0.05', '[5m])) > > 0.05'));
    const r = check(bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/KooGalleryInternalErrors|parse error/);
    const badTemplate = join(scratch, 'bad-template.yaml');
    writeFileSync(badTemplate, readFileSync(RULES, 'utf8').replace('{{ $labels.activity }} answers take', '{{ $labels.activity answers take'));
    expect(check(badTemplate).status).toBe(1);
  });
});
