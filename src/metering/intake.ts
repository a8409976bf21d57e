import { z } from 'zod';
import { MAX_RECORDS_PER_INTAKE, MAX_USAGE_AGE_MS, MAX_USAGE_VALUE, UsageRefusal, type RecordAnswer } from './contract.js';

// The usage intake's request schema and the per-record checks that need no database. The schema refuses a body
// that is not a batch of records (the whole call is a 400: nothing is stored); the checks refuse single records
// (their answer says why, the rest of the batch is stored).

/** Printable ASCII without spaces: ids end up in SQL arrays, logs and the marketplace's records. */
const ID = /^[\x21-\x7e]+$/;

/** `usageValue`: a JSON number, or a decimal string (so that 4 decimals survive any JSON library of the reporter). */
const usageValueSchema = z.union([z.number(), z.string().max(40).regex(/^-?\d+(\.\d+)?$/, 'a decimal number')]);

/** One usage record as the merchant's product reports it. */
export const usageRecordSchema = z.object({
  recordId: z.string().min(1).max(64).regex(ID, 'printable ASCII without spaces'),
  instanceId: z.string().min(1).max(64).regex(ID, 'printable ASCII without spaces'),
  usageValue: usageValueSchema,
  beginTime: z.iso.datetime({ offset: true }),
  endTime: z.iso.datetime({ offset: true }),
});

/** The body of POST /metering/usage. */
export const usageBatchSchema = z.object({ records: z.array(usageRecordSchema).min(1).max(MAX_RECORDS_PER_INTAKE) });

/** A parsed intake body. */
export type UsageBatch = z.output<typeof usageBatchSchema>;

/** One record that passed the checks: its value a decimal string with at most 4 decimals, its times ISO-8601 UTC. */
export interface CheckedRecord {
  readonly recordId: string;
  readonly instanceId: string;
  readonly usageValue: string;
  readonly beginTime: string;
  readonly endTime: string;
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** A usage value as a decimal string with at most 4 decimals, or why it cannot be one. */
export function normaliseUsageValue(v: number | string): { value: string } | { refusal: UsageRefusal } {
  if (typeof v === 'number' && !Number.isFinite(v)) return { refusal: UsageRefusal.ValueTooLarge };
  // A number's shortest round-trip text is what the reporter meant (0.1 + 0.2 has 17 decimals and is refused).
  const text = typeof v === 'number' ? String(v) : v;
  if (text.startsWith('-')) return { refusal: UsageRefusal.ValueNotPositive };
  if (/e/i.test(text)) return { refusal: Math.abs(Number(text)) >= 1 ? UsageRefusal.ValueTooLarge : UsageRefusal.TooManyDecimals };
  const m = DECIMAL.exec(text);
  if (!m) return { refusal: UsageRefusal.ValueNotPositive };
  const decimals = (m[2] ?? '').replace(/0+$/, '');
  if (decimals.length > 4) return { refusal: UsageRefusal.TooManyDecimals };
  const whole = m[1]!.replace(/^0+(?=\d)/, '');
  if (/^0+$/.test(whole) && decimals === '') return { refusal: UsageRefusal.ValueNotPositive };
  if (Number(`${whole}.${decimals || '0'}`) > MAX_USAGE_VALUE) return { refusal: UsageRefusal.ValueTooLarge };
  return { value: decimals ? `${whole}.${decimals}` : whole };
}

/**
 * The database-free checks of one record at `nowMs`: value (> 0, ≤ 4 decimals, fits numeric(16,4)), begin not older
 * than 21 days, end not before begin, end not in the future beyond `futureToleranceMs`.
 */
export function checkRecord(r: UsageBatch['records'][number], nowMs: number, futureToleranceMs: number): CheckedRecord | UsageRefusal {
  const v = normaliseUsageValue(r.usageValue);
  if ('refusal' in v) return v.refusal;
  const begin = Date.parse(r.beginTime);
  const end = Date.parse(r.endTime);
  if (end < begin) return UsageRefusal.EndBeforeBegin;
  if (begin < nowMs - MAX_USAGE_AGE_MS) return UsageRefusal.BeginTooOld;
  if (end > nowMs + futureToleranceMs) return UsageRefusal.EndInFuture;
  return { recordId: r.recordId, instanceId: r.instanceId, usageValue: v.value, beginTime: new Date(begin).toISOString(), endTime: new Date(end).toISOString() };
}

/** The counts of an intake answer. */
export function countAnswers(results: readonly RecordAnswer[]): { accepted: number; duplicates: number; refused: number } {
  let accepted = 0;
  let duplicates = 0;
  let refused = 0;
  for (const r of results) {
    if (r.status === 'accepted') accepted++;
    else if (r.status === 'duplicate') duplicates++;
    else refused++;
  }
  return { accepted, duplicates, refused };
}
