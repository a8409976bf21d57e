import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { formatCompactUtc } from '../../src/koogallery/index.js';
import { LICENSE_ACTIVATE_PATH, LICENSE_HEARTBEAT_PATH } from '../../src/marketplace-api/license-code-client.js';

// The marketplace's license codes (License 授权码 2.0, spec §7.2) as the simulator plays them: codes sold with an order,
// activated once per device through license/activate, kept alive with license/heartbeat. Wire shape our pick where
// the spec is silent (UNCONFIRMED, as in src/marketplace-api/license-code-client.ts): request {license,
// deviceFingerprint}, answer {error_code, error_msg, data: License}, refusals 9202xxxx.

/** Our picks for the 9202xxxx refusals. */
export const SIM_LICENSE_CODE_ERRORS = {
  Unknown: '92020001',
  Released: '92020002',
  OtherDevice: '92020003',
  NotActivated: '92020004',
} as const;

/** One simulated code. */
export interface SimLicenseCode {
  license: string;
  orderId: string;
  orderLineId: string;
  productId: string;
  skuCode: string;
  customerId: string;
  /** yyyyMMddHHmmss */
  expireTime: string;
  status: 'UNUSED' | 'ACTIVE' | 'FROZEN' | 'RELEASED';
  deviceFingerprint?: string;
  activations: number;
  heartbeats: number;
}

/** Input of LicenseCodeBook.create (also the body of the admin API's `POST /_sim/license-codes`). */
export const createLicenseCodeInputSchema = z.object({
  license: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
  orderId: z.string().min(1).max(64),
  orderLineId: z.string().min(1).max(64).optional(),
  productId: z.string().min(1).max(64).default('prod-license-code'),
  skuCode: z.string().min(1).max(64).default('sku-license-code'),
  customerId: z.string().min(1).max(100).default('sim-customer'),
  expireTime: z.string().regex(/^\d{14}$/).optional(),
});
/** Input of LicenseCodeBook.create. */
export type CreateLicenseCodeInput = z.input<typeof createLicenseCodeInputSchema>;

/** An open-API answer: HTTP status and JSON. */
export interface SimAnswer {
  status: number;
  payload: Record<string, unknown>;
}

/** The simulator's license codes. */
export class LicenseCodeBook {
  readonly #codes = new Map<string, SimLicenseCode>();

  /** Sells a code for an order (line); throws ZodError for bad input. */
  create(input: CreateLicenseCodeInput): SimLicenseCode {
    const i = createLicenseCodeInputSchema.parse(input);
    const license = i.license ?? `LC${randomBytes(10).toString('hex').toUpperCase()}`;
    const code: SimLicenseCode = {
      license,
      orderId: i.orderId,
      orderLineId: i.orderLineId ?? `${i.orderId}-000001`,
      productId: i.productId,
      skuCode: i.skuCode,
      customerId: i.customerId,
      expireTime: i.expireTime ?? formatCompactUtc(new Date(Date.now() + 365 * 86_400_000)),
      status: 'UNUSED',
      activations: 0,
      heartbeats: 0,
    };
    this.#codes.set(license, code);
    return code;
  }

  get(license: string): SimLicenseCode | undefined {
    return this.#codes.get(license);
  }

  /** What the marketplace does to a code outside the open API (freeze, release, renewal). */
  update(license: string, change: Partial<Pick<SimLicenseCode, 'status' | 'expireTime'>>): SimLicenseCode | undefined {
    const code = this.#codes.get(license);
    if (code) Object.assign(code, change);
    return code;
  }

  /** license/activate or license/heartbeat; undefined for any other path (not a license-code call). */
  answer(method: string, path: string, body: Buffer): SimAnswer | undefined {
    if (path !== LICENSE_ACTIVATE_PATH && path !== LICENSE_HEARTBEAT_PATH) return undefined;
    if (method !== 'POST') return { status: 405, payload: { error_code: 'APIGW.0101', error_msg: 'Method not allowed' } };
    let req: { license?: unknown; deviceFingerprint?: unknown };
    try {
      req = JSON.parse(body.toString('utf8')) as typeof req;
    } catch {
      return { status: 400, payload: { error_code: 'MKT.0100', error_msg: 'body is not JSON' } };
    }
    const code = typeof req?.license === 'string' ? this.#codes.get(req.license) : undefined;
    const device = typeof req?.deviceFingerprint === 'string' ? req.deviceFingerprint : undefined;
    const refuse = (error_code: string, error_msg: string): SimAnswer => ({ status: 200, payload: { error_code, error_msg } });
    if (!code) return refuse(SIM_LICENSE_CODE_ERRORS.Unknown, 'license code not found');
    if (code.status === 'RELEASED') return refuse(SIM_LICENSE_CODE_ERRORS.Released, 'license code released');
    if (path === LICENSE_ACTIVATE_PATH) {
      if (code.deviceFingerprint !== undefined && device !== undefined && device !== code.deviceFingerprint) return refuse(SIM_LICENSE_CODE_ERRORS.OtherDevice, 'license code bound to another device');
      code.activations++;
      if (code.status === 'UNUSED') code.status = 'ACTIVE';
      code.deviceFingerprint ??= device;
    } else {
      if (code.status === 'UNUSED') return refuse(SIM_LICENSE_CODE_ERRORS.NotActivated, 'license code not activated');
      code.heartbeats++;
    }
    const { activations: _a, heartbeats: _h, deviceFingerprint: _d, ...data } = code;
    return { status: 200, payload: { error_code: 'MKT.0000', error_msg: 'success', data } };
  }
}
