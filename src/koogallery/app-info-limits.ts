import { Buffer } from 'node:buffer';

// The marketplace's limits on the appInfo we answer (§3.1 newInstance response, §4.2 queryInstance): userName and
// password ≤ 128 characters as sent, i.e. after encryption, IV included (§2.4); frontEndUrl and adminUrl ≤ 512;
// memo ≤ 1024. A value over its limit must never be sent: the marketplace would reject the answer (or cut the value,
// leaving a buyer with a password that does not work), so the purchase fails instead, saying which field is too long.

/** The maximum length of each appInfo field as the marketplace receives it. */
export const APP_INFO_LIMITS = { frontEndUrl: 512, adminUrl: 512, userName: 128, password: 128, memo: 1024 } as const;

/** An appInfo field with a length limit. */
export type AppInfoField = keyof typeof APP_INFO_LIMITS;

/** appInfo before the credentials are encrypted for the marketplace. */
export interface PlainAppInfo {
  readonly frontEndUrl: string;
  readonly adminUrl?: string;
  readonly userName?: string;
  readonly password?: string;
  readonly memo?: string;
}

/** One field over its limit: its length as the marketplace would receive it. */
export interface AppInfoViolation {
  readonly field: AppInfoField;
  readonly length: number;
  readonly limit: number;
}

/** Length of `IV + Base64(AES-CBC-PKCS5(text))` (§2.4): 16 + Base64 of the UTF-8 bytes padded to whole 16-byte blocks. */
export function encryptedFieldLength(plaintext: string): number {
  const padded = (Math.floor(Buffer.byteLength(plaintext, 'utf8') / 16) + 1) * 16;
  return 16 + 4 * Math.ceil(padded / 3);
}

// Every non-ASCII UTF-16 unit goes out as a 6-character \uXXXX escape (§3.1 memo; responses.ts escapes the whole body).
// Whether the marketplace counts the escaped or the decoded form is UNCONFIRMED: the escaped form is the longer one,
// so counting it never sends a memo the marketplace could find too long.
const NON_ASCII = /[\u0080-\uffff]/g;

function memoLength(memo: string): number {
  return memo.replace(NON_ASCII, '\\uXXXX').length;
}

/** Every field of `a` that is over its limit as sent (empty when the appInfo may be sent). */
export function appInfoViolations(a: PlainAppInfo): AppInfoViolation[] {
  const lengths: Array<[AppInfoField, number | undefined]> = [
    ['frontEndUrl', a.frontEndUrl.length],
    ['adminUrl', a.adminUrl?.length],
    ['userName', a.userName === undefined ? undefined : encryptedFieldLength(a.userName)],
    ['password', a.password === undefined ? undefined : encryptedFieldLength(a.password)],
    ['memo', a.memo === undefined ? undefined : memoLength(a.memo)],
  ];
  const out: AppInfoViolation[] = [];
  for (const [field, length] of lengths) {
    if (length !== undefined && length > APP_INFO_LIMITS[field]) out.push({ field, length, limit: APP_INFO_LIMITS[field] });
  }
  return out;
}

/** One line naming every field over its limit (no values: a password must not end up in a failure message). */
export function describeAppInfoViolations(violations: readonly AppInfoViolation[]): string {
  return violations
    .map((v) => `appInfo.${v.field} is ${v.length} characters as sent${v.field === 'userName' || v.field === 'password' ? ' (encrypted)' : ''}; the marketplace accepts at most ${v.limit}`)
    .join('; ');
}
