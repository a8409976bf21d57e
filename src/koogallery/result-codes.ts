// Result codes of the production interface (spec §6). Always sent with HTTP 200 and a Body-Sign header.

/** Every result code the merchant may answer with (spec §6). */
export const ResultCode = {
  Success: '000000',
  AuthFailed: '000001',
  InvalidParameter: '000002',
  InstanceNotFound: '000003',
  Processing: '000004',
  InternalError: '000005',
  NoInstanceResource: '000100',
  InvalidMobile: '000101',
  InvalidEmail: '000102',
  AlreadyPurchased: '000103',
  NewInstanceInternalError: '000104',
  AlreadyHoldsBenefit: '000105',
  SoldOut: '000106',
  DuplicateEmailDomain: '000107',
  /** getLicenseAsync: the instance's quota (its effective orders' linearValue) is used up. */
  LicenseQuotaExceeded: '000900',
  /**
   * getLicenseAsync: the instance is frozen, so no new license. §6 lists 000901–000903 as further async-license
   * errors without texts (UNCONFIRMED): 000901 is our pick for this one.
   */
  LicenseInstanceFrozen: '000901',
} as const;

/** One of the result-code strings above. */
export type ResultCode = (typeof ResultCode)[keyof typeof ResultCode];

const MESSAGES: Readonly<Record<ResultCode, string>> = {
  '000000': 'success.',
  '000001': 'authentication failed.',
  '000002': 'invalid parameter.',
  '000003': 'instance not found.',
  '000004': 'request is being processed.',
  '000005': 'internal error.',
  '000100': 'no instance resource available.',
  '000101': 'mobile phone number is missing, invalid or already used.',
  '000102': 'email is missing, invalid or already used.',
  '000103': 'customer has already purchased this product.',
  // Official text of 000104 is UNCONFIRMED (spec §6); a neutral paraphrase.
  '000104': 'internal error while creating the instance.',
  '000105': 'customer already holds this benefit.',
  '000106': 'sold out.',
  '000107': 'email domain is already registered.',
  '000900': 'license quota of the instance is insufficient.',
  '000901': 'instance is frozen: no new license.',
};

/** A short English resultMsg for a result code. */
export function defaultResultMessage(code: ResultCode): string {
  return MESSAGES[code] ?? 'unknown result.';
}
