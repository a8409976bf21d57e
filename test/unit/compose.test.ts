import { existsSync, readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { parse } from 'yaml';
import { ALL_SEARCH_ATTRIBUTE_KEYS } from '../../src/kernel/search-attributes.js';
import { ConfigError, loadConfig } from '../../src/platform/config.js';
import { dockerfileStages, dockerignoreExcludes, dockerignoreRules, type Stage } from '../support/docker-files.js';

// The deployment files are parsed, not run (no Docker engine in CI). Every assertion reads the files, so a
// change to docker-compose.yml, Dockerfile, .dockerignore, src/config.ts or src/kernel/search-attributes.ts
// that breaks the stack's wiring fails here.

const repoFile = (rel: string): URL => new URL(`../../${rel}`, import.meta.url);
const read = (rel: string): string => readFileSync(repoFile(rel), 'utf8');

// ---------------------------------------------------------------- compose model (only what is checked)

type EnvMap = Record<string, string | number | boolean | null>;
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  container_name?: string;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: EnvMap | string[];
  ports?: Array<string | number | { target: number; published?: string | number; host_ip?: string }>;
  expose?: Array<string | number>;
  volumes?: Array<string | { type?: string; source?: string; target: string; read_only?: boolean }>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  init?: boolean;
  restart?: string;
  profiles?: string[];
}
interface Compose {
  version?: unknown;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeText = read('docker-compose.yml');
// merge: true so `<<: *app` behaves as it does in Compose.
const compose = parse(composeText, { merge: true }) as Compose;
const services = compose.services;

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

function envOf(name: string): EnvMap {
  const env = service(name).environment ?? {};
  if (!Array.isArray(env)) return env;
  const out: EnvMap = {};
  for (const entry of env) {
    const i = entry.indexOf('=');
    if (i < 0) out[entry] = null;
    else out[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return out;
}

const asList = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/).filter(Boolean);

function dependsOn(name: string): Record<string, string> {
  const d = service(name).depends_on ?? {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((k) => [k, 'service_started']));
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.condition ?? 'service_started']));
}

interface PortMapping {
  hostIp?: string;
  published?: number;
  target: number;
}
function portsOf(name: string): PortMapping[] {
  return (service(name).ports ?? []).map((p): PortMapping => {
    if (typeof p === 'object') {
      return {
        target: Number(p.target),
        ...(p.published !== undefined ? { published: Number(p.published) } : {}),
        ...(p.host_ip ? { hostIp: p.host_ip } : {}),
      };
    }
    const parts = String(p).replace(/\/(tcp|udp)$/, '').split(':');
    const target = Number(parts.pop());
    const published = parts.length > 0 ? Number(parts.pop()) : undefined;
    const hostIp = parts.length > 0 ? parts.join(':') : undefined;
    return { target, ...(published !== undefined ? { published } : {}), ...(hostIp ? { hostIp } : {}) };
  });
}

function volumesOf(name: string): Array<{ source?: string; target: string }> {
  return (service(name).volumes ?? []).map((v) => {
    if (typeof v === 'object') return { ...(v.source ? { source: v.source } : {}), target: v.target };
    const [source, target] = v.split(':');
    return target === undefined ? { target: source! } : { source: source!, target };
  });
}

// ---------------------------------------------------------------- Compose variable interpolation

class MissingRequiredVariable extends Error {
  constructor(readonly variable: string, message: string) {
    super(`required variable ${variable} is missing a value: ${message}`);
  }
}

/** Compose's ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}, ${VAR+a}, $VAR and $$. */
function interpolate(input: string, env: Record<string, string | undefined>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$') {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    if (next === '{') {
      let depth = 0;
      let end = -1;
      for (let j = i; j < input.length; j++) {
        if (input.startsWith('${', j)) {
          depth++;
          j++;
        } else if (input[j] === '}' && --depth === 0) {
          end = j;
          break;
        }
      }
      if (end < 0) throw new Error(`unterminated \${ in ${JSON.stringify(input)}`);
      const body = input.slice(i + 2, end);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
      if (!m) throw new Error(`invalid interpolation \${${body}}`);
      const [, name, op, arg = ''] = m;
      const value = env[name!];
      const unset = value === undefined;
      const empty = unset || value === '';
      switch (op) {
        case undefined:
          out += value ?? '';
          break;
        case ':-':
          out += empty ? interpolate(arg, env) : value;
          break;
        case '-':
          out += unset ? interpolate(arg, env) : value;
          break;
        case ':?':
          if (empty) throw new MissingRequiredVariable(name!, arg);
          out += value;
          break;
        case '?':
          if (unset) throw new MissingRequiredVariable(name!, arg);
          out += value;
          break;
        case ':+':
          out += empty ? '' : interpolate(arg, env);
          break;
        case '+':
          out += unset ? '' : interpolate(arg, env);
          break;
      }
      i = end;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(input.slice(i + 1));
    if (m) {
      out += env[m[0]] ?? '';
      i += m[0].length;
    } else {
      out += '$';
    }
  }
  return out;
}

