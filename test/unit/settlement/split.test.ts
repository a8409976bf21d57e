import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BillableEvent } from '../../../src/settlement/contract.js';
import { eligibilityOf, mulDivRound, periodOf, platformFeeRate, splitLine, sumSplits } from '../../../src/settlement/split.js';
import { DEFAULT_PLATFORM_FEE_TIERS } from '../../../src/settlement/catalogue-settings.js';

const event = (over: Partial<BillableEvent> = {}): BillableEvent => ({
  lineKey: 'wf:o1:PURCHASE',
  kind: 'PURCHASE',
  orderWorkflowId: 'wf',
  instanceId: 'i1',
  orderId: 'o1',
  productId: 'p',
  grossMinor: 10_000,
  testOrder: false,
  paidAt: '2027-01-05T00:00:00.000Z',
  effectiveAt: '2027-01-05T00:00:00.000Z',
  supervision: 'NOT_INVOLVED',
  ...over,
});

describe('revenue split', () => {
  it('when ¥100.00 is split at 20 % share and 6 % VAT, then share, net and the VAT in net are exact', () => {
    expect(splitLine(10_000, 200_000, 60_000)).toEqual({ grossMinor: 10_000, shareMinor: 2_000, netMinor: 8_000, taxMinor: 453 });
  });

  it('when rounding is needed, then it is half away from zero', () => {
    expect(mulDivRound(5, 100_000, 1_000_000)).toBe(1); // 0.5 → 1
    expect(mulDivRound(-5, 100_000, 1_000_000)).toBe(-1);
    expect(mulDivRound(4, 100_000, 1_000_000)).toBe(0);
  });

  it('for any amount and rates, gross = share + net and a refund nets its sale to exactly zero', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000_000 }), fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 200_000 }), (g, share, tax) => {
        const sale = splitLine(g, share, tax);
        const refund = splitLine(-g, share, tax);
        expect(sale.shareMinor + sale.netMinor).toBe(g);
        expect(sumSplits([sale, refund])).toEqual({ grossMinor: 0, shareMinor: 0, netMinor: 0, taxMinor: 0 });
      }),
    );
  });

  it('when a downgrade partly refunds, then the netted split is the split of the netted gross within a fen per line', () => {
    const netted = sumSplits([splitLine(29_999, 150_000, 60_000), splitLine(-10_001, 150_000, 60_000)]);
    expect(netted.grossMinor).toBe(19_998);
    expect(Math.abs(netted.shareMinor - splitLine(19_998, 150_000, 60_000).shareMinor)).toBeLessThanOrEqual(1);
  });

  it('when the monthly GMV crosses a tier bound, then the next tier rate applies', () => {
    expect(platformFeeRate(DEFAULT_PLATFORM_FEE_TIERS, 10_000_000)).toBe(50_000);
    expect(platformFeeRate(DEFAULT_PLATFORM_FEE_TIERS, 10_000_001)).toBe(30_000);
    expect(platformFeeRate(DEFAULT_PLATFORM_FEE_TIERS, 1e12)).toBe(10_000);
  });
});

describe('§10 eligibility', () => {
  const plain = { apiProduct: false };
  it('when the order is a test order, then it is never eligible', () => {
    expect(eligibilityOf(event({ testOrder: true }), plain)).toMatchObject({ eligible: false, never: true });
  });
  it('when unpaid, then not eligible', () => {
    expect(eligibilityOf(event({ paidAt: undefined }), plain)).toMatchObject({ eligible: false, reason: 'not paid' });
  });
  it('when supervision is pending, then not eligible; when completed, from completion', () => {
    expect(eligibilityOf(event({ supervision: 'PENDING' }), plain).eligible).toBe(false);
    expect(eligibilityOf(event({ supervision: 'COMPLETED', supervisionCompletedAt: '2027-02-10T00:00:00.000Z' }), plain)).toEqual({ eligible: true, at: '2027-02-10T00:00:00.000Z' });
  });
  it('when a renewal takes effect later, then it is eligible from its effective date, without supervision', () => {
    const r = eligibilityOf(event({ kind: 'RENEWAL', supervision: 'PENDING', effectiveAt: '2027-03-01T00:00:00.000Z' }), plain);
    expect(r).toEqual({ eligible: true, at: '2027-03-01T00:00:00.000Z' });
    expect(periodOf((r as { at: string }).at)).toBe('2027-03');
  });
  it('when an API product is not activated, then not eligible; once activated, from activation', () => {
    expect(eligibilityOf(event(), { apiProduct: true }).eligible).toBe(false);
    expect(eligibilityOf(event({ activatedAt: '2027-01-20T00:00:00.000Z' }), { apiProduct: true })).toEqual({ eligible: true, at: '2027-01-20T00:00:00.000Z' });
  });
});
