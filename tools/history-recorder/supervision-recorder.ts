// The supervision workflow's recorders: paths that happen in seconds through the real service's HTTP (ServiceKit),
// and paths measured in days on the time-skipping server (TimeSkippingKit). Supervisions recorded as the child of an
// order's path are exported by that order recorder (order-recorder.ts).
import { getOrderQuery } from '../../src/orders/contract.js';
import { SUPERVISION_WORKFLOW_TYPE } from '../../src/supervision/contract.js';
import type { Recorder, RecorderCatalogue } from './catalogue.js';
import { freshId, until } from './recorder.js';
import type { ServiceKit } from './service-kit.js';
import { expectSupervision, GENERAL_PRODUCT, GENERAL_TERMS, HARDWARE_TERMS } from './supervised-products.js';
import type { TimeSkippingKit } from './time-skipping-kit.js';

/** Supervision paths that happen in seconds, on the dev server through HTTP. */
const service: Recorder<ServiceKit>[] = [
  {
    scenario: 'general-rejections-then-accepted',
    description:
      'GENERAL supervision over HTTP: requirement submitted → rejected (ops) → an invalid confirmation refused (409, no trace) → submitted again → confirmed → implemented → acceptance rejected → implemented again → accepted',
    async record(k) {
      const o = await k.buySupervisedV2(GENERAL_PRODUCT, 'REQUIREMENT_SUBMISSION', { periodType: 'month' });
      const id = o.orderId;
      await k.userEvents('notification REQUIREMENT_SUBMITTED', o, [{ eventId: `${id}-req-1`, eventType: 'REQUIREMENT_SUBMITTED', attachments: ['requirement-v1.docx'] }], 'REQUIREMENT_CONFIRMATION');
      await k.merchant('ops REJECT_REQUIREMENT', id, { type: 'REJECT_REQUIREMENT', reason: 'the requirement names no delivery site' }, { node: 'REQUIREMENT_SUBMISSION' });
      // Refused by the update's validator: 409 with the reason, and nothing about it reaches the history.
      const before = await k.settle(o.supervisionId);
      const refused = await k.merchant('ops CONFIRM_REQUIREMENT (nothing submitted)', id, { type: 'CONFIRM_REQUIREMENT' }, { status: 409 });
      if (!/REQUIREMENT_SUBMISSION/.test(String(refused.message))) throw new Error(`unexpected refusal: ${JSON.stringify(refused)}`);
      const after = await k.settle(o.supervisionId);
      if (after.events !== before.events) throw new Error(`a refused action left ${after.events - before.events} event(s) in the history`);
      await k.userEvents('notification REQUIREMENT_SUBMITTED (again)', o, [{ eventId: `${id}-req-2`, eventType: 'REQUIREMENT_SUBMITTED', attachments: ['requirement-v2.docx'] }], 'REQUIREMENT_CONFIRMATION');
      await k.merchant('ops CONFIRM_REQUIREMENT', id, { type: 'CONFIRM_REQUIREMENT' }, { node: 'IMPLEMENTATION' });
      await k.merchant('ops COMPLETE_IMPLEMENTATION', id, { type: 'COMPLETE_IMPLEMENTATION', acceptanceReport: 'acceptance-report-1' }, { node: 'USER_ACCEPTANCE' });
      await k.userEvents('notification ACCEPTANCE_REJECTED', o, [{ eventId: `${id}-rej`, eventType: 'ACCEPTANCE_REJECTED', reason: 'the report misses the training' }], 'IMPLEMENTATION');
      await k.merchant('ops COMPLETE_IMPLEMENTATION (again)', id, { type: 'COMPLETE_IMPLEMENTATION', acceptanceReport: 'acceptance-report-2' }, { node: 'USER_ACCEPTANCE' });
      await k.userEvents('notification ACCEPTED', o, [{ eventId: `${id}-acc`, eventType: 'ACCEPTED' }], 'COMPLETED');
      await until('the supervision to end', async () => ((await k.settle(o.supervisionId)).status === 'COMPLETED' ? true : undefined));
      expectSupervision('the path recorded', await k.supervisionState(o.supervisionId), { requirementRejections: 1, acceptanceRejections: 1, outcome: 'ACCEPTED' });
      return [{ workflowId: o.supervisionId, status: 'COMPLETED' }];
    },
  },
];

