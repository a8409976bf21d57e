import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ensureGoTool, ensureK8sValidator, HELM } from '../../../scripts/infra/go-tools.js';

// deploy/helm/koogallery-orders: `helm lint --strict` and `helm template` with the real Helm (built from its Go
// module and cached), every rendering checked by tools/k8s-validate (strict decoding into the Kubernetes API types
// of k8s.io/api, plus references between objects: no cluster and no downloaded schemas), then what the chart must
// mean for this service: probes on the internal port, secrets as files, the migration as a hook before the pods.

const repoRoot = process.cwd();
const CHART = join(repoRoot, 'deploy/helm/koogallery-orders');
// Helm built from source reports Kubernetes v1.20 unless told (the release build stamps it in with ldflags).
const KUBE_VERSION = '1.33.0';
const VALUE_FILES = ['ci/test-values.yaml', 'ci/cloud-values.yaml'] as const;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
interface Container {
  name: string;
  command?: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: { command: string[] };
}
interface K8sObject {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown> & {
    template?: { spec: { containers: Container[]; volumes?: Array<{ name: string; secret?: { secretName: string; items?: Array<{ key: string }> } }> } };
  };
  stringData?: Record<string, string>;
}

describe('Helm chart deploy/helm/koogallery-orders', () => {
  let helm: string;
  let validator: string;
  let home: string;
  const rendered = new Map<string, { text: string; objects: K8sObject[] }>();

  const exec = (cmd: string, args: string[], input?: string): Promise<Run> =>
    new Promise((resolve) => {
      const child = execFile(
        cmd,
        args,
        { cwd: CHART, env: { PATH: process.env.PATH ?? '', HOME: home }, encoding: 'utf8', timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  const template = (args: string[]) => exec(helm, ['template', 'orders', '.', '--kube-version', KUBE_VERSION, ...args]);
  const objects = (file: string): K8sObject[] => rendered.get(file)!.objects;
  const find = (file: string, kind: string, suffix: string): K8sObject => {
    const o = objects(file).find((x) => x.kind === kind && x.metadata.name.endsWith(suffix));
    if (!o) throw new Error(`${file}: no ${kind} *${suffix}`);
    return o;
  };
  const container = (o: K8sObject): Container => o.spec!.template!.spec.containers[0]!;

  beforeAll(async () => {
    helm = ensureGoTool(HELM); // cached after the first build (minutes, cold)
    validator = ensureK8sValidator(repoRoot);
    home = mkdtempSync(join(tmpdir(), 'helm-home-'));
    for (const file of VALUE_FILES) {
      const r = await template(['--values', file]);
      expect(r.code, r.stderr).toBe(0);
      rendered.set(file, { text: r.stdout, objects: parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject).filter(Boolean) });
    }
  }, 40 * 60_000);

  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('passes helm lint --strict with each CI values file (values.schema.json included)', async () => {
    for (const file of VALUE_FILES) {
      const r = await exec(helm, ['lint', '.', '--strict', '--kube-version', KUBE_VERSION, '--values', file]);
      expect(r.code, `${file}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
  });

  it('renders only objects that decode strictly into the Kubernetes API types and reference each other correctly', async () => {
    for (const file of VALUE_FILES) {
      const r = await exec(validator, [], rendered.get(file)!.text);
      expect(r.code, `${file}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^OK \d+ objects: .*Deployment=2 .*Job=1 .*PodDisruptionBudget=2 .*Service=3/);
    }
    expect(objects('ci/test-values.yaml').map((o) => o.kind)).toContain('HorizontalPodAutoscaler');
    expect(objects('ci/cloud-values.yaml').map((o) => o.kind)).toContain('Ingress');
  });

  it('has a validator that fails on a misspelt field, a dangling port name and an unknown kind (so a pass means something)', async () => {
    const text = rendered.get('ci/test-values.yaml')!.text;
    for (const [broken, message] of [
      [text.replace('readinessProbe:', 'readinesProbe:'), /unknown field "readinesProbe"/],
      [text.replace('targetPort: internal', 'targetPort: internl'), /targets "internl"/],
      [text.replace('kind: PodDisruptionBudget', 'kind: PodDisruptionBudgets'), /unknown apiVersion\/kind "policy\/v1\/PodDisruptionBudgets"/],
      [text.replace('- port: internal', '- port: internl'), /ServiceMonitor "orders-koogallery-orders-api" scrapes port "internl"/],
    ] as const) {
      expect(broken).not.toBe(text);
      const r = await exec(validator, [], broken);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(message);
    }
  });

  it('with metrics.serviceMonitor and metrics.prometheusRule, scrapes the API internal port and the workers, and carries deploy/prometheus/alerts.yaml', () => {
    const file = 'ci/test-values.yaml';
    const canonical = readFileSync(join(repoRoot, 'deploy/prometheus/alerts.yaml'), 'utf8');
    // The chart reads only its own files: its copy must be the same file.
    expect(readFileSync(join(CHART, 'files/prometheus-alerts.yaml'), 'utf8')).toBe(canonical);
    const rule = find(file, 'PrometheusRule', 'orders-koogallery-orders') as K8sObject & { metadata: { labels: Record<string, string> } };
    expect(rule.spec).toEqual(parse(canonical));
    expect(rule.metadata.labels.release).toBe('kube-prometheus-stack');
    type Monitor = K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> } };
    const api = find(file, 'ServiceMonitor', '-api') as Monitor;
    expect(api.spec.endpoints).toEqual([{ port: 'internal', path: '/metrics', interval: '30s' }]);
    expect(api.spec.selector.matchLabels['koogallery-orders/metrics']).toBe('internal');
    const worker = find(file, 'ServiceMonitor', '-worker') as Monitor;
    expect(worker.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
    // Off by default: the operator's CRDs may not be installed.
    expect(objects('ci/cloud-values.yaml').filter((o) => o.kind === 'ServiceMonitor' || o.kind === 'PrometheusRule')).toEqual([]);
  });

  it('runs the commands of the image that compose runs; probes the API on its internal port, the worker by polling', () => {
    const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { command: string[] }> };
    const api = container(find('ci/test-values.yaml', 'Deployment', '-api'));
    const worker = container(find('ci/test-values.yaml', 'Deployment', '-worker'));
    const migrate = container(find('ci/test-values.yaml', 'Job', '-migrate'));
    expect(api.command).toEqual(compose.services.api!.command);
    expect(worker.command).toEqual(compose.services.worker!.command);
    expect(migrate.command).toEqual(compose.services.migrate!.command);

    expect(api.ports).toEqual([
      { name: 'public', containerPort: 8080 },
      { name: 'internal', containerPort: 8081 },
    ]);
    expect(api.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'internal' });
    expect(api.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'internal' });
    expect(api.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'internal' });

    const health = ['node', 'dist/src/platform/temporal/worker-health-cli.js', '--max-age-seconds', '120'];
    expect(existsSync(join(repoRoot, 'src/platform/temporal/worker-health-cli.ts'))).toBe(true);
    expect(worker.readinessProbe?.exec?.command).toEqual(health);
    expect(worker.startupProbe?.exec?.command).toEqual(health);
    expect(worker.livenessProbe?.exec?.command).toEqual([...health, '--tolerate-unreachable']);
  });

  it('routes the public Service to the public port only, and the internal Service to the internal port', () => {
    const ports = (suffix: string) => (find('ci/cloud-values.yaml', 'Service', suffix).spec!.ports as Array<{ targetPort: string }>).map((p) => p.targetPort);
    expect(ports('-api')).toEqual(['public']);
    expect(ports('-api-internal')).toEqual(['internal']);
    expect(ports('-worker-metrics')).toEqual(['metrics']);
    const ingress = find('ci/cloud-values.yaml', 'Ingress', '') as unknown as {
      spec: { tls: Array<{ hosts: string[]; secretName: string }>; rules: Array<{ host: string; http: { paths: Array<{ path: string; backend: { service: { name: string; port: { name: string } } } }> } }> };
    };
    expect(ingress.spec.tls).toEqual([{ hosts: ['orders.example.com'], secretName: 'orders-example-com-tls' }]);
    expect(ingress.spec.rules).toHaveLength(1);
    expect(ingress.spec.rules[0]!.http.paths).toEqual([
      expect.objectContaining({ path: '/koogallery/', backend: { service: { name: 'orders-koogallery-orders-api', port: { name: 'public' } } } }),
    ]);
  });

  it('gives the pods their secrets as files (<KEY>_FILE), never as environment values', () => {
    const file = 'ci/test-values.yaml';
    const secret = find(file, 'Secret', '-secrets');
    const values = secret.stringData!;
    expect(Object.keys(values).sort()).toEqual(['DATABASE_URL', 'DATA_ENCRYPTION_KEY', 'HUAWEI_CLOUD_AK', 'HUAWEI_CLOUD_SK', 'KOOGALLERY_ACCESS_KEY', 'OPS_API_TOKEN']);
    for (const o of [find(file, 'Deployment', '-api'), find(file, 'Deployment', '-worker'), find(file, 'Job', '-migrate')]) {
      const c = container(o);
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
      const mount = c.volumeMounts!.find((m) => m.name === 'secrets')!;
      expect(mount.readOnly, o.metadata.name).toBe(true);
      for (const key of Object.keys(values)) {
        expect(env[key], `${o.metadata.name}: ${key} not in the environment`).toBeUndefined();
        expect(env[`${key}_FILE`], o.metadata.name).toBe(`${mount.mountPath}/${key}`);
      }
      for (const value of Object.values(values)) expect(JSON.stringify(c.env)).not.toContain(value);
      const volume = o.spec!.template!.spec.volumes!.find((v) => v.name === 'secrets')!;
      expect(volume.secret!.secretName).toBe(secret.metadata.name);
      expect(volume.secret!.items!.map((i) => i.key).sort()).toEqual(Object.keys(values).sort());
    }
    // With an existing Secret and Temporal mTLS: the chart makes no Secret, mounts the client certificate.
    const cloud = container(find('ci/cloud-values.yaml', 'Deployment', '-worker'));
    const env = Object.fromEntries((cloud.env ?? []).map((e) => [e.name, e.value]));
    expect(objects('ci/cloud-values.yaml').some((o) => o.kind === 'Secret')).toBe(false);
    expect(env).toMatchObject({
      TEMPORAL_ADDRESS: 'orders.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'orders.a1b2c',
      TEMPORAL_TLS_CERT_PATH: '/etc/koogallery/temporal-tls/tls.crt',
      TEMPORAL_TLS_KEY_PATH: '/etc/koogallery/temporal-tls/tls.key',
      TEMPORAL_TLS_CA_PATH: '/etc/koogallery/temporal-tls/ca.crt',
      TEMPORAL_API_KEY_FILE: '/etc/koogallery/secrets/TEMPORAL_API_KEY',
    });
  });

  it('migrates in a pre-install/pre-upgrade hook, after the chart-made Secret and before any pod', () => {
    const job = find('ci/test-values.yaml', 'Job', '-migrate');
    const secret = find('ci/test-values.yaml', 'Secret', '-secrets');
    for (const o of [job, secret]) expect(o.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(Number(secret.metadata.annotations!['helm.sh/hook-weight'])).toBeLessThan(Number(job.metadata.annotations!['helm.sh/hook-weight']));
    expect((job.spec!.template!.spec as { restartPolicy?: string }).restartPolicy).toBe('Never');
  });

  it('refuses to render without the required secrets, with unknown values, or with a bare IP as the domain', async () => {
    const none = await template([]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('secrets.values.KOOGALLERY_ACCESS_KEY is required');
    const typo = await template(['--values', 'ci/test-values.yaml', '--set', 'api.replicaz=3']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain("additional properties 'replicaz' not allowed");
    const ip = await template(['--values', 'ci/cloud-values.yaml', '--set', 'ingress.host=192.0.2.10']);
    expect(ip.code).not.toBe(0);
    expect(ip.stderr).toMatch(/ingress\/host/);
  });
});
