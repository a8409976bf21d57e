import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { LicenseActivities } from './activities.js';
import {
  activateCodeUpdate,
  getLicenseCodeQuery,
  getLicenseLedgerQuery,
  heartbeatCodeUpdate,
  issueLicenseUpdate,
  licenseFamilyOf,
  LicenseCodeFailureType,
  refreshCodeUpdate,
  releaseCodeUpdate,
  setCodeStatusUpdate,
  type CodeClientAnswer,
  type CodeClientRequest,
  type CodeOperationResult,
  type LicenseAnswer,
  type LicenseCodeInput,
  type LicenseCodeState,
  type LicenseInstanceInput,
  type LicenseLedger,
  type LicenseRequest,
  type LicenseResultCode,
  type RefreshCodeRequest,
} from './contract.js';
import {
  activatedCodeState,
  applyCodeRefresh,
  applyCodeStatus,
  clientAnswer,
  describeCode,
  describeLedger,
  emptyLedger,
  isOtherDevice,
  needsNewLicense,
  quotaOf,
  releasedCodeAnswer,
  withEffectiveOrder,
  withIssued,
} from './state.js';
import { ORDER_REJECTION_TYPE, type OrderState } from '../orders/contract.js';
import { isGone, runOrderLifecycle, type OrderFulfilment } from '../orders/workflow.js';
import { OperationLock } from '../kernel/operation-lock.js';
import {
  CustomerIdKey,
  InstanceIdKey,
  LicenseCountKey,
  LicenseFingerprintsKey,
  OrderIdKey,
  OrderLineIdKey,
  OrderPhaseKey,
  ProductIdKey,
  TestOrderKey,
} from '../kernel/search-attributes.js';
import { isWellFormedText } from '../kernel/text.js';

// The licenses context's two workflow types. A license instance (Online License, or an old V1 License order) as one
// durable workflow: the order lifecycle of
// the orders context (purchase with Query Order, renewals, freeze, upgrade, release, supervision, continue-as-new,
// the read model) with a license ledger instead of a tenant. Issuing is an update that runs under the order's
// operation lock, so concurrent requests are applied one by one and can never exceed the quota together.

const local = proxyLocalActivities<LicenseActivities>({
  startToCloseTimeout: '5 s',
  // PostgreSQL briefly away: retry until it is back; the issue is idempotent, so a retry never issues twice.
  retry: { initialInterval: '100 ms', backoffCoefficient: 2, maximumInterval: '10 s' },
});

/** The patch that made a license found on a retry (`EXISTING`) update LicenseCount, as an issued one does. */
const UPSERT_LICENSE_COUNT_ON_FOUND_LICENSE = 'upsert-license-count-on-found-license';

/** Accepted issue updates after which a run continues as new (Temporal keeps at most 2000 updates per run). */
const ISSUES_PER_RUN = 500;

function reject(code: LicenseResultCode | '000002', message: string): never {
  // The order rejection type and a result code, as the order workflow's validators do (the API maps both).
  throw ApplicationFailure.create({ type: ORDER_REJECTION_TYPE, message, details: [code], nonRetryable: true });
}

function validateRequest(req: LicenseRequest): void {
  if (!req || typeof req.eventId !== 'string' || req.eventId.length === 0) reject('000002', 'license request without eventId');
  // The API refuses these already; a request that got here anyway must not reach the claims (jsonb) and wedge the lock.
  if (!isWellFormedText(req.eventId) || (req.deviceFingerprint !== undefined && !isWellFormedText(req.deviceFingerprint))) reject('000002', 'license request with malformed text');
  if (typeof req.effectiveTime !== 'string' || Number.isNaN(Date.parse(req.effectiveTime))) reject('000002', 'license request without a valid effectiveTime');
  if (req.expireTime !== undefined && Number.isNaN(Date.parse(req.expireTime))) reject('000002', 'license request with an invalid expireTime');
}

