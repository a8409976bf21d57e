import type { Pool } from 'pg';
import { recordSupervision } from './store.js';
import type { NotificationRequest, SupervisionRecord } from './contract.js';

// The supervision workflow's side effects, built once per worker with their dependencies injected. Both are
// idempotent: the record is seq-guarded, and notifications carry a dedupe key the outbox enforces.

/** What the supervision activities need. */
export interface SupervisionActivityDeps {
  readonly pool: Pool;
  /** Puts notifications in the PostgreSQL outbox (idempotent on dedupeKey); the dispatcher delivers them. */
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
