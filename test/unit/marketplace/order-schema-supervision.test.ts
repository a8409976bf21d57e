import { describe, expect, it } from 'vitest';
import {
  orderInfoSchema,
  parseSupervisionTime,
  readSupervisionBlock,
  toMarketplaceOrder,
  type MarketplaceOrder,
} from '../../../src/marketplace-api/order-schema.js';

// Query Order's supervision block is our assumption (UNCONFIRMED): these tests pin the tolerant reading, and that a
// bad block or event never fails the order parse.

const baseInfo = (extra: Record<string, unknown> = {}, lineExtra: Record<string, unknown> = {}) => ({
  orderId: 'CSSUP0000000001',
  orderType: 'NEW',
  createTime: '20240102030405',
  orderLine: [
    { orderLineId: 'CSSUP0000000001-000001', chargingMode: 'ONE_TIME', productInfo: [{ skuCode: 's', productId: 'p' }], ...lineExtra },
    { orderLineId: 'CSSUP0000000001-000002', chargingMode: 'ONE_TIME', productInfo: [{ skuCode: 's2', productId: 'p2' }] },
  ],
  buyerInfo: { customerId: 'cust-1', mobilePhone: '13800000000' },
  ...extra,
});

function parse(info: unknown, orderLineId?: string): MarketplaceOrder {
  const parsed = orderInfoSchema.safeParse(info);
  if (!parsed.success) throw new Error(`orderInfo did not parse: ${parsed.error.message}`);
  const order = toMarketplaceOrder(parsed.data, orderLineId);
  if (!order) throw new Error('no order line');
  return order;
}

