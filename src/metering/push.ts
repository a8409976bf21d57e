import { createHash } from 'node:crypto';
import { formatUsageTime, type UsageDataRecord } from '../marketplace-api/usage-data-client.js';
import type { PushItemRow } from './store.js';

// The push's pure parts: the metering_sn of an (instance, hour, revision), and a push item as a usage-data record.

/**
 * The metering_sn of one push item: derived from (instance, hour, revision) alone, so every retry or repeat of
 * the push sends the same sn and the marketplace bills it once. 44 characters (the API allows 64).
 */
export function meteringSn(instanceId: string, periodStart: Date, revision: number): string {
  const digest = createHash('sha256').update(`${instanceId}\n${periodStart.toISOString()}\n${revision}`, 'utf8').digest('hex');
  return `koo-${digest.slice(0, 40)}`;
}

/** A push item as one record of the usage-data call. */
export function usageDataRecordOf(item: PushItemRow): UsageDataRecord {
  return {
    instance_id: item.instanceId,
    record_time: formatUsageTime(item.recordTime),
    begin_time: formatUsageTime(item.periodStart),
    end_time: formatUsageTime(item.periodEnd),
    usage_value: Number(item.usageValue),
    metering_sn: item.meteringSn,
    // The package instance is the instance that consumes it (UNCONFIRMED whether the marketplace expects another id).
    ...(item.relatePkgInstance ? { relate_pkg_instance: item.relatePkgInstance } : {}),
  };
}
