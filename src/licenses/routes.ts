import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { ResultCode, simpleResponse, V2_ACTIVITIES } from '../koogallery/index.js';
import {
  ONLINE_LICENSE_ACTIVITIES,
  V1_LICENSE_ACTIVITIES,
  parseLicenseTime,
  parseOnlineLicenseRequest,
  parseV1LicenseRequest,
  v1LicenseCommand,
  type OnlineLicenseRequest,
  type V1LicenseRequest,
} from '../koogallery/license-requests.js';
import type { ApiMetrics } from '../platform/http/metrics.js';
import type { InboxEntry } from '../production-interface/inbox-store.js';
import type { NonceStore } from '../production-interface/nonce-store.js';
import { admitV1Call, rawQueryOf } from '../production-interface/v1-admission.js';
import { admitV2Call, sha256Hex } from '../production-interface/v2-admission.js';
import { createLicenseCallAnswers, type LicenseCall } from './http-calls.js';
import type { LicenseJwks } from './key-settings.js';
import type { LicenseOutcome, LicenseService } from './service.js';

// The License interfaces (spec §1.3, §7; issue #13) on their own production URL, /koogallery/license:
// - POST (V2 signature and nonce): Online License. getLicenseAsync is answered here; the SaaS activities
//   (newInstance, refreshInstance, updateInstanceStatus, releaseInstance, queryInstance, upgradeInstance) are the
//   SaaS production interface itself (handed in by the composition root), run with an order service whose purchases
//   start license instances, so both URLs behave alike.
// - GET (V1 authToken): the old License — getLicense, refreshLicense, expireLicense, releaseLicense.
// - GET /jwks.json: the public keys that verify every license.
// Every marketplace answer, refusals included, is HTTP 200 JSON with a Body-Sign over the exact bytes sent.

/** The License production URL the marketplace is configured with. */
export const LICENSE_PATH = '/koogallery/license';
/** Where the license verification keys are published (under LICENSE_PATH). */
export const LICENSE_JWKS_PATH = `${LICENSE_PATH}/jwks.json`;

/** What the License interface needs. */
export interface LicenseInterfaceDeps {
  readonly accessKey: string;
  /** Further keys calls may be signed with (KOOGALLERY_OTHER_ACCESS_KEYS); a call is answered with its own. */
  readonly otherAccessKeys?: readonly string[];
  readonly maxBodyBytes: number;
  readonly v1ToleranceMs: number;
  readonly v2ToleranceMs: number;
  readonly nonces: NonceStore;
  readonly metrics: ApiMetrics;
  readonly logger: Logger;
  readonly recordInbox: (entry: InboxEntry) => Promise<void>;
  readonly licenses: LicenseService;
  /** The published verification keys (public parts only). */
  readonly jwks: LicenseJwks;
  /** The SaaS production interface whose purchases start license instances: every Online License activity but getLicenseAsync. */
  readonly saasInterface: RequestHandler;
  readonly now?: () => number;
}

/** The activity a JSON body names, read without trusting it (only to pick the handler; admission comes after). */
function peekActivity(body: Buffer): unknown {
  try {
    return (JSON.parse(body.toString('utf8')) as { activity?: unknown } | null)?.activity;
  } catch {
    return undefined;
  }
}