describe('Query Order supervision block', () => {
  it('when orderInfo has no supervision block, then the order has no supervision key at all', () => {
    const order = parse(baseInfo());
    expect('supervision' in order).toBe(false);
    expect(JSON.parse(JSON.stringify(order))).toEqual(order);
  });

  it('when orderInfo.serviceSupervision has the assumed shape, then every field is read and times become ISO UTC', () => {
    const order = parse(
      baseInfo({
        serviceSupervision: {
          node: 'USER_ACCEPTANCE',
          events: [
            {
              eventId: 'ev-1',
              eventType: 'requirement_submitted',
              eventTime: '20240105060708',
              orderLineId: 'CSSUP0000000001-000001',
              attachments: ['https://obs.example/req.pdf', { url: 'https://obs.example/b.png' }, { fileName: 'c.docx' }, '', 42],
              note: '  please hurry  ',
            },
            { eventType: 'Signed-For', eventTime: '2024-01-06T07:08:09+08:00', consigneePhone: 13900000000 },
            { eventType: 'APPEAL_OPENED', eventTime: 1704600000000, reason: 'stalled', openedBy: 'merchant' },
            { eventType: 'APPEAL_DECIDED', eventTime: '1704700000', decision: 'close' },
          ],
        },
      }),
    );
    expect(order.supervision).toEqual({
      node: 'USER_ACCEPTANCE',
      events: [
        {
          eventId: 'ev-1',
          eventType: 'REQUIREMENT_SUBMITTED',
          eventTime: '2024-01-05T06:07:08.000Z',
          orderLineId: 'CSSUP0000000001-000001',
          attachments: ['https://obs.example/req.pdf', 'https://obs.example/b.png', 'c.docx', '42'],
          note: 'please hurry',
        },
        { eventType: 'SIGNED_FOR', eventTime: '2024-01-05T23:08:09.000Z', consigneePhone: '13900000000' },
        { eventType: 'APPEAL_OPENED', eventTime: new Date(1704600000000).toISOString(), reason: 'stalled', openedBy: 'MERCHANT' },
        { eventType: 'APPEAL_DECIDED', eventTime: new Date(1704700000 * 1000).toISOString(), decision: 'CLOSE' },
      ],
    });
  });

  it('when the block and its fields use the aliases, then they are read like the assumed names', () => {
    const order = parse(
      baseInfo({
        supervision: {
          currentNode: 'IMPLEMENTATION',
          eventList: [
            { id: 'a-1', type: 'ACCEPTANCE_REJECTED', time: '2024-01-05 06:07:08', rejectReason: 'report incomplete', remark: 'see p.3' },
            { event: 'SIGNED_FOR', occurTime: '20240105060708123', receiverMobile: '139', files: 'one.pdf' },
            { action: 'APPEAL_DECIDED', timestamp: '20240106000000', result: 'resume', initiator: 'user' },
          ],
        },
      }),
    );
    expect(order.supervision).toEqual({
      node: 'IMPLEMENTATION',
      events: [
        { eventId: 'a-1', eventType: 'ACCEPTANCE_REJECTED', eventTime: '2024-01-05T06:07:08.000Z', reason: 'report incomplete', note: 'see p.3' },
        { eventType: 'SIGNED_FOR', eventTime: '2024-01-05T06:07:08.123Z', consigneePhone: '139', attachments: ['one.pdf'] },
        { eventType: 'APPEAL_DECIDED', eventTime: '2024-01-06T00:00:00.000Z', decision: 'RESUME', openedBy: 'USER' },
      ],
    });
  });

  it('when some events are malformed, then they are dropped and counted and the rest of the order still parses', () => {
    const order = parse(
      baseInfo({
        serviceSupervision: {
          events: [
            { eventType: 'ACCEPTED', eventTime: '20240105060708' },
            { eventTime: '20240105060708' }, // no type
            { eventType: 'ACCEPTED' }, // no time
            { eventType: 'ACCEPTED', eventTime: 'yesterday' },
            { eventType: 'ACCEPTED', eventTime: '2024-02-30T00:00:00Z' }, // impossible date
            { eventType: 'ACCEPTED', eventTime: '20241301000000' },
            { eventType: { nested: true }, eventTime: '20240105060708' },
            'not an event',
            null,
          ],
        },
      }),
    );
    expect(order.orderId).toBe('CSSUP0000000001');
    expect(order.line.orderLineId).toBe('CSSUP0000000001-000001');
    expect(order.supervision).toEqual({ events: [{ eventType: 'ACCEPTED', eventTime: '2024-01-05T06:07:08.000Z' }], droppedEvents: 8 });
  });

  it('when the block itself is unreadable, then it counts as absent; a plain string is the node; JSON text is parsed', () => {
    expect(parse(baseInfo({ serviceSupervision: 42 })).supervision).toBeUndefined();
    expect(parse(baseInfo({ serviceSupervision: true })).supervision).toBeUndefined();
    expect(parse(baseInfo({ serviceSupervision: null })).supervision).toBeUndefined();
    expect(parse(baseInfo({ serviceSupervision: 'PROCESSING' })).supervision).toEqual({ node: 'PROCESSING', events: [] });
    expect(parse(baseInfo({ serviceSupervision: JSON.stringify({ events: [{ eventType: 'ACCEPTED', eventTime: '20240105060708' }] }) })).supervision).toEqual({
      events: [{ eventType: 'ACCEPTED', eventTime: '2024-01-05T06:07:08.000Z' }],
    });
    // The event list on its own, and a single event where a list is expected.
    expect(readSupervisionBlock([{ eventType: 'ACCEPTED', eventTime: '20240105060708' }])?.events).toHaveLength(1);
    expect(readSupervisionBlock({ events: { eventType: 'ACCEPTED', eventTime: '20240105060708' } })?.events).toHaveLength(1);
  });

  it('when an order line carries a block, then its events are stamped with that line and merged after the order-level ones', () => {
    const order = parse(
      baseInfo(
        { serviceSupervision: { node: 'ORDER_LEVEL', events: [{ eventType: 'ACCEPTED', eventTime: '20240106000000' }] } },
        { serviceSupervision: { node: 'LINE_LEVEL', events: [{ eventType: 'SIGNED_FOR', eventTime: '20240105000000' }, 'junk'] } },
      ),
    );
    expect(order.supervision).toEqual({
      node: 'ORDER_LEVEL',
      events: [
        { eventType: 'ACCEPTED', eventTime: '2024-01-06T00:00:00.000Z' },
        { eventType: 'SIGNED_FOR', eventTime: '2024-01-05T00:00:00.000Z', orderLineId: 'CSSUP0000000001-000001' },
      ],
      droppedEvents: 1,
    });
    // The line itself stays as before: supervision is on the order only.
    expect('serviceSupervision' in order.line).toBe(false);
    // Only a line block: its node is taken when that line is the one picked.
    const lineOnly = parse(baseInfo({}, { supervisionInfo: { node: 'LINE_LEVEL', events: [] } }));
    expect(lineOnly.supervision).toEqual({ node: 'LINE_LEVEL', events: [] });
    expect(parse(baseInfo({}, { supervisionInfo: { node: 'LINE_LEVEL', events: [] } }), 'CSSUP0000000001-000002').supervision).toEqual({ events: [] });
  });
});

describe('parseSupervisionTime', () => {
  it.each([
    ['20240105060708', '2024-01-05T06:07:08.000Z'],
    ['20240105060708999', '2024-01-05T06:07:08.999Z'],
    ['2024-01-05T06:07:08Z', '2024-01-05T06:07:08.000Z'],
    ['2024-01-05T06:07:08.5+01:00', '2024-01-05T05:07:08.500Z'],
    ['2024-01-05T06:07', '2024-01-05T06:07:00.000Z'],
    ['1704434828000', '2024-01-05T06:07:08.000Z'],
    ['1704434828', '2024-01-05T06:07:08.000Z'],
    [1704434828000, '2024-01-05T06:07:08.000Z'],
  ])('reads %j as %s', (input, iso) => {
    expect(parseSupervisionTime(input)).toBe(iso);
  });

  it.each([['2024-02-30T00:00:00Z'], ['2023-02-29 00:00:00'], ['20240230000000'], ['2024-01-05T25:00:00Z'], ['soon'], [''], [-5], [1.5], [null], [{}]])(
    'refuses %j',
    (input) => {
      expect(parseSupervisionTime(input)).toBeUndefined();
    },
  );
});
