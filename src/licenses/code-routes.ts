import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { ResultCode, simpleResponse } from '../koogallery/index.js';
import { LICENSE_CODE_ACTIVITIES, parseLicenseCodeRequest, parseLicenseTime, type LicenseCodeRequest } from '../koogallery/license-requests.js';
import { admitV2Call, sha256Hex } from '../production-interface/v2-admission.js';
import type { CodeClientOutcome, LicenseCodeService } from './code-service.js';
import { createLicenseCallAnswers, type LicenseCall } from './http-calls.js';
import type { LicenseInterfaceDeps } from './routes.js';
import type { LicenseOutcome } from './service.js';

// License 授权码 2.0 (spec §7.2; issue #13) at /koogallery/license-code:
// - POST / (V2 signature and nonce, Body-Sign on every answer): the marketplace's refreshLicenseCode,
//   updateLicenseCodeStatus and releaseLicenseCode on a code activated here; an unknown code → 000003.
// - POST /activate and POST /heartbeat: the merchant's client software, with {licenseCode, deviceFingerprint?}. Not
//   the marketplace's interface: plain JSON, HTTP statuses, no Body-Sign (the client holds no access key; the
//   license it receives is signed). The code is the credential, checked by the marketplace's license/activate.

/** The License code 2.0 production URL. */
export const LICENSE_CODE_PATH = '/koogallery/license-code';

const clientBody = z.object({
  licenseCode: z.string().regex(/^[\x21-\x7e]{1,64}$/, { error: 'must be 1..64 printable ASCII characters' }),
  deviceFingerprint: z.string().min(1).max(1024).optional(),
});

/** HTTP status of each client outcome. */
const CLIENT_STATUS: Record<CodeClientOutcome['outcome'], number> = {
  ACTIVE: 200,
  REFUSED: 403,
  NOT_ACTIVATED: 404,
  OTHER_DEVICE: 409,
  RELEASED: 410,
  FROZEN: 423,
  RETRY: 503,
};

/** The License code router (mount it at LICENSE_CODE_PATH). */
export function licenseCodeRouter(deps: Omit<LicenseInterfaceDeps, 'licenses' | 'jwks' | 'saasInterface'> & { readonly codes: LicenseCodeService }): Router {
  const now = deps.now ?? Date.now;
  const router = express.Router();
  const answers = createLicenseCallAnswers({ ...deps, now }, LICENSE_CODE_ACTIVITIES);
  const json = express.raw({ type: () => true, limit: deps.maxBodyBytes });

  // ---- the client software ---------------------------------------------------------------------------------------
  function clientEndpoint(call: (code: string, fingerprint: string | undefined) => Promise<CodeClientOutcome>) {
    return (req: Request, res: Response) => {
      let body: unknown;
      try {
        body = JSON.parse((Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)).toString('utf8'));
      } catch {
        body = undefined;
      }
      const parsed = clientBody.safeParse(body);
      if (!parsed.success) {
        res.status(400).json({ outcome: 'INVALID', message: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'} ${i.message}`).join('; ') });
        return;
      }
      call(parsed.data.licenseCode, parsed.data.deviceFingerprint).then(
        (a) => {
          deps.logger.info({ interface: 'license-code-client', outcome: a.outcome }, 'license code client call answered');
          res.status(CLIENT_STATUS[a.outcome]).json(a);
        },
        (err: unknown) => {
          deps.logger.error({ interface: 'license-code-client', err: (err as Error).message }, 'license code client call failed');
          res.status(503).json({ outcome: 'RETRY', message: 'internal error; retry' });
        },
      );
    };
  }
  const fingerprint = (fp: string | undefined) => (fp !== undefined ? { deviceFingerprint: fp } : {});
  router.post('/activate', json, clientEndpoint((code, fp) => deps.codes.activate(code, fingerprint(fp))));
  router.post('/heartbeat', json, clientEndpoint((code, fp) => deps.codes.heartbeat(code, fingerprint(fp))));

  // ---- the marketplace: POST, V2 signature ---------------------------------------------------------------------
  const newCall = (received: Buffer | string): LicenseCall => ({ version: 'V2', started: now(), bodySha256: sha256Hex(received), ids: {} });

  router.post('/', json, (req: Request, res: Response) => {
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const call = newCall(body);
    answers.guard(res, call);
    void (async () => {
      // The key is the call's as soon as the signature verifies: a backstop answer during the nonce claim uses it.
      const admitted = await admitV2Call(deps, req, body, call.started, (key) => {
        call.accessKey = key;
      });
      if (!admitted.ok && admitted.code === ResultCode.InternalError) return answers.fail(res, call, new Error(admitted.reason));
      const named = (admitted.ok ? (admitted.json as { activity?: unknown } | null)?.activity : undefined);
      if (typeof named === 'string' && named !== '') call.activity = named.slice(0, 32);
      if (!admitted.ok) return answers.refuse(res, call, admitted.code, admitted.reason);
      const parsed = parseLicenseCodeRequest(admitted.json);
      if (!parsed.ok) return answers.refuse(res, call, ResultCode.InvalidParameter, `${parsed.field} ${parsed.reason}`);
      const a = await dispatch(parsed.request, call);
      call.ids = { ...call.ids, ...(a.ids?.orderId ? { orderId: a.ids.orderId } : {}) };
      answers.reply(res, call, simpleResponse(a.code, a.message));
    })().catch((err: unknown) => answers.fail(res, call, err));
  });

  function dispatch(r: LicenseCodeRequest, call: LicenseCall): Promise<LicenseOutcome> {
    const testOrder = r.testFlag === '1';
    // The inbox keeps the code where other interfaces keep the instance: it is what the marketplace names.
    call.ids = { instanceId: r.license, testFlag: testOrder };
    switch (r.activity) {
      case 'refreshLicenseCode':
        return deps.codes.refresh(
          r.license,
          {
            scene: r.scene,
            orderId: r.orderId,
            orderLineId: r.orderLineId,
            expireTime: parseLicenseTime(r.expireTime)!.toISOString(),
            ...(r.productId ? { productId: r.productId } : {}),
            testOrder,
          },
          call.started,
        );
      case 'updateLicenseCodeStatus':
        return deps.codes.setStatus(r.license, { status: r.status, testOrder }, call.started);
      case 'releaseLicenseCode':
        return deps.codes.release(r.license, { ...(r.orderId ? { orderId: r.orderId } : {}), testOrder }, call.started);
    }
  }

  // Other methods and unreadable bodies (on every path here): bad input, answered the marketplace's way.
  answers.refuseTheRest(router, () => newCall(''));
  return router;
}
