// The provisioning port: how order activities create and manage the merchant's tenant for one instance.
// Every operation is keyed by instanceId and idempotent, because Temporal retries activities whose outcome it
// does not know: a repeat must converge on the same tenant, never create a second one or new credentials.

/** What to provision: the commercial facts of the order line. */
export interface TenantSpec {
  productId?: string;
  skuCode?: string;
  chargingMode?: string;
  spec: Readonly<Record<string, string | number>>;
  trial: boolean;
  /** ISO-8601. */
  expireTime?: string;
  customerId?: string;
  customerName?: string;
  testOrder: boolean;
}

/**
 * How to reach the buyer, for the tenant's admin account: the marketplace sends the contacts the product asks for
 * (V1 newInstance: mobilePhone/email when the listing creates accounts "by mobile number"/"by e-mail"; V2: Query
 * Order's buyerInfo). Personal data: an adapter may store it only sealed, and must never log it or echo it in errors.
 */
export interface AdminContacts {
  mobilePhone?: string;
  email?: string;
}

/** What create needs besides the spec. */
export interface CreateOptions {
  /** The buyer's contacts; absent when the marketplace sent none. */
  contacts?: AdminContacts;
}

/** How the customer reaches the tenant (returned to the marketplace; the password is shown to the buyer). */
export interface TenantAccess {
  frontEndUrl: string;
  adminUrl?: string;
  userName: string;
  password: string;
  memo?: string;
}

/** A tenant's lifecycle status. */
export type TenantStatus = 'ACTIVE' | 'FROZEN' | 'DELETED';

/** The names of the Provisioner operations (fault injection, idempotency keys, metrics). */
export type ProvisionerOperation = 'create' | 'changeSpec' | 'freeze' | 'resume' | 'remove' | 'get';

/** The provisioning port; implementations: built-in tenant registry and the merchant's HTTP API. */
export interface Provisioner {
  /** Which adapter this is ('builtin', 'http'). */
  readonly kind: string;
  /**
   * Creates the tenant and its admin account; idempotent: a repeat returns the SAME access (same password).
   * MOBILE_REJECTED / EMAIL_REJECTED when the admin account cannot be created with the buyer's contact.
   */
  create(instanceId: string, spec: TenantSpec, options?: CreateOptions): Promise<TenantAccess>;
  /** Applies a new spec; idempotent; TENANT_NOT_FOUND when there is no live tenant. */
  changeSpec(instanceId: string, spec: TenantSpec): Promise<void>;
  /** Suspends the tenant, keeping its data; idempotent; TENANT_NOT_FOUND when there is no live tenant. */
  freeze(instanceId: string): Promise<void>;
  /** Lifts a freeze; idempotent; TENANT_NOT_FOUND when there is no live tenant. */
  resume(instanceId: string): Promise<void>;
  /** Deletes the tenant; idempotent: removing an unknown or removed tenant succeeds. */
  remove(instanceId: string): Promise<void>;
  /** The tenant's access and status, or undefined when it never existed. */
  get(instanceId: string): Promise<(TenantAccess & { status: TenantStatus }) | undefined>;
}

/** Why a provisioner call failed. */
export type ProvisionerErrorCode = 'PROVISIONING_REJECTED' | 'MOBILE_REJECTED' | 'EMAIL_REJECTED' | 'PROVISIONER_UNAVAILABLE' | 'TENANT_NOT_FOUND';

/**
 * A failed provisioner call. PROVISIONING_REJECTED will never succeed (bad spec, quota): not retryable.
 * MOBILE_REJECTED / EMAIL_REJECTED: create refused the buyer's mobile number / e-mail address for the admin account
 * (missing, invalid, or already used; the marketplace's 000101 / 000102): not retryable either.
 * PROVISIONER_UNAVAILABLE: retry later. TENANT_NOT_FOUND: changeSpec/freeze/resume on a tenant that does not exist.
 */
export class ProvisionerError extends Error {
  /** True only for PROVISIONER_UNAVAILABLE. */
  readonly retryable: boolean;
  constructor(
    readonly code: ProvisionerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProvisionerError';
    this.retryable = code === 'PROVISIONER_UNAVAILABLE';
  }
}

/** True when `err` is a ProvisionerError (optionally with the given code). */
export function isProvisionerError(err: unknown, code?: ProvisionerErrorCode): err is ProvisionerError {
  return err instanceof ProvisionerError && (code === undefined || err.code === code);
}