/** The environment a service's container gets, given the host environment (shell + .env). */
function containerEnv(name: string, host: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(envOf(name))) {
    if (raw === null) {
      // `KEY:` without a value: taken from the host, left unset when the host does not set it.
      const v = host[key];
      if (v !== undefined) out[key] = v;
    } else {
      out[key] = interpolate(String(raw), host);
    }
  }
  return out;
}

// ---------------------------------------------------------------- facts the stack must agree with

const APP_SERVICES = ['api', 'worker', 'migrate'] as const;
const SCHEMA = 'temporal-schema';
const REGISTER = 'temporal-namespace';
const ONE_SHOT_SERVICES = ['migrate', SCHEMA, REGISTER];

/** Setting names that loadConfig rejects when missing with APP_ENV=production (from src/config.ts itself). */
function requiredInProduction(): string[] {
  try {
    loadConfig({ APP_ENV: 'production' });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => p.split(':')[0]!.trim());
    throw e;
  }
  return [];
}

const HOST_SECRETS = {
  KOOGALLERY_ACCESS_KEY: 'compose-test-access-key',
  HUAWEI_CLOUD_AK: 'COMPOSETESTAK000000',
  HUAWEI_CLOUD_SK: 'compose-test-secret-key',
  DATA_ENCRYPTION_KEY: 'compose-test-data-encryption-key-32',
  OPS_API_TOKEN: 'compose-test-ops-token',
} as const;

/** SearchAttributeType (src) -> `temporal operator search-attribute create --type` value. */
const CLI_TYPE: Record<string, string> = {
  KEYWORD: 'Keyword',
  TEXT: 'Text',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** Pre-allocated custom search attribute columns per namespace in Temporal's SQL (PostgreSQL) visibility. */
const SQL_VISIBILITY_SLOTS: Record<string, number> = {
  Keyword: 10,
  Text: 3,
  Int: 3,
  Double: 3,
  Bool: 3,
  Datetime: 3,
  KeywordList: 3,
};

/** Name=Type pairs passed to the registration service (command or entrypoint, either form of the CLI flags). */
function registeredSearchAttributes(): Map<string, string> {
  const s = service(REGISTER);
  const tokens = [...asList(s.entrypoint), ...asList(s.command)].flatMap((t) => t.split(/\s+/)).filter(Boolean);
  const out = new Map<string, string>();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const pair = /^([A-Za-z][A-Za-z0-9_]*)=([A-Za-z]+)$/.exec(t);
    if (pair) out.set(pair[1]!, pair[2]!);
    if (t === '--name' && tokens[i + 2] === '--type') out.set(tokens[i + 1]!, tokens[i + 3]!);
  }
  return out;
}

// ================================================================ docker-compose.yml

