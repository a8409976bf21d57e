import { condition, defineUpdate, proxyActivities, proxyLocalActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { OrderPhaseKey } from '../../src/kernel/search-attributes.js';

// B6's second floor: the SDK primitives an order's life is made of, with no code of ours between them. The minimal
// workflow (timers only) costs the SDK the least per event; an order's history is made of dearer primitives — an
// update from the API, a local activity that writes the read model, a search-attribute upsert, an activity — each of
// which the SDK serves with several tracked promises and its own activation. Replaying histories of this workflow
// shows what those primitives cost at the same lengths, so that what our workflow code adds is measured apart.
//
// One round: the API's update, whose handler records a transition (local activity + upsert), runs the round's
// activity (the provisioner's call) and records the outcome (local activity + upsert) before it answers — the shape
// of a renewal, freeze or release. The driver sends the next update after the answer, so rounds never overlap.

interface Noop {
  noop(): Promise<void>;
}

const remote = proxyActivities<Noop>({ startToCloseTimeout: '10 seconds' });
const local = proxyLocalActivities<Noop>({ startToCloseTimeout: '10 seconds' });

/** The update a round starts with (its argument mimics a command's size). */
export const primitivesStepUpdate = defineUpdate<number, [Record<string, string>]>('primitivesStep');

/** Purchase-like start, then `rounds` rounds of update → local activity → activity → local activity. */
export async function primitivesWorkflow(rounds: number): Promise<number> {
  let served = 0;
  const record = async (phase: string) => {
    upsertSearchAttributes([{ key: OrderPhaseKey, value: phase }]);
    await local.noop();
  };
  setHandler(primitivesStepUpdate, async () => {
    await record(`U${served}`);
    await remote.noop();
    await record(`D${served}`);
    return ++served;
  });
  await record('RECEIVED');
  await remote.noop();
  await record('ACTIVE');
  await condition(() => served >= rounds);
  return served;
}
