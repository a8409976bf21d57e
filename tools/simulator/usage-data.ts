import { sortedJson, usagePushSignature } from '../../src/koogallery/usage-sign.js';
import { constantTimeEqual } from '../../src/koogallery/constant-time.js';

// The marketplace's usage-data API (spec §2.5, §8) as the simulator plays it: checks our signature (`signature`,
// `ts`, `nonce` headers over the sorted-key body), each record's fields, and bills every metering_sn once (a
// repeated sn is answered as success and not billed again, as the marketplace de-duplicates). Faults: refuse the
// next records with a record-level code, fail the next calls, or bill and then lose the answer (the case a retry
// must not bill twice). Answer shape: our assumption, the one src/marketplace-api/usage-data-client.ts reads.

/** Request-level codes (MKT.0000 is documented; the others are our picks within the documented MKT.9xxx range). */
export const SIM_USAGE_CODES = {
  Success: 'MKT.0000',
  BadSignature: 'MKT.9001',
  BadRequest: 'MKT.9002',
  TooManyRecords: 'MKT.9003',
  /** Record-level: begin_time outside the last 21 days (the documented refusal). */
  RecordTooOld: '004',
  /** Record-level: a field is missing or malformed. */
  RecordInvalid: '001',
} as const;

/** One billed record. */
export interface BilledUsage {
  readonly instanceId: string;
  readonly meteringSn: string;
  readonly beginTime: string;
  readonly endTime: string;
  readonly usageValue: number;
  readonly relatePkgInstance?: string;
  readonly billedAt: string;
}

const TIME = /^\d{8}T\d{6}Z$/;
const parseTime = (t: string): number => Date.UTC(+t.slice(0, 4), +t.slice(4, 6) - 1, +t.slice(6, 8), +t.slice(9, 11), +t.slice(11, 13), +t.slice(13, 15));

/** The simulated usage-data API's state. */
export class UsageLedger {
  /** metering_sn → what was billed: each sn once. */
  readonly billed = new Map<string, BilledUsage>();
  /** Records that arrived again with an sn already billed. */
  duplicates = 0;
  /** Calls answered (signature valid or not). */
  calls = 0;
  #refuse: { n: number; code: string; message: string } = { n: 0, code: '', message: '' };
  #loseAnswers = 0;
  #nonces = new Set<string>();

  constructor(private readonly key: string) {}

  /** The next `n` records (not yet billed) are refused with this record-level code. */
  refuseNextRecords(n: number, code = '009', message = 'simulated refusal'): void {
    this.#refuse = { n, code, message };
  }

  /** The next `n` calls are billed and then answered HTTP 502, as if the answer were lost on the way back. */
  loseNextAnswers(n: number): void {
    this.#loseAnswers = n;
  }

  reset(): void {
    this.billed.clear();
    this.duplicates = 0;
    this.calls = 0;
    this.#refuse = { n: 0, code: '', message: '' };
    this.#loseAnswers = 0;
    this.#nonces.clear();
  }

  /** Total billed per instance. */
  totals(): Map<string, number> {
    const out = new Map<string, number>();
    for (const b of this.billed.values()) out.set(b.instanceId, Math.round(((out.get(b.instanceId) ?? 0) + b.usageValue) * 10_000) / 10_000);
    return out;
  }

  /** Answers one call: HTTP status and body. */
  handle(headers: Record<string, string | string[] | undefined>, body: Buffer, nowMs = Date.now()): { status: number; body: Record<string, unknown> } {
    this.calls++;
    const h = (name: string) => {
      const v = headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    const signature = h('signature');
    const ts = h('ts');
    const nonce = h('nonce');
    const text = body.toString('utf8');
    const refuseCall = (code: string, msg: string, status = 400) => ({ status, body: { error_code: code, error_msg: msg } });
    if (!signature || !ts || !nonce || ts.length > 20 || nonce.length > 64 || !/^\d+$/.test(ts)) return refuseCall(SIM_USAGE_CODES.BadSignature, 'signature, ts and nonce headers required', 401);
    if (Math.abs(nowMs - Number(ts)) > 5 * 60_000) return refuseCall(SIM_USAGE_CODES.BadSignature, 'ts outside the allowed window', 401);
    if (!constantTimeEqual(signature, usagePushSignature(this.key, ts, nonce, text))) return refuseCall(SIM_USAGE_CODES.BadSignature, 'signature mismatch', 401);
    if (this.#nonces.has(nonce)) return refuseCall(SIM_USAGE_CODES.BadSignature, 'nonce replayed', 401);
    this.#nonces.add(nonce);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return refuseCall(SIM_USAGE_CODES.BadRequest, 'body is not JSON');
    }
    // The signature covers the sorted-key form: a body sent in another key order would not verify on the real side.
    if (sortedJson(parsed) !== text) return refuseCall(SIM_USAGE_CODES.BadRequest, 'body keys are not in natural order');
    const records = (parsed as { usage_records?: unknown }).usage_records;
    if (!Array.isArray(records) || records.length === 0) return refuseCall(SIM_USAGE_CODES.BadRequest, 'usage_records required');
    if (records.length > 1000) return refuseCall(SIM_USAGE_CODES.TooManyRecords, 'at most 1000 usage_records');

    const failRecords: { metering_sn: string; error_code: string; error_msg: string }[] = [];
    for (const raw of records as Record<string, unknown>[]) {
      const sn = typeof raw['metering_sn'] === 'string' ? raw['metering_sn'] : '';
      const fail = (code: string, msg: string) => failRecords.push({ metering_sn: sn, error_code: code, error_msg: msg });
      const instanceId = raw['instance_id'];
      const begin = raw['begin_time'];
      const end = raw['end_time'];
      const recordTime = raw['record_time'];
      const value = raw['usage_value'];
      if (
        sn === '' ||
        sn.length > 64 ||
        typeof instanceId !== 'string' ||
        instanceId.length > 64 ||
        typeof begin !== 'string' ||
        typeof end !== 'string' ||
        typeof recordTime !== 'string' ||
        !TIME.test(begin) ||
        !TIME.test(end) ||
        !TIME.test(recordTime) ||
        typeof value !== 'number' ||
        !(value > 0) ||
        Math.round(value * 10_000) / 10_000 !== value
      ) {
        fail(SIM_USAGE_CODES.RecordInvalid, 'record field missing or malformed');
        continue;
      }
      if (parseTime(begin) < nowMs - 21 * 24 * 3600_000) {
        fail(SIM_USAGE_CODES.RecordTooOld, 'begin_time must be within the last 21 days');
        continue;
      }
      if (this.billed.has(sn)) {
        this.duplicates++;
        continue;
      }
      if (this.#refuse.n > 0) {
        this.#refuse.n--;
        fail(this.#refuse.code, this.#refuse.message);
        continue;
      }
      const pkg = raw['relate_pkg_instance'];
      this.billed.set(sn, {
        instanceId,
        meteringSn: sn,
        beginTime: begin,
        endTime: end,
        usageValue: value,
        ...(typeof pkg === 'string' ? { relatePkgInstance: pkg } : {}),
        billedAt: new Date(nowMs).toISOString(),
      });
    }
    if (this.#loseAnswers > 0) {
      this.#loseAnswers--;
      return { status: 502, body: { error_code: 'APIGW.0201', error_msg: 'simulated: billed, answer lost' } };
    }
    return { status: 200, body: { error_code: SIM_USAGE_CODES.Success, error_msg: 'success', ...(failRecords.length > 0 ? { fail_records: failRecords } : {}) } };
  }
}
