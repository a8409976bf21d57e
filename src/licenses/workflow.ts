import { ApplicationFailure, condition, proxyLocalActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { LicenseActivities } from './activities.js';
import {
  getLicenseLedgerQuery,
  issueLicenseUpdate,
  licenseFamilyOf,
  type LicenseAnswer,
  type LicenseInstanceInput,
  type LicenseLedger,
  type LicenseRequest,
  type LicenseResultCode,
} from './contract.js';
import { describeLedger, emptyLedger, quotaOf, withEffectiveOrder, withIssued } from './state.js';
import { ORDER_REJECTION_TYPE, type OrderState } from '../orders/contract.js';
import { isGone, runOrderLifecycle, type OrderFulfilment } from '../orders/workflow.js';
import { LicenseCountKey, LicenseFingerprintsKey } from '../kernel/search-attributes.js';
import { isWellFormedText } from '../kernel/text.js';

// A license instance (Online License, or an old V1 License order) as one durable workflow: the order lifecycle of
// the orders context (purchase with Query Order, renewals, freeze, upgrade, release, supervision, continue-as-new,
// the read model) with a license ledger instead of a tenant. Issuing is an update that runs under the order's
// operation lock, so concurrent requests are applied one by one and can never exceed the quota together.

const local = proxyLocalActivities<LicenseActivities>({
  startToCloseTimeout: '5 s',
  // PostgreSQL briefly away: retry until it is back; the issue is idempotent, so a retry never issues twice.
  retry: { initialInterval: '100 ms', backoffCoefficient: 2, maximumInterval: '10 s' },
});

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
              upsertSearchAttributes([
                { key: LicenseCountKey, value: ledger.issued },
                { key: LicenseFingerprintsKey, value: [...ledger.fingerprints] },
              ]);
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