/** Supervision paths measured in days, on the time-skipping server. */
const timeSkipping: Recorder<TimeSkippingKit>[] = [
  {
    scenario: 'hardware-auto-accepted',
    description: 'HARDWARE supervision (child of a yearly order): shipped, signed for, still waiting on day 9, accepted automatically on day 10; the order gets supervisionEnded',
    async record(k) {
      const { orderWorkflowId: orderId, supervision: h } = await k.supervisedOrder(HARDWARE_TERMS, { periodType: 'year', periodNumber: 1 });
      await k.act('RECORD_SHIPMENT', h, { type: 'RECORD_SHIPMENT', source: 'MERCHANT', carrier: 'SF Express', trackingNumber: freshId('SF'), deliveryDocuments: ['delivery-note.pdf'] }, { node: 'USER_ACCEPTANCE' });
      await k.act('SIGN_FOR', h, { type: 'SIGN_FOR', source: 'MARKETPLACE', eventId: freshId('ev-'), consigneePhone: '138****1234', userPhone: '13800001234' });
      await k.sleepDays(9);
      await k.state('day 9', h, { node: 'USER_ACCEPTANCE' });
      await k.sleepDays(2);
      await k.state('day 11', h, { node: 'COMPLETED', outcome: 'AUTO_ACCEPTED' });
      if (k.notesOf(h, 'SUPERVISION_AUTO_ACCEPTED').length !== 2) throw new Error('expected the two auto-acceptance notices');
      await until('the order to record the auto-acceptance', async () =>
        ((await k.client.workflow.getHandle(orderId).query(getOrderQuery)).supervision?.outcome === 'AUTO_ACCEPTED' ? true : undefined),
      );
      return [{ workflowId: h.workflowId, status: 'COMPLETED' }];
    },
  },
  {
    scenario: 'general-reminders-then-accepted',
    description: 'GENERAL supervision (child of a monthly order) implemented but unaccepted: reminders on day 180 and 210, then accepted; validity from acceptance',
    async record(k) {
      const { supervision: h } = await k.supervisedOrder(GENERAL_TERMS, { periodType: 'month', periodNumber: 1 });
      await k.act('SUBMIT_REQUIREMENT', h, { type: 'SUBMIT_REQUIREMENT', source: 'MARKETPLACE', eventId: freshId('ev-'), attachments: ['requirement.docx'] });
      await k.act('CONFIRM_REQUIREMENT', h, { type: 'CONFIRM_REQUIREMENT', source: 'MERCHANT' });
      await k.act('COMPLETE_IMPLEMENTATION', h, { type: 'COMPLETE_IMPLEMENTATION', source: 'MERCHANT', acceptanceReport: 'acceptance-report-1' }, { node: 'USER_ACCEPTANCE' });
      await k.sleepDays(179);
      await k.state('day 179', h, { remindersSent: 0 });
      await k.sleepDays(2);
      await k.state('day 181', h, { remindersSent: 1 });
      await k.sleepDays(30);
      await k.state('day 211', h, { remindersSent: 2, node: 'USER_ACCEPTANCE' });
      if (k.notesOf(h, 'SUPERVISION_REMINDER').length !== 4) throw new Error('expected two reminders, each to the merchant and the account manager');
      const done = await k.act('ACCEPT', h, { type: 'ACCEPT', source: 'MARKETPLACE', eventId: freshId('ev-') }, { node: 'COMPLETED', outcome: 'ACCEPTED' });
      if (!done.validity) throw new Error('a period order must get its validity at acceptance');
      return [{ workflowId: h.workflowId, status: 'COMPLETED' }];
    },
  },
  {
    scenario: 'hardware-appeal-frozen-then-resumed',
    description: 'HARDWARE supervision signed for, appeal opened on day 5 freezes it (no auto-acceptance), resumed on day 25: the 10 days restart, accepted automatically',
    async record(k) {
      const { supervision: h } = await k.supervisedOrder(HARDWARE_TERMS);
      await k.act('RECORD_SHIPMENT', h, { type: 'RECORD_SHIPMENT', source: 'MERCHANT', carrier: 'EMS', trackingNumber: freshId('EMS') }, { node: 'USER_ACCEPTANCE' });
      await k.act('SIGN_FOR', h, { type: 'SIGN_FOR', source: 'MARKETPLACE', eventId: freshId('ev-') });
      await k.sleepDays(5);
      await k.act('OPEN_APPEAL', h, { type: 'OPEN_APPEAL', source: 'MARKETPLACE', eventId: freshId('ev-'), openedBy: 'USER', reason: 'device damaged in transit', evidence: ['photo.jpg'] });
      await k.sleepDays(20);
      const frozen = await k.state('day 25, frozen', h, { node: 'USER_ACCEPTANCE' });
      if (!frozen.appeal) throw new Error('day 25: the appeal is not open');
      // No refused action here: the Java test server keeps the empty workflow task of an update its validator
      // rejected, which a real server drops, so refusals are recorded on the dev server (general-rejections-then-accepted).
      await k.act('DECIDE_APPEAL RESUME', h, { type: 'DECIDE_APPEAL', source: 'OPS', decision: 'RESUME', note: 'replacement shipped' });
      await k.sleepDays(9);
      await k.state('9 days after the resume', h, { node: 'USER_ACCEPTANCE' });
      await k.sleepDays(2);
      await k.state('11 days after the resume', h, { node: 'COMPLETED', outcome: 'AUTO_ACCEPTED' });
      return [{ workflowId: h.workflowId, status: 'COMPLETED' }];
    },
  },
  {
    scenario: 'general-continue-as-new',
    description: 'GENERAL supervision with historyEventLimit 30, requirement submitted, then years of reminders until it has continued as new twice and its last run sent a reminder itself',
    async record(k) {
      const h = await k.supervisionAlone(GENERAL_TERMS, { historyEventLimit: 30 });
      const { runId: firstRunId } = await h.describe();
      await k.act('SUBMIT_REQUIREMENT', h, { type: 'SUBMIT_REQUIREMENT', source: 'MARKETPLACE', eventId: freshId('ev-') }, { node: 'REQUIREMENT_CONFIRMATION' });
      await k.sleepDays(181);
      const runs = new Set([firstRunId]);
      let lastRunId = firstRunId;
      // Like the order's continue-as-new recorder: stop once a run that is not the first two has itself sent a
      // reminder on the carried state (a reminder that only triggers a continue-as-new leaves an empty run).
      for (let i = 0; ; i++) {
        if (i > 60) throw new Error(`still ${runs.size} run(s) after ${i} reminder intervals`);
        const before = (await k.state('reminders so far', h, {})).remindersSent;
        await k.sleepDays(30);
        const s = await k.state('a reminder per interval', h, { node: 'REQUIREMENT_CONFIRMATION' });
        if (s.remindersSent !== before + 1) throw new Error(`expected reminder ${before + 1}, state says ${s.remindersSent}`);
        lastRunId = (await k.settle(h.workflowId)).runId;
        const freshRun = !runs.has(lastRunId);
        runs.add(lastRunId);
        if (runs.size >= 3 && !freshRun) break;
      }
      return [
        { workflowId: h.workflowId, runId: firstRunId, part: 'first-run', status: 'CONTINUED_AS_NEW' },
        { workflowId: h.workflowId, runId: lastRunId, part: 'last-run', status: 'RUNNING' },
      ];
    },
  },
];

export const supervisionCatalogue: RecorderCatalogue = { workflowType: SUPERVISION_WORKFLOW_TYPE, service, timeSkipping };
