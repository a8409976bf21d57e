import { ScheduleAlreadyRunning, type Client, type ScheduleOptions, type ScheduleOptionsAction, type ScheduleSpec } from '@temporalio/client';

/** A Schedule as a worker declares it at start-up. */
export interface DeclaredSchedule {
  readonly scheduleId: string;
  readonly spec: ScheduleSpec;
  readonly action: ScheduleOptionsAction;
  readonly policies: NonNullable<ScheduleOptions['policies']>;
  /** Undefined: keep the schedule's current pause state (a new one starts running). */
  readonly paused?: boolean;
  /** Shown in the Temporal UI: who manages this schedule. */
  readonly note: string;
}

/**
 * Creates the schedule, or updates it in place when it exists (idempotent; safe when several workers start at once).
 * An operator's pause survives a deploy, with its note, unless this deploy asks for a pause state itself.
 */
export async function upsertSchedule(client: Client, s: DeclaredSchedule): Promise<{ scheduleId: string; created: boolean }> {
  const { scheduleId, spec, action, policies, paused, note } = s;
  try {
    await client.schedule.create({ scheduleId, spec, action, policies, state: { paused: paused ?? false, note } });
    return { scheduleId, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({
    spec,
    action,
    policies,
    state: { paused: paused ?? previous.state.paused, note: paused === undefined && previous.state.paused ? previous.state.note : note },
  }));
  return { scheduleId, created: false };
}
