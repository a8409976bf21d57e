import { describe, expect, it } from 'vitest';
import type { MarketplaceOrder, MarketplaceSupervisionEvent } from '../../../src/marketplace-api/order-schema.js';
import {
  NO_REASON_GIVEN,
  derivedSupervisionEventId,
  mapSupervisionEvents,
  supervisionActionsFrom,
} from '../../../src/marketplace-api/supervision-events.js';
import { aQueryOrderResult } from '../../support/factories.js';

const LINE_1 = 'CSMAP0000000001-000001';
const LINE_2 = 'CSMAP0000000001-000002';

function orderWith(events: MarketplaceSupervisionEvent[], buyer: Partial<NonNullable<MarketplaceOrder['buyerInfo']>> = {}): MarketplaceOrder {
  return aQueryOrderResult({ orderId: 'CSMAP0000000001', lineIds: [LINE_1, LINE_2], buyerInfo: { customerId: 'cust-1', ...buyer }, supervision: { events } });
}

describe('supervisionActionsFrom', () => {
  it('when the order has every known event type, then each maps to its action with source MARKETPLACE, its event id and ISO time', () => {
    const order = orderWith(
      [
        { eventId: 'e1', eventType: 'REQUIREMENT_SUBMITTED', eventTime: '2024-01-01T00:00:00.000Z', attachments: ['a.pdf'], note: 'n' },
        { eventId: 'e2', eventType: 'ACCEPTED', eventTime: '2024-01-02T00:00:00.000Z' },
        { eventId: 'e3', eventType: 'ACCEPTANCE_REJECTED', eventTime: '2024-01-03T00:00:00.000Z', reason: 'incomplete' },
        { eventId: 'e4', eventType: 'SIGNED_FOR', eventTime: '2024-01-04T00:00:00.000Z', consigneePhone: '139' },
        { eventId: 'e5', eventType: 'LICENSE_ACTIVATED', eventTime: '2024-01-05T00:00:00.000Z' },
        { eventId: 'e6', eventType: 'APPEAL_OPENED', eventTime: '2024-01-06T00:00:00.000Z', reason: 'stalled', attachments: ['ev.png'] },
        { eventId: 'e7', eventType: 'APPEAL_DECIDED', eventTime: '2024-01-07T00:00:00.000Z', decision: 'ACCEPT', note: 'ok' },
      ],
      { mobilePhone: '138' },
    );
    const base = (eventId: string, day: number) => ({ source: 'MARKETPLACE', eventId, at: `2024-01-0${day}T00:00:00.000Z` });
    expect(supervisionActionsFrom(order)).toEqual([
      { ...base('e1', 1), type: 'SUBMIT_REQUIREMENT', attachments: ['a.pdf'], note: 'n' },
      { ...base('e2', 2), type: 'ACCEPT' },
      { ...base('e3', 3), type: 'REJECT_ACCEPTANCE', reason: 'incomplete' },
      { ...base('e4', 4), type: 'SIGN_FOR', consigneePhone: '139', userPhone: '138' },
      { ...base('e5', 5), type: 'ACTIVATE_LICENSE' },
      { ...base('e6', 6), type: 'OPEN_APPEAL', openedBy: 'USER', reason: 'stalled', evidence: ['ev.png'] },
      { ...base('e7', 7), type: 'DECIDE_APPEAL', decision: 'ACCEPT', note: 'ok' },
    ]);
  });

  it('when events arrive out of order, then the actions are sorted by time and same-time events keep their order', () => {
    const order = orderWith([
      { eventId: 'late', eventType: 'ACCEPTED', eventTime: '2024-03-01T00:00:00.000Z' },
      { eventId: 'early', eventType: 'REQUIREMENT_SUBMITTED', eventTime: '2024-01-01T00:00:00.000Z' },
      { eventId: 'mid-a', eventType: 'SIGNED_FOR', eventTime: '2024-02-01T00:00:00.000Z' },
      { eventId: 'mid-b', eventType: 'LICENSE_ACTIVATED', eventTime: '2024-02-01T00:00:00.000Z' },
    ]);
    expect(supervisionActionsFrom(order).map((a) => a.eventId)).toEqual(['early', 'mid-a', 'mid-b', 'late']);
  });

  it('when an event has no id, then one is derived from its canonical type and time, the same on every call', () => {
    const order = orderWith([{ eventType: 'SIGN_FOR', eventTime: '2024-01-04T00:00:00.000Z' }]);
    const [first] = supervisionActionsFrom(order);
    expect(first?.eventId).toBe('SIGNED_FOR:2024-01-04T00:00:00.000Z');
    expect(first?.eventId).toBe(derivedSupervisionEventId('SIGNED_FOR', '2024-01-04T00:00:00.000Z'));
    expect(supervisionActionsFrom(order)).toEqual(supervisionActionsFrom(order));
  });

  it('when an event type is unknown, then it is ignored and reported as such; aliases of known types are mapped', () => {
    const mapping = mapSupervisionEvents(
      orderWith([
        { eventId: 'x', eventType: 'MERCHANT_CONFIRMED', eventTime: '2024-01-01T00:00:00.000Z' },
        { eventId: 'y', eventType: 'ACCEPTANCE_CONFIRMED', eventTime: '2024-01-02T00:00:00.000Z' },
        { eventId: 'z', eventType: 'OPEN_APPEAL', eventTime: '2024-01-03T00:00:00.000Z', openedBy: 'ISV' },
      ]),
    );
    expect(mapping.actions.map((a) => [a.eventId, a.type])).toEqual([
      ['y', 'ACCEPT'],
      ['z', 'OPEN_APPEAL'],
    ]);
    expect(mapping.actions[1]).toMatchObject({ openedBy: 'MERCHANT', reason: NO_REASON_GIVEN });
    expect(mapping.ignored).toEqual([{ eventType: 'MERCHANT_CONFIRMED', eventId: 'x', reason: 'unknown event type' }]);
  });

  it('when an appeal decision is missing or unknown, then no action is made (never guessed)', () => {
    const mapping = mapSupervisionEvents(
      orderWith([
        { eventId: 'd1', eventType: 'APPEAL_DECIDED', eventTime: '2024-01-01T00:00:00.000Z' },
        { eventId: 'd2', eventType: 'APPEAL_DECIDED', eventTime: '2024-01-02T00:00:00.000Z', decision: 'MAYBE' },
        { eventId: 'd3', eventType: 'APPEAL_DECIDED', eventTime: '2024-01-03T00:00:00.000Z', decision: 'CLOSED' },
      ]),
    );
    expect(mapping.actions).toEqual([{ source: 'MARKETPLACE', eventId: 'd3', at: '2024-01-03T00:00:00.000Z', type: 'DECIDE_APPEAL', decision: 'CLOSE' }]);
    expect(mapping.ignored.map((i) => [i.eventId, i.reason])).toEqual([
      ['d1', 'appeal decision missing'],
      ['d2', 'unknown appeal decision'],
    ]);
  });

  it('when a rejection carries no reason, then its note or a stand-in text becomes the reason', () => {
    const actions = supervisionActionsFrom(
      orderWith([
        { eventId: 'r1', eventType: 'ACCEPTANCE_REJECTED', eventTime: '2024-01-01T00:00:00.000Z', note: 'from the note' },
        { eventId: 'r2', eventType: 'ACCEPTANCE_REJECTED', eventTime: '2024-01-02T00:00:00.000Z' },
      ]),
    );
    expect(actions.map((a) => (a.type === 'REJECT_ACCEPTANCE' ? a.reason : a.type))).toEqual(['from the note', NO_REASON_GIVEN]);
  });

  it('when a sign-for has no consignee phone and the buyer no phone, then SIGN_FOR carries neither', () => {
    const [action] = supervisionActionsFrom(orderWith([{ eventId: 's', eventType: 'SIGNED_FOR', eventTime: '2024-01-01T00:00:00.000Z' }]));
    expect(action).toEqual({ source: 'MARKETPLACE', eventId: 's', at: '2024-01-01T00:00:00.000Z', type: 'SIGN_FOR' });
  });

  it('when a line is named, then only its events and order-level ones are taken; without one, all of them', () => {
    const order = orderWith([
      { eventId: 'l1', eventType: 'ACCEPTED', eventTime: '2024-01-01T00:00:00.000Z', orderLineId: LINE_1 },
      { eventId: 'l2', eventType: 'ACCEPTED', eventTime: '2024-01-02T00:00:00.000Z', orderLineId: LINE_2 },
      { eventId: 'all', eventType: 'ACCEPTED', eventTime: '2024-01-03T00:00:00.000Z' },
    ]);
    expect(supervisionActionsFrom(order, LINE_1).map((a) => a.eventId)).toEqual(['l1', 'all']);
    expect(supervisionActionsFrom(order, LINE_2).map((a) => a.eventId)).toEqual(['l2', 'all']);
    expect(supervisionActionsFrom(order).map((a) => a.eventId)).toEqual(['l1', 'l2', 'all']);
  });

  it('when the same event id appears twice (e.g. on the order and on its line), then it is mapped once', () => {
    const order = orderWith([
      { eventId: 'same', eventType: 'ACCEPTED', eventTime: '2024-01-01T00:00:00.000Z' },
      { eventId: 'same', eventType: 'ACCEPTED', eventTime: '2024-01-01T00:00:00.000Z', orderLineId: LINE_1 },
    ]);
    expect(supervisionActionsFrom(order, LINE_1)).toHaveLength(1);
  });

  it('when the order has no supervision data, then there are no actions', () => {
    const { supervision: _none, ...order } = orderWith([]);
    expect(supervisionActionsFrom(order)).toEqual([]);
    expect(mapSupervisionEvents(orderWith([])).ignored).toEqual([]);
  });
});
