import { sleep } from '@temporalio/workflow';

// B6's floor (issue #17): the smallest workflow that makes a history of a given length — `activations` timers one
// after another, nothing else (each: TimerStarted, TimerFired and a workflow task of three events). Replaying its
// history is what the SDK costs per event with no workflow code to speak of.

/** Sleeps 1 ms `activations` times. */
export async function minimalWorkflow(activations: number): Promise<number> {
  for (let i = 0; i < activations; i++) await sleep(1);
  return activations;
}
