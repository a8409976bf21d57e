import * as sdk from '@temporalio/common/lib/proto-utils.js';

// Reads and writes replay fixtures: a workflow history in the proto-JSON form of Temporal's tools (what the SDK's
// historyToJSON writes and historyFromJSON reads). protobufjs must be a single copy for these to work: package.json
// depends on protobufjs 8 directly so the Temporal packages share the top-level one (a split copy throws
// "type must be a Type" from protojson's instanceof check).

/** A workflow history, as `fetchHistory()` returns it and `Worker.runReplayHistories` takes it. */
export type History = sdk.History;

/** A history as fixture JSON (pretty-printed). */
export function historyToJSON(history: History): string {
  return sdk.historyToJSON(history);
}

/** Fixture JSON (already parsed) as a decoded history, ready for `Worker.runReplayHistories`. */
export function historyFromJSON(json: unknown): History {
  return sdk.historyFromJSON(json);
}

/**
 * Patch ids recorded in fixture JSON: core writes a `core_patch` marker (payload `{"id": …, "deprecated": …}`) the
 * first time `patched()`/`deprecatePatch()` is reached in a run.
 */
export function patchIds(json: { events?: unknown[] }): string[] {
  const ids: string[] = [];
  for (const e of json.events ?? []) {
    const marker = (e as { markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, { payloads?: Array<{ data?: string }> }> } }).markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') continue;
    const data = marker.details?.['patch-data']?.payloads?.[0]?.data;
    if (data) ids.push((JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { id: string }).id);
  }
  return ids;
}