describe('docker-compose.yml', () => {
  it('is a Compose-spec file (no version key) with exactly the expected services', () => {
    expect(compose).not.toHaveProperty('version');
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'migrate', 'postgres', 'proxy', 'temporal', SCHEMA, REGISTER, 'temporal-ui', 'worker'].sort(),
    );
  });

  it('opens with a comment block on running, scaling workers and using an external Temporal / Temporal Cloud', () => {
    const header = composeText
      .split('\n')
      .filter((_, i, lines) => lines.slice(0, i + 1).every((l) => l.startsWith('#') || l.trim() === ''))
      .join('\n');
    for (const needle of [
      'docker compose up',
      '--scale worker=',
      'load balancer',
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'TEMPORAL_API_KEY',
      'TEMPORAL_TLS_CERT_PATH',
      'TEMPORAL_TLS_KEY_PATH',
      'Temporal Cloud',
      'api worker',
      '--profile proxy',
      'KOOGALLERY_DOMAIN',
      '8081',
    ]) {
      expect(header, `header comment should mention ${needle}`).toContain(needle);
    }
  });

  it('publishes the API’s public 8080 and internal 8081, the Temporal UI on 8233 and Temporal gRPC on 7233, all on loopback', () => {
    expect(portsOf('api')).toEqual([
      { hostIp: '127.0.0.1', published: 8080, target: 8080 },
      { hostIp: '127.0.0.1', published: 8081, target: 8081 },
    ]);
    const env = containerEnv('api', { ...HOST_SECRETS });
    expect(env.PORT).toBe('8080');
    expect(env.INTERNAL_PORT).toBe('8081');
    for (const name of ['temporal', 'temporal-ui']) {
      for (const p of portsOf(name)) expect(p.hostIp, `${name} publishes on loopback only`).toBe('127.0.0.1');
    }
    expect(portsOf('temporal-ui')).toEqual([expect.objectContaining({ published: 8233, target: 8080 })]);
    expect(portsOf('temporal')).toEqual([expect.objectContaining({ published: 7233, target: 7233 })]);
    // The UI runs on TEMPORAL_ADDRESS=temporal:7233, inside the compose network.
    expect(envOf('temporal-ui').TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(service('temporal-ui').image).toMatch(/^temporalio\/ui:/);
  });

  it('keeps workers scalable: no container_name and no published port on api/worker replicas beyond 8080/8081', () => {
    for (const name of ['api', 'worker']) expect(service(name)).not.toHaveProperty('container_name');
    expect(service('worker').ports ?? []).toEqual([]);
    expect(portsOf('api').map((p) => p.published)).toEqual([8080, 8081]);
  });

  it('exposes the API to the internet only through the TLS proxy (profile proxy): 80/443, Caddyfile mounted, upstream api:8080', () => {
    const proxy = service('proxy');
    expect(proxy.profiles).toEqual(['proxy']);
    expect(proxy.image).toMatch(/^caddy:2(\.\d+)*$/);
    expect(portsOf('proxy').map((p) => [p.published, p.target])).toEqual([
      [80, 80],
      [443, 443],
    ]);
    const caddyfile = volumesOf('proxy').find((v) => v.target === '/etc/caddy/Caddyfile');
    expect(caddyfile?.source).toBe('./deploy/caddy/Caddyfile');
    expect(existsSync(repoFile('deploy/caddy/Caddyfile'))).toBe(true);
    // Certificates survive restarts.
    expect(compose.volumes ?? {}).toHaveProperty(volumesOf('proxy').find((v) => v.target === '/data')!.source!);
    const env = envOf('proxy');
    expect(env.KOOGALLERY_UPSTREAM).toBe(`api:${containerEnv('api', { ...HOST_SECRETS }).PORT}`);
    expect(env).toHaveProperty('KOOGALLERY_DOMAIN', null); // pass-through: no default domain
    expect(dependsOn('proxy')).toEqual({ api: 'service_healthy' });
    // No other service publishes beyond loopback.
    for (const [name] of Object.entries(services).filter(([n]) => n !== 'proxy')) {
      for (const p of portsOf(name)) expect(p.hostIp, `${name}:${p.published}`).toBe('127.0.0.1');
    }
  });

  it('gives every long-running service a healthcheck; one-shots never restart', () => {
    const oneShots = Object.entries(services)
      .filter(([, s]) => s.restart === 'no')
      .map(([n]) => n)
      .sort();
    expect(oneShots).toEqual([...ONE_SHOT_SERVICES].sort());
    for (const [name, s] of Object.entries(services)) {
      if (ONE_SHOT_SERVICES.includes(name)) continue;
      expect(s.healthcheck?.disable, `${name} healthcheck disabled`).not.toBe(true);
      expect(asList(s.healthcheck?.test).length, `${name} has no healthcheck`).toBeGreaterThan(1);
      expect(asList(s.healthcheck?.test)[0], `${name} healthcheck test form`).toMatch(/^(CMD|CMD-SHELL)$/);
    }
    expect(asList(service('postgres').healthcheck?.test).join(' ')).toContain('pg_isready');
    // The frontend answering a call (its HTTP API), not merely an open port.
    expect(asList(service('temporal').healthcheck?.test)).toEqual(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:7243/api/v1/system-info']);
  });

  it('health-checks the API on /readyz of its internal port, and the worker by asking Temporal whether it polls', () => {
    const api = asList(service('api').healthcheck?.test);
    expect(api.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(api.join(' ')).toContain(`fetch('http://127.0.0.1:${containerEnv('api', { ...HOST_SECRETS }).INTERNAL_PORT}/readyz')`);
    expect(api.join(' ')).toMatch(/process\.exit\(r\.ok\?0:1\)\)\.catch\(\(\)=>process\.exit\(1\)\)/);
    // src/platform/temporal/worker-health-cli.ts, compiled into the image (the Dockerfile checks the file exists).
    const worker = asList(service('worker').healthcheck?.test);
    expect(worker).toEqual(['CMD', 'node', 'dist/src/platform/temporal/worker-health-cli.js']);
    expect(existsSync(repoFile('src/platform/temporal/worker-health-cli.ts'))).toBe(true);
  });

  it('wires start-up order through depends_on conditions', () => {
    expect(dependsOn(SCHEMA)).toEqual({ postgres: 'service_healthy' });
    expect(dependsOn('temporal')).toEqual({ [SCHEMA]: 'service_completed_successfully' });
    expect(dependsOn(REGISTER)).toEqual({ temporal: 'service_healthy' });
    expect(dependsOn('temporal-ui')).toEqual({ temporal: 'service_healthy' });
    expect(dependsOn('migrate')).toEqual({ postgres: 'service_healthy' });
    for (const name of ['api', 'worker']) {
      expect(dependsOn(name), name).toEqual({
        postgres: 'service_healthy',
        migrate: 'service_completed_successfully',
        temporal: 'service_healthy',
        [REGISTER]: 'service_completed_successfully',
      });
    }
    expect(dependsOn('postgres')).toEqual({});
  });

  it('runs api, worker and migrate from one image built from ./Dockerfile', () => {
    const [api, worker, migrate] = APP_SERVICES.map(service);
    expect(api!.image).toBeTruthy();
    expect(worker!.image).toBe(api!.image);
    expect(migrate!.image).toBe(api!.image);
    expect(api!.build).toBeTruthy();
    expect(worker!.build).toEqual(api!.build);
    expect(migrate!.build).toEqual(api!.build);
    const build = typeof api!.build === 'string' ? { context: api!.build } : api!.build!;
    expect(build.context).toBe('.');
    expect(build.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    expect(asList(api!.command)).toEqual(['node', 'dist/src/main/api-server.js']);
    expect(asList(worker!.command)).toEqual(['node', 'dist/worker.js']);
    expect(asList(migrate!.command)).toEqual(['node', 'dist/src/platform/db/migrate-cli.js']);
  });

  it('shares one environment between api, worker and migrate', () => {
    expect(envOf('worker')).toEqual(envOf('api'));
    expect(envOf('migrate')).toEqual(envOf('api'));
  });

  it('provides every setting src/config.ts requires with APP_ENV=production, secrets as required host variables', () => {
    const required = requiredInProduction();
    expect(required).toEqual(expect.arrayContaining(Object.keys(HOST_SECRETS)));
    for (const name of APP_SERVICES) {
      const env = envOf(name);
      expect(env.APP_ENV, name).toBe('production');
      for (const key of required) {
        // ${KEY:?message}: Compose refuses to start (or even parse) the stack without it.
        expect(env[key], `${name}.${key}`).toMatch(new RegExp(`^\\$\\{${key}:\\?[^}]+\\}$`));
      }
    }
  });

  it('yields a valid production configuration for api, worker and migrate', () => {
    for (const name of APP_SERVICES) {
      const config = loadConfig(containerEnv(name, { ...HOST_SECRETS }));
      expect(config.env).toBe('production');
      expect(config.devDefaultsUsed).toEqual([]);
      expect(config.http).toMatchObject({ host: '0.0.0.0', port: 8080 });
      expect(config.workerMetricsPort).toBe(9464);
      expect(config.temporal).toMatchObject({ address: 'temporal:7233', namespace: 'default' });
      expect(config.temporal.tls).toBeUndefined();
      expect(config.temporal.workflowBundlePath).toBe('/app/dist/workflow-bundle.js');
      expect(config.koogallery.apiBase).toBe('https://mkt.myhuaweicloud.com');
      expect(config.koogallery.accessKey).toBe(HOST_SECRETS.KOOGALLERY_ACCESS_KEY);
      expect(config.dataEncryptionKey).toBe(HOST_SECRETS.DATA_ENCRYPTION_KEY);
      const db = new URL(config.database.url);
      expect(db.hostname).toBe('postgres');
      expect(db.port).toBe('5432');
      expect(db.pathname).toBe('/koogallery_orders');
    }
  });

  it('refuses to interpolate when any required secret is missing or empty', () => {
    for (const secret of Object.keys(HOST_SECRETS)) {
      for (const host of [
        Object.fromEntries(Object.entries(HOST_SECRETS).filter(([k]) => k !== secret)),
        { ...HOST_SECRETS, [secret]: '' },
      ]) {
        for (const name of APP_SERVICES) {
          expect(() => containerEnv(name, host), `${name} without ${secret}`).toThrow(MissingRequiredVariable);
          expect(() => containerEnv(name, host)).toThrow(secret);
        }
      }
    }
  });

  it('can point api and worker at an external Temporal cluster or Temporal Cloud from the host environment', () => {
    const cloud = loadConfig(
      containerEnv('worker', {
        ...HOST_SECRETS,
        TEMPORAL_ADDRESS: 'my-ns.a1b2c.tmprl.cloud:7233',
        TEMPORAL_NAMESPACE: 'my-ns.a1b2c',
        TEMPORAL_API_KEY: 'compose-test-api-key',
      }),
    );
    expect(cloud.temporal).toMatchObject({ address: 'my-ns.a1b2c.tmprl.cloud:7233', namespace: 'my-ns.a1b2c', apiKey: 'compose-test-api-key' });
    expect(cloud.temporal.tls).toBeDefined();

    const mtls = loadConfig(
      containerEnv('api', {
        ...HOST_SECRETS,
        TEMPORAL_ADDRESS: 'temporal.internal:7233',
        TEMPORAL_TLS_CERT_PATH: '/run/secrets/temporal/client.pem',
        TEMPORAL_TLS_KEY_PATH: '/run/secrets/temporal/client.key',
      }),
    );
    expect(mtls.temporal.tls).toMatchObject({ certPath: '/run/secrets/temporal/client.pem', keyPath: '/run/secrets/temporal/client.key' });
  });

  it('passes optional settings through only when the host sets them, so the app defaults apply otherwise', () => {
    const unset = containerEnv('api', { ...HOST_SECRETS });
    expect(unset).not.toHaveProperty('TENANT_URL_TEMPLATE');
    expect(unset).not.toHaveProperty('TEMPORAL_API_KEY');
    const defaults = loadConfig({ APP_ENV: 'production', ...HOST_SECRETS });
    expect(loadConfig(unset).provisioner).toEqual(defaults.provisioner);

    const template = 'https://{tenant}.apps.example.com';
    const set = loadConfig(containerEnv('api', { ...HOST_SECRETS, TENANT_URL_TEMPLATE: template }));
    expect(set.provisioner).toMatchObject({ kind: 'builtin', tenantUrlTemplate: template });
  });

  it('runs PostgreSQL 16 with a data volume and creates the app database next to Temporal’s', () => {
    const pg = service('postgres');
    expect(pg.image).toMatch(/^postgres:16(\.|-|$)/);
    const data = volumesOf('postgres').find((v) => v.target === '/var/lib/postgresql/data');
    expect(data?.source, 'named data volume').toBeTruthy();
    expect(compose.volumes ?? {}).toHaveProperty(data!.source!);

    const initdb = volumesOf('postgres').find((v) => v.target === '/docker-entrypoint-initdb.d');
    expect(initdb?.source).toMatch(/^\.\/deploy\//);
    const script = read(`${initdb!.source!.replace(/^\.\//, '')}/10-create-app-database.sh`);
    expect(script).toMatch(/CREATE DATABASE/);
    expect(script).toMatch(/CREATE ROLE/);

    // The database and role the init script creates are the ones DATABASE_URL uses.
    const pgEnv = envOf('postgres');
    const url = new URL(containerEnv('api', { ...HOST_SECRETS }).DATABASE_URL!);
    expect(url.pathname).toBe(`/${String(pgEnv.APP_DB_NAME)}`);
    expect(url.username).toBe(String(pgEnv.APP_DB_USER));
    expect(decodeURIComponent(url.password)).toBe(interpolate(String(pgEnv.APP_DB_PASSWORD), {}));
    expect(url.pathname).toBe('/koogallery_orders');
  });

  it('runs no temporalio/auto-setup (no longer built): temporalio/server with admin-tools of the same version', () => {
    for (const [name, s] of Object.entries(services)) expect(s.image ?? '', name).not.toMatch(/auto-setup/);
    const server = /^temporalio\/server:(1\.\d+\.\d+)$/.exec(service('temporal').image ?? '');
    expect(server, 'temporalio/server:<x.y.z>').not.toBeNull();
    for (const name of [SCHEMA, REGISTER]) expect(service(name).image).toBe(`temporalio/admin-tools:${server![1]}`);
    expect(service('temporal').init).toBe(true);
  });

  it('starts the server from the configuration file in deploy/, mounted read-only, not from environment templating', () => {
    const t = service('temporal');
    const command = asList(t.command);
    expect(command[0]).toBe('temporal-server');
    expect(command.at(-1)).toBe('start');
    const configPath = command[command.indexOf('--config-file') + 1]!;
    const mount = volumesOf('temporal').find((v) => configPath.startsWith(`${v.target}/`));
    expect(mount?.source, 'config directory mounted from deploy/').toMatch(/^\.\/deploy\/temporal\//);
    expect(String(t.volumes?.find((v) => typeof v === 'string' && v.includes(mount!.target)))).toMatch(/:ro$/);
    // The only environment the server gets is the password its config file reads.
    expect(Object.keys(envOf('temporal'))).toEqual(['POSTGRES_PWD']);
  });

  it('configures PostgreSQL 12+ persistence and SQL visibility on the stack’s postgres, with the health-checked HTTP port', () => {
    const { config, dynamicConfig } = temporalServerConfig();
    const pgEnv = envOf('postgres');
    expect(config.persistence.numHistoryShards).toBe(4); // what auto-setup used: existing volumes keep working
    expect(config.persistence.defaultStore).toBe('default');
    expect(config.persistence.visibilityStore).toBe('visibility');
    for (const [store, database] of [
      ['default', 'temporal'],
      ['visibility', 'temporal_visibility'],
    ] as const) {
      expect(config.persistence.datastores[store]!.sql, store).toMatchObject({
        pluginName: 'postgres12',
        databaseName: database,
        connectAddr: 'postgres:5432',
        user: pgEnv.POSTGRES_USER,
        password: interpolate(String(pgEnv.POSTGRES_PASSWORD), {}),
      });
    }
    expect(config.services.frontend!.rpc).toMatchObject({ grpcPort: 7233, httpPort: 7243, bindOnIP: '0.0.0.0' });
    expect(config.global.membership.broadcastAddress).toBe('127.0.0.1');
    expect(asList(service('temporal').healthcheck?.test).join(' ')).toContain(`:${config.services.frontend!.rpc.httpPort}/`);
    expect(portsOf('temporal')[0]!.target).toBe(config.services.frontend!.rpc.grpcPort);
    expect(dynamicConfig).toHaveProperty(['limit.maxIDLength']);
  });

  it('creates and migrates both schemas in a one-shot admin-tools job before the server starts', () => {
    const s = service(SCHEMA);
    const env = envOf(SCHEMA);
    const pgEnv = envOf('postgres');
    expect(env).toMatchObject({ SQL_PLUGIN: 'postgres12', SQL_HOST: 'postgres', SQL_PORT: '5432', SQL_USER: pgEnv.POSTGRES_USER });
    expect(env.SQL_PASSWORD).toBe(pgEnv.POSTGRES_PASSWORD);
    const mount = volumesOf(SCHEMA).find((v) => asList(s.entrypoint).includes(v.target));
    expect(mount?.source).toMatch(/^\.\/deploy\/temporal\/.+\.sh$/);
    const script = read(mount!.source!.replace(/^\.\//, ''));
    for (const step of ['create --defaultdb postgres', 'setup-schema -v 0.0', 'update-schema --schema-name "$schema"']) {
      expect(script, step).toContain(`temporal-sql-tool --db "$db" ${step}`.replace('"$db" create', '"$1" create'));
    }
    expect(script).toContain('for pair in "$DB:temporal" "$VISIBILITY_DB:visibility"');
    expect(script).toContain('DB="${TEMPORAL_DB:-temporal}"');
    expect(script).toContain('VISIBILITY_DB="${TEMPORAL_VISIBILITY_DB:-temporal_visibility}"');
    expect(script).toContain('schema="postgresql/v12/${pair#*:}"');
    // The server's config file names the same two databases.
    const { config } = temporalServerConfig();
    expect(Object.values(config.persistence.datastores).map((d) => d.sql.databaseName).sort()).toEqual(['temporal', 'temporal_visibility']);
  });

  it('registers every search attribute of src/kernel/search-attributes.ts, with its type, and nothing else', () => {
    const expected = new Map(ALL_SEARCH_ATTRIBUTE_KEYS.map((k) => [k.name, CLI_TYPE[k.type]]));
    expect(expected.size).toBe(ALL_SEARCH_ATTRIBUTE_KEYS.length);
    expect(Object.fromEntries(registeredSearchAttributes())).toEqual(Object.fromEntries(expected));
  });

  it('fits the registered attributes into SQL visibility’s per-type slots', () => {
    const perType = new Map<string, number>();
    for (const type of registeredSearchAttributes().values()) perType.set(type, (perType.get(type) ?? 0) + 1);
    for (const [type, count] of perType) {
      expect(SQL_VISIBILITY_SLOTS[type], `unknown type ${type}`).toBeDefined();
      expect(count, `${type} attributes`).toBeLessThanOrEqual(SQL_VISIBILITY_SLOTS[type]!);
    }
  });

  it('creates the namespace and registers the attributes idempotently, with a one-shot admin-tools container', () => {
    const s = service(REGISTER);
    expect(s.image).toMatch(/^temporalio\/admin-tools:1\.\d+/);
    expect(s.restart).toBe('no');
    expect(envOf(REGISTER)).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'default' });
    expect(interpolate(String(envOf(REGISTER).TEMPORAL_NAMESPACE_RETENTION), {})).toBe('30d');
    // The entrypoint runs the script that is bind-mounted from deploy/ (test/integration/deploy runs it for real).
    const mount = volumesOf(REGISTER).find((v) => asList(s.entrypoint).includes(v.target));
    expect(mount?.source).toMatch(/^\.\/deploy\/.+\.sh$/);
    const script = read(mount!.source!.replace(/^\.\//, ''));
    expect(script).toContain('temporal operator namespace create');
    expect(script).toContain('temporal operator search-attribute create');
    expect(script).toContain('temporal operator search-attribute list');
    expect(script).toMatch(/--namespace "\$NAMESPACE"/);
    expect(script).toMatch(/NAMESPACE="\$\{TEMPORAL_NAMESPACE:-default\}"/);
    const code = script.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    expect(code).not.toMatch(/\bjq\b/); // the 1.3x admin-tools image has no jq
    expect(script).toMatch(/MAX_ATTEMPTS/); // retries until the server and namespace are up
  });
});

// ---------------------------------------------------------------- Temporal server configuration file

interface TemporalServerConfig {
  persistence: {
    numHistoryShards: number;
    defaultStore: string;
    visibilityStore: string;
    datastores: Record<string, { sql: { pluginName: string; databaseName: string; connectAddr: string; user: string; password: string } }>;
  };
  global: { membership: { broadcastAddress: string } };
  services: Record<string, { rpc: { grpcPort: number; httpPort?: number; bindOnIP: string } }>;
  dynamicConfigClient: { filepath: string };
}

/**
 * The server's config file as the server reads it: rendered as its Go template with the temporal service's
 * environment. Only the template constructs the file uses are understood; any other `{{` fails the test, so the file
 * cannot quietly grow templating this check does not see.
 */
function temporalServerConfig(): { config: TemporalServerConfig; dynamicConfig: Record<string, unknown> } {
  const command = asList(service('temporal').command);
  const configPath = command[command.indexOf('--config-file') + 1]!;
  const toRepo = (containerPath: string): string => {
    const mount = volumesOf('temporal').find((v) => containerPath.startsWith(`${v.target}/`));
    if (!mount?.source) throw new Error(`${containerPath} is not in a mounted directory`);
    return `${mount.source.replace(/^\.\//, '')}${containerPath.slice(mount.target.length)}`;
  };
  const text = read(toRepo(configPath));
  expect(text.split('\n')[0]).toBe('# enable-template');
  const env = containerEnv('temporal', {});
  const vars: Record<string, string> = {};
  const rendered = text
    .replace(/\{\{- if not \(env "(\w+)"\) \}\}\{\{ fail "[^"]*" \}\}\{\{ end \}\}/g, (_, name: string) => {
      if (!env[name]) throw new Error(`the config template fails without ${name}`);
      return '';
    })
    // The deployment-specific values default to the compose stack's literal: `env "X" | default "lit"`, optionally
    // bound to a variable first (`{{- $v := … }}`, used as `{{ $v | quote }}`), optionally quoted.
    .replace(/\{\{- \$(\w+) := env "(\w+)" \| default "([^"]*)" \}\}/g, (_, v: string, name: string, lit: string) => {
      vars[v] = env[name] || lit;
      return '';
    })
    .replace(/\{\{ \$(\w+) \| quote \}\}/g, (_, v: string) => {
      if (!(v in vars)) throw new Error(`template variable $${v} is used before it is set`);
      return JSON.stringify(vars[v]);
    })
    .replace(/\{\{ env "(\w+)"(?: \| default "([^"]*)")?( \| quote)? \}\}/g, (_, name: string, lit: string | undefined, quote: string | undefined) => {
      const value = env[name] || (lit ?? '');
      return quote ? JSON.stringify(value) : value;
    });
  expect(rendered, 'unknown template construct').not.toContain('{{');
  const config = parse(rendered) as TemporalServerConfig;
  const dynamicConfig = parse(read(toRepo(config.dynamicConfigClient.filepath))) as Record<string, unknown>;
  return { config, dynamicConfig };
}

// ================================================================ Dockerfile and .dockerignore

function envInstructions(stage: Stage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { op, args } of stage.instructions) {
    if (op !== 'ENV') continue;
    if (!args.includes('=')) {
      const [k, ...v] = args.split(/\s+/);
      out[k!] = v.join(' ');
      continue;
    }
    for (const m of args.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) out[m[1]!] = m[3] ?? m[2]!;
  }
  return out;
}

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const stages = dockerfileStages(text);
  const runtime = stages.at(-1)!;
  const stageByName = (name: string): Stage | undefined => stages.find((s) => s.name === name);

  it('is a multi-stage build on node:22-bookworm-slim, the major of package.json engines (glibc for the worker core-bridge, not alpine)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const enginesMajor = /^>=(\d+)\./.exec((JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node)?.[1];
    expect(enginesMajor).toBe('22');
    for (const s of stages) {
      expect(s.image).toMatch(/^node:22(\.\d+)*-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
      expect(s.image).not.toMatch(/alpine/);
    }
  });

  it('compiles and bundles in a build stage, and ships that stage’s dist/ including the files compose runs', () => {
    const fromStages = runtime.instructions
      .filter((i) => i.op === 'COPY' && /--from=\S+/.test(i.args) && /\bdist\b/.test(i.args))
      .map((i) => /--from=(\S+)/.exec(i.args)![1]!);
    expect(fromStages.length).toBe(1);
    const build = stageByName(fromStages[0]!);
    expect(build?.instructions.some((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args) && !/--omit=dev/.test(i.args))).toBe(true);
    const buildRun = build!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(buildRun).toContain('npm run build');
    for (const name of APP_SERVICES) {
      const js = asList(service(name).command)[1]!;
      expect(buildRun, `build stage verifies ${js}`).toContain(`test -f ${js}`);
    }
    expect(buildRun).toContain('test -f dist/workflow-bundle.js');
    // The worker's health check runs a compiled file of the image too.
    const healthJs = asList(service('worker').healthcheck?.test)[2]!;
    expect(buildRun, `build stage verifies ${healthJs}`).toContain(`test -f ${healthJs}`);
  });

  it('installs production dependencies only into the runtime image', () => {
    const runtimeRuns = runtime.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(runtimeRuns).not.toMatch(/\bnpm (install|i)\b/);
    const ownCi = /\bnpm ci\b[^\n&|;]*--omit=dev/.test(runtimeRuns);
    const nodeModules = runtime.instructions.find((i) => i.op === 'COPY' && /node_modules/.test(i.args));
    if (!ownCi) {
      const from = /--from=(\S+)/.exec(nodeModules?.args ?? '')?.[1];
      const deps = from ? stageByName(from) : undefined;
      expect(deps, 'node_modules copied from a named stage').toBeDefined();
      const depsRuns = deps!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
      expect(depsRuns).toMatch(/\bnpm ci\b[^\n&|;]*--omit=dev/);
      expect(depsRuns).not.toMatch(/\bnpm ci\b(?![^\n&|;]*--omit=dev)/);
    } else {
      expect(runtimeRuns).not.toMatch(/\bnpm ci\b(?![^\n&|;]*--omit=dev)/);
    }
  });

  it('sets NODE_ENV=production and APP_ENV=production, and points the worker at the prebuilt bundle', () => {
    const env = envInstructions(runtime);
    expect(env.NODE_ENV).toBe('production');
    expect(env.APP_ENV).toBe('production');
    expect(env.TEMPORAL_WORKFLOW_BUNDLE).toBe('/app/dist/workflow-bundle.js');
    expect(runtime.instructions.find((i) => i.op === 'WORKDIR')?.args).toBe('/app');
  });

  it('copies migrations/ into the runtime image', () => {
    expect(runtime.instructions.some((i) => i.op === 'COPY' && !/--from=/.test(i.args) && /^migrations\/?\s/.test(i.args))).toBe(true);
  });

  it('runs as a non-root user', () => {
    const users = runtime.instructions.filter((i) => i.op === 'USER').map((i) => i.args.split(':')[0]!);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)$/);
    // Nothing after the last USER switches back or runs as root.
    const lastUser = runtime.instructions.map((i) => i.op).lastIndexOf('USER');
    expect(runtime.instructions.slice(lastUser + 1).some((i) => i.op === 'RUN' || i.op === 'USER')).toBe(false);
  });

  it('never copies .env files: no COPY/ADD names them and .dockerignore keeps them out of the context', () => {
    for (const s of stages) {
      for (const i of s.instructions) {
        if (i.op === 'COPY' || i.op === 'ADD') expect(i.args, `${i.op} ${i.args}`).not.toMatch(/\.env\b/);
      }
    }
    const rules = dockerignoreRules(read('.dockerignore'));
    for (const p of ['.env', '.env.local', '.env.production', 'src/.env', 'src/.env.local', 'deploy/.env', 'migrations/.env', 'scripts/.env.production']) {
      expect(dockerignoreExcludes(rules, p), `${p} must be ignored`).toBe(true);
    }
    for (const p of ['.git/config', 'node_modules/pg/package.json', 'dist/worker.js', 'test/unit/compose.test.ts']) {
      expect(dockerignoreExcludes(rules, p), `${p} should be ignored`).toBe(true);
    }
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'worker.ts', 'src/config.ts', 'scripts/build-bundle.ts', 'migrations/001_init.sql']) {
      expect(dockerignoreExcludes(rules, p), `${p} is needed by the build`).toBe(false);
    }
  });
});
