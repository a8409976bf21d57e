import { decryptField, type EncryptType } from './field-crypto.js';
import type { V1Request, V2Request } from './requests.js';
import { ResultCode } from './result-codes.js';
import { parseCompactUtc } from './time.js';

// A validated V1 query or V2 body, read as what the marketplace asks of us: one command, in the protocol's own terms
// but with every wire quirk resolved — V1's numeric charging modes named, compact times as ISO-8601, numbers as
// numbers, the renewal scene V1 leaves implicit made explicit, encrypted contacts decrypted. Pure: the orders
// service runs the command; nothing here knows about Temporal or storage.

/** Which production interface a call came through. */
export type InterfaceVersion = 'V1' | 'V2';

/** KooGallery charging modes (V2 names; V1's numeric codes are mapped onto them). */
export type ChargingModeName = 'PERIOD' | 'ON_DEMAND' | 'ONE_TIME' | 'ON_DEMAND_PKG';

/** What makes two purchases "the same purchase" (§3.1 idempotency, §4.1): the key a repeat must find again. */
export type PurchaseKey =
  | { readonly kind: 'v2-line'; readonly orderId: string; readonly orderLineId: string }
  | { readonly kind: 'v1-order'; readonly orderId: string }
  | { readonly kind: 'v1-on-demand'; readonly orderId: string; readonly productId: string };

/** The commercial facts of a V1 purchase (V2 pushes none: the worker pulls them with Query Order). */
export interface PurchaseFacts {
  readonly customerId: string;
  readonly customerName?: string;
  readonly productId?: string;
  readonly skuCode?: string;
  readonly chargingMode?: ChargingModeName;
  readonly periodType?: string;
  readonly periodNumber?: number;
  /** ISO-8601. */
  readonly expireTime?: string;
  readonly trial: boolean;
  /** Quantity-type pricing attributes that were numbers (amount, diskSize, bandWidth). */
  readonly spec: Readonly<Record<string, number>>;
  readonly orderAmount?: string;
}

/**
 * The buyer's contacts, in plain text, for the merchant's provisioner to create the tenant's admin account with.
 * Personal data: seal it before it is stored or put into a workflow, and never log it.
 */
export interface BuyerContacts {
  readonly mobilePhone?: string;
  readonly email?: string;
}

/** The four kinds of refreshInstance (§3.2, §4.3). */
export type RenewalScene = 'RENEWAL' | 'UNSUBSCRIBE_RENEWAL_PERIOD' | 'TRIAL_TO_FORMAL' | 'RENEWAL_CHANGE';

interface CommandBase {
  readonly interfaceVersion: InterfaceVersion;
  /** testFlag=1: a debug call (dial tests replay these twice a day; they must always succeed). */
  readonly testOrder: boolean;
}

/** newInstance: create the instance, or find the one created for the same purchase. */
export interface PurchaseCommand extends CommandBase {
  readonly kind: 'purchase';
  readonly key: PurchaseKey;
  /** Different on every repeat; the first one becomes the instanceId. */
  readonly businessId: string;
  /** V1 only. */
  readonly facts?: PurchaseFacts;
  /** V1 only (V2's come from Query Order); absent when the product does not ask for them. */
  readonly contacts?: BuyerContacts;
}

/** refreshInstance: renewal, renewal refund, trial conversion, renewal with change. */
export interface RenewCommand extends CommandBase {
  readonly kind: 'renew';
  readonly instanceId: string;
  /** The renewal's own order (the idempotency key of the renewal). */
  readonly orderId: string;
  readonly orderLineId?: string;
  readonly scene: RenewalScene;
  /** ISO-8601 new expiry. */
  readonly expireTime: string;
  readonly productId?: string;
  readonly periodType?: string;
  readonly periodNumber?: number;
  readonly orderAmount?: string;
}

/** V1 expireInstance: the period ended; freeze, keeping data, until renewed or released. */
export interface ExpireCommand extends CommandBase {
  readonly kind: 'expire';
  readonly instanceId: string;
  /** The original purchase order (for logs). */
  readonly orderId?: string;
}

/** V1 instanceStatus FREEZE / V2 updateInstanceStatus FREEZE (arrears, violations, or expiry in V2). */
export interface FreezeCommand extends CommandBase {
  readonly kind: 'freeze';
  readonly instanceId: string;
}

/** V1 instanceStatus NORMAL / V2 updateInstanceStatus UNFREEZE: lifts every freeze the marketplace imposed. */
export interface UnfreezeCommand extends CommandBase {
  readonly kind: 'unfreeze';
  readonly instanceId: string;
}

