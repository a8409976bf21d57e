import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ProvisionerError, type AdminContacts, type Provisioner, type ProvisionerErrorCode, type ProvisionerOperation, type TenantAccess, type TenantSpec } from './provisioner.js';

// The HTTP provisioner: calls the merchant's own product API, which implements this contract.
//
//   PUT    {base}/tenants/{instanceId}          body: TenantSpec + adminContacts?  → 200/201 TenantAccess JSON
//   PATCH  {base}/tenants/{instanceId}/spec     body: TenantSpec   → 2xx
//   POST   {base}/tenants/{instanceId}/freeze                      → 2xx
//   POST   {base}/tenants/{instanceId}/resume                      → 2xx
//   DELETE {base}/tenants/{instanceId}                             → 2xx, or 404/410 (already gone: success)
//   GET    {base}/tenants/{instanceId}                             → 200 TenantAccess JSON + "status", or 404
//
//   TenantSpec:   { productId?, skuCode?, chargingMode?, spec: {name: string|number}, trial, expireTime? (ISO-8601),
//                   customerId?, customerName?, testOrder }
//   TenantAccess: { frontEndUrl, adminUrl?, userName, password, memo? };  status: "ACTIVE" | "FROZEN" | "DELETED"
//   adminContacts: { mobilePhone?, email? } — the buyer's contacts for the tenant's admin account, in plain text (the
//                 call is the merchant's own API over TLS); absent when the marketplace sent none. Personal data.
//
// instanceId is URL-encoded (in the path and in the key below). Requests carry `Authorization: Bearer <token>` (when
// configured), `Content-Type: application/json`, and on every non-GET request `Idempotency-Key: <instanceId>:<operation>`
// (operation: create, freeze, resume, remove; for a spec change `<instanceId>:changeSpec:<16 hex of SHA-256 of the
// body>`, because one instance may change spec several times). We retry whenever an outcome is unknown, so every operation MUST be
// idempotent on the merchant's side: a repeated PUT returns the SAME access (same password), freeze/resume/spec are
// state sets, DELETE of an unknown tenant answers 2xx or 404. Do not answer a repeated key from a response cache
// across operations: freeze → resume → freeze legitimately repeats `<instanceId>:freeze`.
//
// Answers: 400/409/422 = rejected for good (bad spec, quota; the purchase fails; put the reason in a JSON
// "message"); with a JSON "code" of "MOBILE_REJECTED" or "EMAIL_REJECTED" on create, the admin account cannot be
// created with the buyer's mobile number / e-mail address (missing, invalid or already used: the marketplace is
// answered 000101 / 000102); 404 on spec/freeze/resume = no such tenant; 429, 5xx, timeouts and network errors = retried later.
// Anything else (401/403, other 4xx, an invalid body, or a create answered without access, e.g. 202) is also retried
// later: it is a configuration fault, a transient proxy page or "not ready yet", not a verdict on the order.
// Calls time out after timeoutMs (default 3 s).

