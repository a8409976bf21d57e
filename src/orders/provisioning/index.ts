import type { AppConfig } from '../../platform/config.js';
import type { Pool } from '../../platform/db/pool.js';
import type { SealedBox } from '../../platform/sealed-box.js';
import { createBuiltinTenantRegistry } from './builtin-tenant-store.js';
import { createHttpProvisioner } from './http-provisioner.js';
import type { Provisioner } from './provisioner.js';

export {
  ProvisionerError,
  isProvisionerError,
  type AdminContacts,
  type CreateOptions,
  type Provisioner,
  type ProvisionerErrorCode,
  type ProvisionerOperation,
  type TenantAccess,
  type TenantSpec,
  type TenantStatus,
} from './provisioner.js';
export {
  createBuiltinTenantRegistry,
  countTenants,
  deriveTenantKey,
  generateTenantPassword,
  listSealedTenantValues,
  replaceSealedTenantValues,
  type BuiltinTenantRegistryOptions,
  type TenantSealedColumn,
} from './builtin-tenant-store.js';
export { createHttpProvisioner, type HttpProvisionerOptions } from './http-provisioner.js';
export { withFaults, type FaultInjectingProvisioner, type ProvisionerFaults, type ProvisionerEffects } from './fault-injecting-provisioner.js';

/** What createProvisioner needs from the composition root. */
export interface ProvisionerDeps {
  pool: Pool;
  sealedBox: SealedBox;
  /** Per-call timeout of the HTTP adapter; keep it under the marketplace's answer budget. */
  httpTimeoutMs?: number;
  fetchImpl?: typeof fetch;
}

/** The configured Provisioner: the built-in tenant registry or the merchant's HTTP API. */
export function createProvisioner(config: AppConfig['provisioner'], deps: ProvisionerDeps): Provisioner {
  switch (config.kind) {
    case 'builtin':
      return createBuiltinTenantRegistry({
        pool: deps.pool,
        sealedBox: deps.sealedBox,
        tenantUrlTemplate: config.tenantUrlTemplate,
        tenantAdminUrlTemplate: config.tenantAdminUrlTemplate,
      });
    case 'http':
      return createHttpProvisioner({
        baseUrl: config.url,
        ...(config.token !== undefined ? { token: config.token } : {}),
        ...(deps.httpTimeoutMs !== undefined ? { timeoutMs: deps.httpTimeoutMs } : {}),
        ...(deps.fetchImpl !== undefined ? { fetchImpl: deps.fetchImpl } : {}),
      });
  }
}
