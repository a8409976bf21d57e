import { z } from 'zod';
import { parseLicenseTime } from '../koogallery/license-requests.js';
import { createOpenApiCaller, MarketplaceApiError, MarketplaceErrorCode, type OpenApiAnswer, type OpenApiCallerOptions } from './open-api-call.js';

// Our client of the license-code open APIs (spec §7.2, License 授权码 2.0): the merchant's client software activates a
// code through this service, which calls license/activate, and keeps it alive with license/heartbeat. APIG AK/SK
// signed like Query Order. Answer: {error_code, error_msg, data: License}, error codes 9202xxxx.
//
// UNCONFIRMED (the field lists were not retrieved): we send {license, deviceFingerprint} (`license` is what the 2.0
// production interface calls the code); success is an answer with `data` and an error_code that is absent, empty,
// all zeros, MKT.0000 or 000000; the License object is read tolerantly (see licenseDataSchema).

/** Path of license/activate below the API base (the v1 one; §7.2 also lists a v2). */
export const LICENSE_ACTIVATE_PATH = '/api/mkp-openapi-public/global/v1/license/activate';
/** Path of license/heartbeat below the API base. */
export const LICENSE_HEARTBEAT_PATH = '/api/mkp-openapi-public/global/v1/license/heartbeat';

/** What the marketplace says about a code, as far as we read it. */
export interface MarketplaceLicense {
  readonly license: string;
  readonly orderId?: string;
  readonly orderLineId?: string;
  readonly productId?: string;
  readonly skuCode?: string;
  readonly customerId?: string;
  /** ISO-8601. */
  readonly expireTime?: string;
  /** The marketplace's status text of the code, passed through. */
  readonly status?: string;
}

const text = z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().min(1).max(256)).optional().catch(undefined);
/** The License object, read tolerantly: unknown fields dropped, unreadable ones ignored. */
const licenseDataSchema = z.object({
  license: text,
  licenseCode: text,
  orderId: text,
  orderLineId: text,
  productId: text,
  skuCode: text,
  customerId: text,
  expireTime: text,
  status: text,
});

const isSuccess = (code: string | undefined): boolean => code === undefined || code === '' || /^0+$/.test(code) || code === 'MKT.0000' || code === '000000';

/** Creates the license-code client. */
export function createLicenseCodeClient(options: OpenApiCallerOptions) {
  const caller = createOpenApiCaller(options);

  function read(a: OpenApiAnswer, code: string, label: string): MarketplaceLicense {
    const data = (a.json as { data?: unknown } | null)?.data;
    if (!isSuccess(a.code)) {
      // 9202xxxx: the marketplace refused this code (unknown, released, bound elsewhere...): not worth retrying.
      const refused = a.code !== undefined && /^9202\d{4}$/.test(a.code);
      throw new MarketplaceApiError(refused ? MarketplaceErrorCode.LicenseCodeRefused : MarketplaceErrorCode.Unavailable, `${label} for a code answered ${a.code}${a.message ? ` (${a.message})` : ''}`, {
        status: a.status,
        ...(a.code !== undefined ? { resultCode: a.code } : {}),
      });
    }
    const parsed = licenseDataSchema.safeParse(data);
    if (!parsed.success || a.status < 200 || a.status >= 300) {
      throw new MarketplaceApiError(MarketplaceErrorCode.BadResponse, `${label} at ${a.where} answered HTTP ${a.status} without a License`, { status: a.status });
    }
    const d = parsed.data;
    const expire = d.expireTime ? parseLicenseTime(d.expireTime) : undefined;
    const optional = { orderId: d.orderId, orderLineId: d.orderLineId, productId: d.productId, skuCode: d.skuCode, customerId: d.customerId, status: d.status, expireTime: expire?.toISOString() };
    return { license: d.license ?? d.licenseCode ?? code, ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) };
  }

  const call = (path: string, label: string) => (code: string, deviceFingerprint?: string) =>
    caller.call({ method: 'POST', path, body: { license: code, ...(deviceFingerprint ? { deviceFingerprint } : {}) }, label }, (a) => read(a, code, label));

  return {
    /** Activates a code (idempotent at the marketplace for the same device, UNCONFIRMED); throws MarketplaceApiError. */
    activate: call(LICENSE_ACTIVATE_PATH, 'license/activate'),
    /** Reports the code alive and reads its current state; throws MarketplaceApiError. */
    heartbeat: call(LICENSE_HEARTBEAT_PATH, 'license/heartbeat'),
  };
}

/** The license-code client's type. */
export type LicenseCodeClient = ReturnType<typeof createLicenseCodeClient>;
