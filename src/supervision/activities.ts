import type { Pool } from 'pg';
import { recordSupervision } from './store.js';
import type { NotificationRequest, SupervisionRecord } from './contract.js';

// The supervision workflow's side effects, built once per worker with their dependencies injected. Both are
// idempotent: the record is seq-guarded, and a notification's dedupe key is its workflow's id (started once).

/** What the supervision activities need. */
export interface SupervisionActivityDeps {
  readonly pool: Pool;
  /** Starts a notificationWorkflow per request and routed channel (idempotent on dedupeKey); returns how many were new. */
  readonly enqueueNotifications: (requests: readonly NotificationRequest[]) => Promise<number>;
}

/** The supervision activities. */
export function createSupervisionActivities(deps: SupervisionActivityDeps) {
  return {
    /** Writes a supervision transition to the read model. */
    async recordSupervision(record: SupervisionRecord): Promise<void> {
      await recordSupervision(deps.pool, record);
    },
    /** Enqueues notifications; returns how many were new. */
    async enqueueNotifications(requests: NotificationRequest[]): Promise<number> {
      return deps.enqueueNotifications(requests);
    },
  };
}

/** The supervision activity functions, as the workflow proxies them. */
export type SupervisionActivities = ReturnType<typeof createSupervisionActivities>;