/** The license instance workflow. */
export async function licenseInstanceWorkflow(input: LicenseInstanceInput): Promise<OrderState> {
  let ledger: LicenseLedger = input.ledger ?? emptyLedger(licenseFamilyOf(input.interfaceVersion));
  let issuesThisRun = 0;
  const upsertLedger = () =>
    upsertSearchAttributes([
      { key: LicenseCountKey, value: ledger.issued },
      { key: LicenseFingerprintsKey, value: [...ledger.fingerprints] },
    ]);

  const fulfilment: OrderFulfilment = {
    // Nothing to create: a license instance is its ledger. The purchase order's linearValue opens the quota.
    async create(state, details) {
      ledger = withEffectiveOrder(ledger, state.key.orderId, details);
      return undefined;
    },
    async changeSpec(_state, details, orderId) {
      ledger = withEffectiveOrder(ledger, orderId, details);
    },
    // Frozen or not is read from the order's phase at every request: nothing to do at the moment of the change.
    async applyEffect() {},
    async remove(state) {
      await local.releaseInstanceLicenses({ instanceId: state.instanceId });
    },
  };

  return runOrderLifecycle(input, {
    fulfilment,
    carry: () => ({ ledger }),
    wantsContinueAsNew: () => issuesThisRun >= ISSUES_PER_RUN,
    describe: () => describeLedger(ledger),
    install(order) {
      setHandler(getLicenseLedgerQuery, () => ledger);
      setHandler(
        issueLicenseUpdate,
        (req) =>
          order.exclusive(async (): Promise<LicenseAnswer> => {
            issuesThisRun++;
            // A request that overtakes its purchase waits for it (the quota is known only then).
            await condition(() => order.state().phase !== 'PROVISIONING');
            const state = order.state();
            if (isGone(state.phase)) return { code: '000003', instanceId: state.instanceId, message: `instance ${state.phase.toLowerCase()}` };
            const d = state.details;
            const result = await local.issueLicense({
              instanceId: state.instanceId,
              family: ledger.family,
              request: req,
              quota: quotaOf(ledger),
              allowNew: state.phase === 'ACTIVE',
              ...(d?.productId ? { productId: d.productId } : {}),
              ...(d?.skuCode ? { skuCode: d.skuCode } : {}),
              ...(d?.customerId ? { customerId: d.customerId } : {}),
              ...(d?.expireTime ? { instanceExpireTime: d.expireTime } : {}),
              testOrder: state.testOrder,
            });
            if (result.outcome === 'QUOTA_EXCEEDED') return { code: '000900', instanceId: state.instanceId, message: `quota ${quotaOf(ledger)} used up` };
            if (result.outcome === 'FROZEN') return { code: '000901', instanceId: state.instanceId, message: 'instance frozen' };
            if (result.outcome === 'ISSUED') {
              ledger = withIssued(ledger, result.issued, result.fingerprintLabel);
              upsertLedger();
              order.showDetails();
            } else if (result.outcome === 'EXISTING' && result.issued > ledger.issued) {
              // The local activity ran again after its first attempt had stored the license and its result was lost
              // (a worker killed in between): the store counts it, so the ledger does too (the query, the
              // validator's early 000900), and so does LicenseCount. Runs that took this path before the upsert
              // was added have no such command here: hence the patch (docs/workflow-versioning.md).
              ledger = withIssued(ledger, result.issued, result.fingerprintLabel);
              if (patched(UPSERT_LICENSE_COUNT_ON_FOUND_LICENSE)) upsertLedger();
              order.showDetails();
            }
            return { code: '000000', instanceId: state.instanceId, license: result.token, licenseId: result.licenseId, issuedNow: result.outcome === 'ISSUED' };
          }),
        {
          // Requests that cannot get a new license are refused before they enter history (rejected updates are
          // not recorded, and do not count against the 2000 updates of a run). A repeat of a license issued before
          // is refused too: the API then answers it from the read model, where its bytes are.
          validator: (req: LicenseRequest) => {
            validateRequest(req);
            const phase = order.state().phase;
            if (isGone(phase)) reject('000003', `instance ${phase.toLowerCase()}`);
            if (phase === 'FROZEN') reject('000901', 'instance frozen');
            if (phase === 'ACTIVE' && ledger.issued >= quotaOf(ledger)) reject('000900', `quota ${quotaOf(ledger)} used up`);
          },
        },
      );
    },
  });
}

// ---- License codes (授权码 2.0) ------------------------------------------------------------------------------------

// One activated license code (License 授权码 2.0) as one durable workflow: started by the merchant's client software
// activating it (update-with-start; license/activate at the marketplace), kept alive by its heartbeats
// (license/heartbeat), renewed, frozen and released by the marketplace's refreshLicenseCode /
// updateLicenseCodeStatus / releaseLicenseCode. Every message is an update, run one at a time.

