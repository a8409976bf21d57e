import { condition, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';

// B6's third floor: the leanest order an update-driven design allows. Each round is the API's update and one activity
// (which would do the work and write the read model itself), with no local activity and no search-attribute upsert
// per transition. Against primitives.ts (the same rounds with a local activity and an upsert before and after the
// activity, as our orders record each transition) it shows what those two primitives cost the replay, and so what a
// redesign that dropped them could reach against the minimal floor.

interface Noop {
  noop(): Promise<void>;
}

const remote = proxyActivities<Noop>({ startToCloseTimeout: '10 seconds' });

/** The update a round starts with (named as primitives.ts names its own, so B6 drives both alike). */
export const primitivesStepUpdate = defineUpdate<number, [Record<string, string>]>('primitivesStep');

/** Purchase-like start (one activity), then `rounds` rounds of update → activity. */
export async function primitivesWorkflow(rounds: number): Promise<number> {
  let served = 0;
  setHandler(primitivesStepUpdate, async () => {
    await remote.noop();
    return ++served;
  });
  await remote.noop();
  await condition(() => served >= rounds);
  return served;
}
