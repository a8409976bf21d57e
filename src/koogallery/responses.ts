import { Buffer } from 'node:buffer';
import type { EncryptType } from './field-crypto.js';
import { defaultResultMessage, type ResultCode } from './result-codes.js';

// Response bodies (spec §3.1, §4.1, §4.2). Build the object, serialise once, then sign exactly those bytes.

/** How the buyer reaches the instance; userName/password must already be encrypted (encryptField). */
export interface AppInfo {
  frontEndUrl: string;
  adminUrl?: string;
  userName?: string;
  password?: string;
  memo?: string;
}

/** One entry of a queryInstance `info` list; `usage` is passed through as is (field names UNCONFIRMED, spec §4.2). */
export interface InstanceInfo {
  instanceId: string;
  appInfo?: AppInfo;
  usage?: unknown;
}

const NON_ASCII = /[\u0080-\uffff]/g;

/** Serialises a response body to UTF-8 JSON with every non-ASCII character written as a \uXXXX escape. */
export function serializeResponse(body: Record<string, unknown>): Buffer {
  // Non-ASCII can only occur inside JSON strings, so escaping the whole text is exact; §3.1 requires it for memo.
  const json = JSON.stringify(body).replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return Buffer.from(json, 'utf8');
}

function appInfoObject(a: AppInfo): Record<string, unknown> {
  const out: Record<string, unknown> = { frontEndUrl: a.frontEndUrl };
  if (a.adminUrl !== undefined) out['adminUrl'] = a.adminUrl;
  if (a.userName !== undefined) out['userName'] = a.userName;
  if (a.password !== undefined) out['password'] = a.password;
  if (a.memo !== undefined) out['memo'] = a.memo;
  return out;
}

/** `{resultCode, resultMsg}`; resultMsg defaults to defaultResultMessage(code). */
export function simpleResponse(code: ResultCode, msg?: string): Record<string, unknown> {
  return { resultCode: code, resultMsg: msg ?? defaultResultMessage(code) };
}

/** newInstance answer: resultCode, resultMsg, then instanceId, encryptType, appInfo when given. */
export function newInstanceResponse(
  code: ResultCode,
  msg?: string,
  opts: { instanceId?: string; encryptType?: EncryptType; appInfo?: AppInfo } = {},
): Record<string, unknown> {
  const out = simpleResponse(code, msg);
  if (opts.instanceId !== undefined) out['instanceId'] = opts.instanceId;
  if (opts.encryptType !== undefined) out['encryptType'] = opts.encryptType;
  if (opts.appInfo !== undefined) out['appInfo'] = appInfoObject(opts.appInfo);
  return out;
}

/** queryInstance answer: resultCode, resultMsg, encryptType when given, then `info` (omitted while the list is empty). */
export function queryInstanceResponse(
  code: ResultCode,
  msg: string | undefined,
  info: InstanceInfo[],
  encryptType?: EncryptType,
): Record<string, unknown> {
  const out = simpleResponse(code, msg);
  // encryptType placement is UNCONFIRMED (spec §4.2): top level, as in the newInstance response.
  if (encryptType !== undefined) out['encryptType'] = encryptType;
  // The marketplace treats a returned `info` as "instance ready" (spec §4.2), so an empty list is not sent.
  if (info.length > 0) {
    out['info'] = info.map((i) => {
      const item: Record<string, unknown> = { instanceId: i.instanceId };
      if (i.appInfo !== undefined) item['appInfo'] = appInfoObject(i.appInfo);
      if (i.usage !== undefined) item['usage'] = i.usage;
      return item;
    });
  }
  return out;
}