const codeRemote = proxyActivities<LicenseActivities>({
  startToCloseTimeout: '15 s',
  // The marketplace away: retry until it is back (the client is told to retry meanwhile); a refusal is final.
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '1 min', nonRetryableErrorTypes: [LicenseCodeFailureType.Refused] },
});


/** The failing activity's own failure, when it is the marketplace refusing the code. */
function refusal(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return cause instanceof ApplicationFailure && cause.type === LicenseCodeFailureType.Refused ? cause.message : undefined;
}

/** The license code workflow. */
export async function licenseCodeWorkflow(input: LicenseCodeInput): Promise<LicenseCodeState | undefined> {
  let state: LicenseCodeState | undefined = input.carried;
  let refusedBecause: string | undefined;
  let fingerprintLabel: string | undefined;
  const lock = new OperationLock();
  const { workflowId } = workflowInfo();

  async function transition(next: LicenseCodeState, event: string): Promise<void> {
    const s: LicenseCodeState = { ...next, seq: next.seq + 1 };
    state = s;
    const f = s.facts;
    upsertSearchAttributes([
      { key: InstanceIdKey, value: s.code },
      { key: OrderPhaseKey, value: s.phase },
      ...(f.orderId ? [{ key: OrderIdKey, value: f.orderId }] : []),
      ...(f.orderLineId ? [{ key: OrderLineIdKey, value: f.orderLineId }] : []),
      ...(f.productId ? [{ key: ProductIdKey, value: f.productId }] : []),
      ...(f.customerId ? [{ key: CustomerIdKey, value: f.customerId }] : []),
      { key: TestOrderKey, value: s.testOrder },
      { key: LicenseCountKey, value: s.terms },
      ...(fingerprintLabel ? [{ key: LicenseFingerprintsKey, value: [fingerprintLabel] }] : []),
    ]);
    setCurrentDetails(`${describeCode(s)} · ${event}`);
    await local.recordLicenseCode({ workflowId, state: s });
  }

  /** The client's answer, issuing the license of the current term first when it has none yet. */
  async function answerClient(s: LicenseCodeState): Promise<CodeClientAnswer> {
    if (!needsNewLicense(s)) return clientAnswer(s);
    const term = s.terms + 1;
    const issued = await local.issueLicense({
      instanceId: s.code,
      family: 'LICENSE_CODE',
      // One license per term of the code, under an event id its state decides (a retried issue finds its own).
      request: { eventId: `term-${term}`, ...(s.deviceFingerprint ? { deviceFingerprint: s.deviceFingerprint } : {}), effectiveTime: s.activatedAt, ...(s.facts.expireTime ? { expireTime: s.facts.expireTime } : {}), testOrder: s.testOrder },
      quota: term,
      allowNew: true,
      ...(s.facts.productId ? { productId: s.facts.productId } : {}),
      ...(s.facts.skuCode ? { skuCode: s.facts.skuCode } : {}),
      ...(s.facts.customerId ? { customerId: s.facts.customerId } : {}),
      testOrder: s.testOrder,
    });
    if (issued.outcome !== 'ISSUED' && issued.outcome !== 'EXISTING') throw ApplicationFailure.create({ type: 'LICENSE_CODE_ISSUE_REFUSED', message: issued.outcome });
    fingerprintLabel = issued.fingerprintLabel ?? fingerprintLabel;
    await transition({ ...s, terms: term, license: { licenseId: issued.licenseId, token: issued.token, ...(s.facts.expireTime ? { expireTime: s.facts.expireTime } : {}) } }, 'LICENSE_ISSUED');
    return clientAnswer(state!);
  }

  async function activate(req: CodeClientRequest): Promise<CodeClientAnswer> {
    if (refusedBecause) return { outcome: 'REFUSED', message: refusedBecause };
    if (state) return isOtherDevice(state, req.deviceFingerprint) ? { outcome: 'OTHER_DEVICE', message: 'license code is active on another device' } : answerClient(state);
    let facts;
    try {
      facts = await codeRemote.activateLicenseCode({ code: input.code, ...(req.deviceFingerprint ? { deviceFingerprint: req.deviceFingerprint } : {}) });
    } catch (err) {
      refusedBecause = refusal(err);
      if (refusedBecause === undefined) throw err;
      return { outcome: 'REFUSED', message: refusedBecause };
    }
    const activatedAt = new Date().toISOString();
    await transition(activatedCodeState(input.code, input.testOrder, facts, req.deviceFingerprint, activatedAt), 'ACTIVATED');
    // Debug codes are not supervised (as debug orders are not); a real order's supervision learns of the activation.
    if (facts.orderId && !input.testOrder) {
      const outcome = await codeRemote.passLicenseSupervision({ orderId: facts.orderId, ...(facts.orderLineId ? { orderLineId: facts.orderLineId } : {}), code: input.code, at: activatedAt });
      await transition({ ...state!, supervision: outcome }, 'SUPERVISION_NOTIFIED');
    }
    return answerClient(state!);
  }

  async function heartbeat(req: CodeClientRequest): Promise<CodeClientAnswer> {
    const s = state!;
    if (s.phase === 'RELEASED') return clientAnswer(s);
    if (isOtherDevice(s, req.deviceFingerprint)) return { outcome: 'OTHER_DEVICE', message: 'license code is active on another device' };
    const beat = await codeRemote.heartbeatLicenseCode({ code: s.code, ...(s.deviceFingerprint ? { deviceFingerprint: s.deviceFingerprint } : {}) });
    // The marketplace is the source of the code's expiry: a heartbeat that names one wins.
    const facts = beat.facts?.expireTime ? { ...s.facts, expireTime: beat.facts.expireTime } : s.facts;
    await transition({ ...s, facts, lastHeartbeat: { at: new Date().toISOString(), result: beat.result } }, 'HEARTBEAT');
    return answerClient(state!);
  }

  const validateClient = (req: CodeClientRequest) => {
    if (req?.deviceFingerprint !== undefined && (typeof req.deviceFingerprint !== 'string' || req.deviceFingerprint.length > 1024)) reject('000002', 'invalid deviceFingerprint');
  };
  const notActivated = (): CodeOperationResult => ({ code: '000003', phase: 'RELEASED', message: 'license code not activated here' });

  setHandler(getLicenseCodeQuery, () => state);
  setHandler(activateCodeUpdate, (req) => lock.run(() => activate(req)), { validator: validateClient });
  setHandler(heartbeatCodeUpdate, (req) => lock.run(async () => (state ? heartbeat(req) : { outcome: 'REFUSED' as const, message: refusedBecause ?? 'not activated' })), { validator: validateClient });

  setHandler(
    refreshCodeUpdate,
    (req) =>
      lock.run(async (): Promise<CodeOperationResult> => {
        if (!state) return notActivated();
        if (state.phase === 'RELEASED') return releasedCodeAnswer(state, req.testOrder);
        const next = applyCodeRefresh(state, req);
        if (next !== state) await transition(next, req.scene);
        return { code: '000000', phase: state.phase };
      }),
    {
      validator: (req: RefreshCodeRequest) => {
        if (!req || typeof req.orderId !== 'string' || Number.isNaN(Date.parse(req.expireTime))) reject('000002', 'refresh without orderId or expireTime');
      },
    },
  );

  setHandler(setCodeStatusUpdate, (req) =>
    lock.run(async (): Promise<CodeOperationResult> => {
      if (!state) return notActivated();
      if (state.phase === 'RELEASED') return releasedCodeAnswer(state, req.testOrder);
      const next = applyCodeStatus(state, req);
      if (next.phase !== state.phase) await transition(next, req.status);
      return { code: '000000', phase: state.phase };
    }),
  );

  setHandler(releaseCodeUpdate, () =>
    lock.run(async (): Promise<CodeOperationResult> => {
      if (!state) return notActivated();
      if (state.phase !== 'RELEASED') {
        await local.releaseInstanceLicenses({ instanceId: state.code });
        await transition({ ...state, phase: 'RELEASED' }, 'RELEASED');
      }
      return { code: '000000', phase: 'RELEASED' };
    }),
  );

  const historyTooLong = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || (input.historyEventLimit !== undefined && info.historyLength >= input.historyEventLimit);
  };

  // Started by an activation: wait for its outcome. A refused code's run ends at once (nothing to keep).
  await condition(() => state !== undefined || refusedBecause !== undefined);
  if (state) {
    await condition(() => state!.phase === 'RELEASED' || historyTooLong());
    if (state.phase !== 'RELEASED') {
      await condition(allHandlersFinished);
      await continueAsNew<typeof licenseCodeWorkflow>({ ...input, carried: state });
    }
  }
  await condition(allHandlersFinished);
  return state;
}