/** Options of createHttpProvisioner. */
export interface HttpProvisionerOptions {
  /** The merchant API's base URL, e.g. https://provisioning.example.com/api/v1 (no credentials, query or fragment). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`; never appears in errors. */
  token?: string;
  /** Per call, covering headers and body. */
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

const optionalText = z
  .string()
  .nullish()
  .transform((v) => (v === null || v === undefined || v === '' ? undefined : v));

const tenantAccessSchema = z.object({
  frontEndUrl: z.string().min(1),
  adminUrl: optionalText,
  userName: z.string().min(1),
  password: z.string().min(1),
  memo: optionalText,
});

const tenantStateSchema = tenantAccessSchema.extend({ status: z.enum(['ACTIVE', 'FROZEN', 'DELETED']) });

const MAX_MESSAGE_TEXT = 200;

const describeError = (err: unknown): string => {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
  // undici reports the socket error (ECONNREFUSED, ECONNRESET…) as the cause of a generic "fetch failed".
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return err.message + cause;
};

/** The refusals of a create that name the buyer's contact (JSON "code" of a 400/409/422 answer). */
const CONTACT_REFUSALS: ReadonlySet<string> = new Set<ProvisionerErrorCode>(['MOBILE_REJECTED', 'EMAIL_REJECTED']);

/** The merchant's error code from an error answer's JSON "code", when it is one of ours; undefined otherwise. */
function refusalCodeOf(text: string): ProvisionerErrorCode | undefined {
  try {
    const json = JSON.parse(text) as unknown;
    const code = json !== null && typeof json === 'object' ? (json as Record<string, unknown>)['code'] : undefined;
    return typeof code === 'string' && CONTACT_REFUSALS.has(code) ? (code as ProvisionerErrorCode) : undefined;
  } catch {
    return undefined;
  }
}

/** The merchant's reason from an error answer ("message" or "error"), clipped; empty when there is none. */
function reasonOf(text: string): string {
  let reason: unknown;
  try {
    const json = JSON.parse(text) as unknown;
    if (json !== null && typeof json === 'object') {
      const o = json as Record<string, unknown>;
      reason = o['message'] ?? o['error'] ?? o['reason'];
    }
  } catch {
    return '';
  }
  if (typeof reason !== 'string' || reason === '') return '';
  return ` (${reason.length > MAX_MESSAGE_TEXT ? reason.slice(0, MAX_MESSAGE_TEXT) + '…' : reason})`;
}

function checkBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new RangeError('provisioner baseUrl is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError('provisioner baseUrl must be http(s)');
  // fetch refuses URLs with credentials and would echo the URL (and its password) in the error.
  if (url.username !== '' || url.password !== '') throw new RangeError('provisioner baseUrl must not contain credentials; use the token');
  if (url.search !== '' || url.hash !== '') throw new RangeError('provisioner baseUrl must not have a query or fragment');
  return url.toString().replace(/\/+$/, '');
}

/** Creates the HTTP Provisioner (kind 'http') for the merchant's product API. */
export function createHttpProvisioner(options: HttpProvisionerOptions): Provisioner {
  const { token, timeoutMs = 3000, fetchImpl = fetch } = options;
  const base = checkBaseUrl(options.baseUrl);

  // Belt and braces: a merchant API that echoes request headers must not put our token into our logs, nor one that
  // echoes the buyer's contact ("+8613800001234 is already used") the contact: error messages end up in workflow
  // histories and logs.
  const scrubWith = (s: string, secrets: readonly (string | undefined)[]): string =>
    secrets.reduce<string>((out, secret) => (secret ? out.split(secret).join('***') : out), s);
  const scrub = (s: string): string => scrubWith(s, [token]);

  interface Call {
    operation: ProvisionerOperation;
    method: 'PUT' | 'PATCH' | 'POST' | 'DELETE' | 'GET';
    instanceId: string;
    suffix?: string;
    body?: unknown;
  }

  /** One request; returns status and text, or throws PROVISIONER_UNAVAILABLE on network failure or timeout. */
  async function send(call: Call): Promise<{ status: number; text: string; where: string }> {
    const { operation, method, instanceId, suffix = '', body } = call;
    // '.' and '..' survive encodeURIComponent and would be resolved as path segments (even as %2E), hitting another URL.
    if (instanceId === '' || instanceId === '.' || instanceId === '..') {
      throw new ProvisionerError('PROVISIONING_REJECTED', `http ${operation}: instanceId ${JSON.stringify(instanceId)} cannot name a tenant`);
    }
    const path = `/tenants/${encodeURIComponent(instanceId)}${suffix}`;
    const where = `${method} ${base}${path}`;
    const json = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (json !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers['Authorization'] = `Bearer ${token}`;
    if (method !== 'GET') {
      // Encoded like the path: header values must be ASCII, and an instanceId may not be.
      const id = encodeURIComponent(instanceId);
      headers['Idempotency-Key'] =
        operation === 'changeSpec'
          ? `${id}:changeSpec:${createHash('sha256').update(json ?? '').digest('hex').slice(0, 16)}`
          : `${id}:${operation}`;
    }
    try {
      // One signal for the whole exchange, so a server that stalls mid-body also times out.
      const signal = AbortSignal.timeout(timeoutMs);
      const res = await fetchImpl(base + path, { method, headers, ...(json !== undefined ? { body: json } : {}), signal });
      const text = await res.text();
      return { status: res.status, text, where };
    } catch (err) {
      throw new ProvisionerError('PROVISIONER_UNAVAILABLE', scrub(`provisioner ${operation} at ${where} failed: ${describeError(err)}`), {
        cause: err,
      });
    }
  }

  /** Maps a non-success answer to a ProvisionerError. */
  function failure(operation: ProvisionerOperation, where: string, status: number, text: string, contacts?: AdminContacts): ProvisionerError {
    const what = scrubWith(`provisioner ${operation} at ${where} answered HTTP ${status}${reasonOf(text)}`, [token, contacts?.mobilePhone, contacts?.email]);
    if (status === 400 || status === 409 || status === 422) {
      const contactRefusal = operation === 'create' ? refusalCodeOf(text) : undefined;
      return new ProvisionerError(contactRefusal ?? 'PROVISIONING_REJECTED', what);
    }
    if ((status === 404 || status === 410) && operation !== 'create') return new ProvisionerError('TENANT_NOT_FOUND', what);
    // 5xx, 429, and the rest (auth, a misrouted base URL, a create answered 202): not a verdict on the order.
    return new ProvisionerError('PROVISIONER_UNAVAILABLE', what);
  }

  /** Parses and validates a JSON answer; an invalid one may be a transient proxy page, so it is retried. */
  function parse<T>(operation: ProvisionerOperation, where: string, status: number, text: string, schema: z.ZodType<T>): T {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ProvisionerError('PROVISIONER_UNAVAILABLE', scrub(`provisioner ${operation} at ${where} answered HTTP ${status} with non-JSON`));
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      throw new ProvisionerError('PROVISIONER_UNAVAILABLE', scrub(`provisioner ${operation} at ${where} answered an invalid body: ${issues}`));
    }
    return parsed.data;
  }

  /** A state-setting call whose only answer is its status. */
  async function command(call: Call): Promise<void> {
    const { status, text, where } = await send(call);
    if (status >= 200 && status < 300) return;
    if (call.operation === 'remove' && (status === 404 || status === 410)) return;
    throw failure(call.operation, where, status, text);
  }

  const toAccess = (a: z.infer<typeof tenantAccessSchema>): TenantAccess => ({
    frontEndUrl: a.frontEndUrl,
    ...(a.adminUrl !== undefined ? { adminUrl: a.adminUrl } : {}),
    userName: a.userName,
    password: a.password,
    ...(a.memo !== undefined ? { memo: a.memo } : {}),
  });

  return {
    kind: 'http',

    async create(instanceId: string, spec: TenantSpec, options) {
      const contacts = options?.contacts;
      const body = contacts && (contacts.mobilePhone !== undefined || contacts.email !== undefined) ? { ...spec, adminContacts: contacts } : spec;
      const { status, text, where } = await send({ operation: 'create', method: 'PUT', instanceId, body });
      if (status !== 200 && status !== 201) throw failure('create', where, status, text, contacts);
      return toAccess(parse('create', where, status, text, tenantAccessSchema));
    },

    changeSpec: (instanceId, spec) => command({ operation: 'changeSpec', method: 'PATCH', instanceId, suffix: '/spec', body: spec }),
    freeze: (instanceId) => command({ operation: 'freeze', method: 'POST', instanceId, suffix: '/freeze' }),
    resume: (instanceId) => command({ operation: 'resume', method: 'POST', instanceId, suffix: '/resume' }),
    remove: (instanceId) => command({ operation: 'remove', method: 'DELETE', instanceId }),

    async get(instanceId) {
      const { status, text, where } = await send({ operation: 'get', method: 'GET', instanceId });
      if (status === 404 || status === 410) return undefined;
      if (status !== 200) throw failure('get', where, status, text);
      const state = parse('get', where, status, text, tenantStateSchema);
      return { ...toAccess(state), status: state.status };
    },
  };
}