/** The License router (mount it at LICENSE_PATH). */
export function licenseRouter(deps: LicenseInterfaceDeps): Router {
  const now = deps.now ?? Date.now;
  const router = express.Router();
  const answers = createLicenseCallAnswers({ ...deps, now }, [...ONLINE_LICENSE_ACTIVITIES, ...V1_LICENSE_ACTIVITIES, ...V2_ACTIVITIES]);

  const newCall = (version: 'V1' | 'V2', received: Buffer | string): LicenseCall => ({ version, started: now(), bodySha256: sha256Hex(received), ids: {} });

  async function run(res: Response, call: LicenseCall, fn: () => Promise<LicenseOutcome>): Promise<void> {
    try {
      const a = await fn();
      call.ids = { ...call.ids, ...(a.ids?.instanceId ? { instanceId: a.ids.instanceId } : {}) };
      const body = simpleResponse(a.code, a.message);
      // V1 getLicense answers {resultCode, resultMsg, license} (§7.3) and, as some variants do, the instanceId the
      // later calls name; getLicenseAsync answers with the license in a field `license` (V2 name UNCONFIRMED).
      if (a.license) body['license'] = a.license;
      if (call.activity === 'getLicense' && a.ids?.instanceId) body['instanceId'] = a.ids.instanceId;
      answers.reply(res, call, body);
    } catch (err) {
      answers.fail(res, call, err);
    }
  }

  router.get('/jwks.json', (_req: Request, res: Response) => {
    // Public keys only; cacheable, and short enough that a rotation reaches verifiers within minutes.
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(deps.jwks);
  });

  // ---- Online License: POST, V2 signature ------------------------------------------------------------------------
  router.post('/', express.raw({ type: () => true, limit: deps.maxBodyBytes }), (req: Request, res: Response, next: NextFunction) => {
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (peekActivity(body) !== 'getLicenseAsync') {
      // Everything else (bad input that names no activity included) is the SaaS interface's, answered as there. The
      // body is read already: the SaaS router's own body parser sees it as parsed and leaves it.
      deps.saasInterface(req, res, next);
      return;
    }
    const call = newCall('V2', body);
    answers.guard(res, call);
    call.activity = 'getLicenseAsync';
    void (async () => {
      // The key is the call's as soon as the signature verifies: a backstop answer during the nonce claim uses it.
      const admitted = await admitV2Call(deps, req, body, call.started, (key) => {
        call.accessKey = key;
      });
      if (!admitted.ok && admitted.code === ResultCode.InternalError) return answers.fail(res, call, new Error(admitted.reason));
      if (!admitted.ok) return answers.refuse(res, call, admitted.code, admitted.reason);
      const parsed = parseOnlineLicenseRequest(admitted.json);
      if (!parsed.ok) return answers.refuse(res, call, ResultCode.InvalidParameter, `${parsed.field} ${parsed.reason}`);
      await run(res, call, () => getLicenseAsync(parsed.request, call));
    })().catch((err: unknown) => answers.fail(res, call, err));
  });

  function getLicenseAsync(r: OnlineLicenseRequest, call: LicenseCall): Promise<LicenseOutcome> {
    const testOrder = r.testFlag === '1';
    call.ids = { instanceId: r.instanceId, testFlag: testOrder };
    return deps.licenses.issue(
      r.instanceId,
      {
        eventId: r.eventId,
        ...(r.deviceFingerprint !== undefined ? { deviceFingerprint: r.deviceFingerprint } : {}),
        // Validated by the schema.
        effectiveTime: parseLicenseTime(r.effectiveTime)!.toISOString(),
        ...(r.expireTime !== undefined ? { expireTime: parseLicenseTime(r.expireTime)!.toISOString() } : {}),
        testOrder,
      },
      call.started,
    );
  }

  // ---- V1 License: GET, authToken ----------------------------------------------------------------------------
  router.get('/', (req: Request, res: Response) => {
    const rawQuery = rawQueryOf(req);
    const call = newCall('V1', rawQuery);
    answers.guard(res, call);
    const admitted = admitV1Call(deps, rawQuery, call.started);
    if (admitted.activity !== undefined) call.activity = admitted.activity;
    if (!admitted.ok) return answers.refuse(res, call, admitted.code, admitted.reason);
    call.accessKey = admitted.accessKey;
    const parsed = parseV1LicenseRequest(admitted.params);
    if (!parsed.ok) return answers.refuse(res, call, ResultCode.InvalidParameter, `${parsed.field} ${parsed.reason}`);
    void run(res, call, () => v1License(parsed.request, call));
  });

  async function v1License(r: V1LicenseRequest, call: LicenseCall): Promise<LicenseOutcome> {
    const testOrder = r.testFlag === '1';
    call.ids = { testFlag: testOrder, orderId: r.orderId, ...('instanceId' in r && r.instanceId ? { instanceId: r.instanceId } : {}) };
    if (r.activity === 'getLicense') {
      call.ids.businessId = r.businessId;
      // The purchase and the issue share one budget from the call's arrival (each its own would pass the 5 s).
      const bought = await deps.licenses.command(v1LicenseCommand(r), call.started);
      const instanceId = bought.ids?.instanceId;
      if (bought.code !== ResultCode.Success || !instanceId) return bought;
      // One license per order (§7.3: idempotent per orderId): the order id is the license's event id.
      return deps.licenses.issue(instanceId, { eventId: r.orderId, effectiveTime: new Date(now()).toISOString(), testOrder }, call.started);
    }
    // expireLicense and releaseLicense may name only their order (UNCONFIRMED; the tolerant reading).
    const instanceId = r.instanceId ?? (await deps.licenses.instanceOfV1Order(r.orderId));
    if (instanceId === undefined) return { code: ResultCode.InstanceNotFound, message: 'instance not found' };
    return deps.licenses.command(v1LicenseCommand(r, instanceId), call.started);
  }

  // The marketplace only GETs (V1) and POSTs (V2); anything else, and unreadable bodies, are bad input.
  answers.refuseTheRest(router, (version) => newCall(version, ''));
  return router;
}