/** releaseInstance: delete the instance; releasing a released one succeeds. */
export interface ReleaseCommand extends CommandBase {
  readonly kind: 'release';
  readonly instanceId: string;
  /** The unsubscribe order, if any (for logs). */
  readonly orderId?: string;
  readonly orderLineId?: string;
}

/** upgrade (V1, new spec inline) / upgradeInstance (V2, new spec pulled with Query Order). */
export interface UpgradeCommand extends CommandBase {
  readonly kind: 'upgrade';
  readonly instanceId: string;
  /** The change order (the idempotency key of the upgrade). */
  readonly orderId: string;
  readonly orderLineId?: string;
  readonly skuCode?: string;
  readonly productId?: string;
  readonly spec?: Readonly<Record<string, number>>;
}

/** queryInstance: how to reach up to 100 instances, once they are ready. */
export interface QueryCommand extends CommandBase {
  readonly kind: 'query';
  readonly instanceIds: readonly string[];
}

/** changeInstanceCheck (V2): may this instance take a renewal with change? */
export interface CheckChangeCommand extends CommandBase {
  readonly kind: 'check-change';
  readonly instanceId: string;
}

/** Everything the production interface can ask of us, discriminated on `kind`. */
export type ProductionCommand =
  | PurchaseCommand
  | RenewCommand
  | ExpireCommand
  | FreezeCommand
  | UnfreezeCommand
  | ReleaseCommand
  | UpgradeCommand
  | QueryCommand
  | CheckChangeCommand;

/** A command, or why the request cannot become one (a result code and the field to blame). */
export type CommandResult =
  | { readonly ok: true; readonly command: ProductionCommand }
  | { readonly ok: false; readonly code: ResultCode; readonly field: string; readonly reason: string };

const V1_CHARGING_MODES: Readonly<Record<string, ChargingModeName>> = { '0': 'ON_DEMAND', '1': 'PERIOD', '3': 'ONE_TIME', '5': 'ON_DEMAND_PKG' };

/** V1 `chargingMode` (0, 1, 3, 5) as its V2 name; undefined for a code the spec does not list. */
export function v1ChargingMode(code: string | undefined): ChargingModeName | undefined {
  // Own keys only: a hostile `chargingMode=__proto__` (or `constructor`) must not read Object.prototype's members
  // (the fuzz suite found orders stuck with `chargingMode: {}`).
  return code !== undefined && Object.hasOwn(V1_CHARGING_MODES, code) ? V1_CHARGING_MODES[code] : undefined;
}

/** V1 leaves the renewal's kind implicit: trialToFormal=1 converts a trial, a negative amount refunds a period. */
export function v1RenewalScene(r: { trialToFormal?: string; orderAmount?: string }): RenewalScene {
  if (r.trialToFormal === '1') return 'TRIAL_TO_FORMAL';
  const amount = numeric(r.orderAmount);
  return amount !== undefined && amount < 0 ? 'UNSUBSCRIBE_RENEWAL_PERIOD' : 'RENEWAL';
}

/** V1's refreshInstance (and V1 License's refreshLicense) as a command; `expireTime` already validated as compact UTC. */
export function v1RenewCommand(
  base: CommandBase,
  r: { instanceId: string; orderId: string; expireTime: string; trialToFormal?: string; orderAmount?: string; productId?: string; periodType?: string },
  periodNumber: number | undefined,
): RenewCommand {
  return {
    ...base,
    kind: 'renew',
    instanceId: r.instanceId,
    orderId: r.orderId,
    scene: v1RenewalScene(r),
    expireTime: isoFromCompact(r.expireTime)!,
    ...(r.productId ? { productId: r.productId } : {}),
    ...(r.periodType ? { periodType: r.periodType } : {}),
    ...(periodNumber !== undefined ? { periodNumber } : {}),
    ...(r.orderAmount ? { orderAmount: r.orderAmount } : {}),
  };
}

function isoFromCompact(v: string | undefined): string | undefined {
  return v ? parseCompactUtc(v)?.toISOString() : undefined;
}

function numeric(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** The quantity-type pricing attributes that are numbers; a non-numeric one is dropped, not refused (UNCONFIRMED types). */
function specOf(r: { amount?: string; diskSize?: string; bandWidth?: string }): Record<string, number> {
  const spec: Record<string, number> = {};
  for (const k of ['amount', 'diskSize', 'bandWidth'] as const) {
    const n = numeric(r[k]);
    if (n !== undefined) spec[k] = n;
  }
  return spec;
}

// Which key size the marketplace encrypts inbound contacts with is UNCONFIRMED (§2.4: the sample uses AES-256);
// AES-128 is tried after it, so either configuration works. A wrong size fails on padding or UTF-8.
const INBOUND_ENCRYPT_TYPES: readonly EncryptType[] = ['1', '2'];

/** Decrypts an inbound AES field (§2.4) with either key size; undefined when neither opens it. */
export function decryptInboundField(accessKey: string, value: string): string | undefined {
  for (const type of INBOUND_ENCRYPT_TYPES) {
    try {
      return decryptField(accessKey, value, type);
    } catch {
      // next key size
    }
  }
  return undefined;
}

/** V1 contacts, decrypted; a contact that cannot be decrypted is the buyer's invalid contact (000101 / 000102). */
function v1Contacts(
  accessKey: string,
  r: { mobilePhone?: string; email?: string },
): { ok: true; contacts?: BuyerContacts } | { ok: false; code: ResultCode; field: string; reason: string } {
  const contacts: { mobilePhone?: string; email?: string } = {};
  const fields = [
    ['mobilePhone', ResultCode.InvalidMobile],
    ['email', ResultCode.InvalidEmail],
  ] as const;
  for (const [field, code] of fields) {
    const sealed = r[field];
    if (sealed === undefined) continue;
    const plain = decryptInboundField(accessKey, sealed)?.trim();
    if (plain === undefined) return { ok: false, code, field, reason: 'could not be decrypted' };
    if (plain !== '') contacts[field] = plain;
  }
  return { ok: true, ...(Object.keys(contacts).length > 0 ? { contacts } : {}) };
}

/**
 * The buyer's contacts as Query Order reports them (§4.1 buyerInfo). Whether Query Order encrypts them like V1 does
 * is UNCONFIRMED: a value shaped like an encrypted field (16-character IV + Base64 of whole AES blocks) that opens
 * with one of the access keys is read decrypted; anything else is taken as sent. A phone number or an e-mail address
 * never has that shape (an address has '@', a phone is too short or not whole blocks). Which of several keys (other
 * products', KOOGALLERY_OTHER_ACCESS_KEYS) the order's product is bound to is not known here: they are tried in
 * turn, the access key first; a wrong key fails on padding or UTF-8 (all but rarely).
 */
export function buyerContactsFromQueryOrder(accessKeys: readonly string[], buyer: { mobilePhone?: string; email?: string } | undefined): BuyerContacts | undefined {
  if (!buyer) return undefined;
  const contacts: { mobilePhone?: string; email?: string } = {};
  for (const field of ['mobilePhone', 'email'] as const) {
    const value = buyer[field]?.trim();
    if (!value) continue;
    const plain = looksEncrypted(value) ? firstDecrypted(accessKeys, value)?.trim() : undefined;
    contacts[field] = plain || value;
  }
  return Object.keys(contacts).length > 0 ? contacts : undefined;
}

function firstDecrypted(keys: readonly string[], value: string): string | undefined {
  for (const key of keys) {
    const plain = decryptInboundField(key, value);
    if (plain !== undefined) return plain;
  }
  return undefined;
}

function looksEncrypted(value: string): boolean {
  if (value.length <= 16 || !/^[\x21-\x7e]{16}[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const b64 = value.slice(16);
  return b64.length % 4 === 0 && ((b64.length / 4) * 3 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0)) % 16 === 0;
}

/**
 * The command a validated V1 request asks for. Fails only for a contact that cannot be decrypted (000101 / 000102):
 * the authToken was signed with the same key, so an unreadable ciphertext is bad input, not a configuration fault.
 */
export function v1Command(r: V1Request, opts: { readonly accessKey: string }): CommandResult {
  const base = { interfaceVersion: 'V1' as const, testOrder: r.testFlag === '1' };
  const ok = (command: ProductionCommand): CommandResult => ({ ok: true, command });
  switch (r.activity) {
    case 'newInstance': {
      const chargingMode = v1ChargingMode(r.chargingMode);
      const contacts = v1Contacts(opts.accessKey, r);
      if (!contacts.ok) return contacts;
      // On-demand: one order with several billing items yields one instance per (orderId, productId) (§3.1).
      const key: PurchaseKey =
        chargingMode === 'ON_DEMAND' && r.productId ? { kind: 'v1-on-demand', orderId: r.orderId, productId: r.productId } : { kind: 'v1-order', orderId: r.orderId };
      const expireTime = isoFromCompact(r.expireTime);
      const periodNumber = numeric(r.periodNumber);
      const facts: PurchaseFacts = {
        customerId: r.customerId,
        ...(r.customerName ? { customerName: r.customerName } : {}),
        ...(r.productId ? { productId: r.productId } : {}),
        ...(r.skuCode ? { skuCode: r.skuCode } : {}),
        ...(chargingMode ? { chargingMode } : {}),
        ...(r.periodType ? { periodType: r.periodType } : {}),
        ...(periodNumber !== undefined ? { periodNumber } : {}),
        ...(expireTime ? { expireTime } : {}),
        trial: r.trialFlag === '1',
        spec: specOf(r),
        ...(r.orderAmount ? { orderAmount: r.orderAmount } : {}),
      };
      return ok({ ...base, kind: 'purchase', key, businessId: r.businessId, facts, ...(contacts.contacts ? { contacts: contacts.contacts } : {}) });
    }
    case 'refreshInstance':
      return ok(v1RenewCommand(base, r, numeric(r.periodNumber)));
    case 'expireInstance':
      return ok({ ...base, kind: 'expire', instanceId: r.instanceId, orderId: r.orderId });
    case 'instanceStatus':
      return ok({ ...base, kind: r.instanceStatus === 'FREEZE' ? 'freeze' : 'unfreeze', instanceId: r.instanceId });
    case 'upgrade':
      return ok({
        ...base,
        kind: 'upgrade',
        instanceId: r.instanceId,
        orderId: r.orderId,
        ...(r.skuCode ? { skuCode: r.skuCode } : {}),
        ...(r.productId ? { productId: r.productId } : {}),
        spec: specOf(r),
      });
    case 'releaseInstance':
      return ok({ ...base, kind: 'release', instanceId: r.instanceId, orderId: r.orderId });
    case 'queryInstance':
      return ok({ ...base, kind: 'query', instanceIds: r.instanceIds });
  }
}

/** The command a validated V2 request asks for (V2 carries ids only; nothing in it can fail to convert). */
export function v2Command(r: V2Request): ProductionCommand {
  const base = { interfaceVersion: 'V2' as const, testOrder: r.testFlag === '1' };
  switch (r.activity) {
    case 'newInstance':
      return { ...base, kind: 'purchase', key: { kind: 'v2-line', orderId: r.orderId, orderLineId: r.orderLineId }, businessId: r.businessId };
    case 'queryInstance':
      return { ...base, kind: 'query', instanceIds: r.instanceIds };
    case 'refreshInstance':
      return {
        ...base,
        kind: 'renew',
        instanceId: r.instanceId,
        orderId: r.orderId,
        orderLineId: r.orderLineId,
        // `scene` is marked "M?" (§4.3); a missing one is read as a plain renewal.
        scene: r.scene ?? 'RENEWAL',
        expireTime: isoFromCompact(r.expireTime)!,
        ...(r.productId ? { productId: r.productId } : {}),
      };
    case 'updateInstanceStatus':
      return { ...base, kind: r.status === 'FREEZE' ? 'freeze' : 'unfreeze', instanceId: r.instanceId };
    case 'releaseInstance':
      return { ...base, kind: 'release', instanceId: r.instanceId, ...(r.orderId ? { orderId: r.orderId } : {}), ...(r.orderLineId ? { orderLineId: r.orderLineId } : {}) };
    case 'upgradeInstance':
      return { ...base, kind: 'upgrade', instanceId: r.instanceId, orderId: r.orderId, orderLineId: r.orderLineId };
    case 'changeInstanceCheck':
      return { ...base, kind: 'check-change', instanceId: r.instanceId };
  }
}

/** The ids a command names, for logs and the inbox (never its contacts). */
export function commandIds(c: ProductionCommand): { businessId?: string; orderId?: string; orderLineId?: string; instanceId?: string; testFlag: boolean } {
  const ids: { businessId?: string; orderId?: string; orderLineId?: string; instanceId?: string; testFlag: boolean } = { testFlag: c.testOrder };
  switch (c.kind) {
    case 'purchase':
      ids.businessId = c.businessId;
      ids.orderId = c.key.orderId;
      if (c.key.kind === 'v2-line') ids.orderLineId = c.key.orderLineId;
      return ids;
    case 'query':
      // Up to 100 ids are not one instance (and a 6,400-character list would not fit the inbox's index).
      if (c.instanceIds.length === 1) ids.instanceId = c.instanceIds[0]!;
      return ids;
    case 'renew':
    case 'upgrade':
      ids.orderId = c.orderId;
      if (c.orderLineId) ids.orderLineId = c.orderLineId;
      ids.instanceId = c.instanceId;
      return ids;
    case 'release':
    case 'expire':
      if (c.orderId) ids.orderId = c.orderId;
      if (c.kind === 'release' && c.orderLineId) ids.orderLineId = c.orderLineId;
      ids.instanceId = c.instanceId;
      return ids;
    default:
      ids.instanceId = c.instanceId;
      return ids;
  }
}
