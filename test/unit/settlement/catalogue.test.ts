import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/platform/config.js';
import { decimalToScaled, parseSettlementCatalogue } from '../../../src/settlement/catalogue-settings.js';

const ENTITY = 'Example Software Co., Ltd.';
const jointCatalogue = (cert: Record<string, unknown>) =>
  JSON.stringify({
    invoicingEntity: ENTITY,
    products: { 'prod-joint': { goods: 'JOINT_OPERATION', taxRate: '0.06', marketplaceShare: '0.2' } },
    jointOperationCertifications: [{ id: 'JOC-1', status: 'PASSED', companyEntity: ENTITY, productIds: ['prod-joint'], ...cert }],
  });

describe('settlement catalogue', () => {
  it('when nothing is configured, then every product is general goods at 6 % with the default tiers', () => {
    const c = loadConfig({});
    expect(c.settlement.products).toEqual({});
    expect(c.settlement.defaultTaxRatePpm).toBe(60_000);
    expect(c.settlement.platformFeeTiers.at(-1)?.upToMinor).toBeUndefined();
    expect(c.settlement.invoiceTemplate).toBeUndefined();
  });

  it('when decimals are given, then they become exact integers (no floating point)', () => {
    expect(decimalToScaled('0.07', 6)).toBe(70_000);
    expect(decimalToScaled('100000.01', 2)).toBe(10_000_001);
    expect(decimalToScaled('0.1234567', 6)).toBeUndefined();
    expect(decimalToScaled('-1', 2)).toBeUndefined();
  });

  it('when a joint-operation product has a passed certification of the invoicing entity, then it is accepted', () => {
    const { settings, problems } = parseSettlementCatalogue(jointCatalogue({}));
    expect(problems).toEqual([]);
    expect(settings.products['prod-joint']).toEqual({ goods: 'JOINT_OPERATION', taxRatePpm: 60_000, marketplaceSharePpm: 200_000, apiProduct: false });
  });

  it('when the certification is not passed, then start-up refuses with the reason', () => {
    expect(() => loadConfig({ SETTLEMENT_CATALOGUE: jointCatalogue({ status: 'PENDING' }) })).toThrow(/prod-joint: joint-operation certification JOC-1 is PENDING/);
  });

  it('when the certified company entity differs from the invoicing entity, then start-up refuses naming both', () => {
    expect(() => loadConfig({ SETTLEMENT_CATALOGUE: jointCatalogue({ companyEntity: 'Other Co.' }) })).toThrow(/names company entity "Other Co.", not the invoicing entity "Example Software Co., Ltd."/);
  });

  it('when no certification covers a joint-operation product, then it is refused', () => {
    expect(parseSettlementCatalogue(jointCatalogue({ productIds: ['other'] })).problems).toEqual([
      'products.prod-joint: joint-operation product without a recorded joint-operation certification (联营认证)',
    ]);
  });

  it('when several things are wrong, then every problem is listed at once', () => {
    const text = JSON.stringify({
      products: { a: { goods: 'HUAWEI', taxRate: '0.06' }, b: { goods: 'JOINT_OPERATION', taxRate: '0.06', marketplaceShare: '0.1' } },
      platformFeeTiers: [{ rate: '0.05' }, { upToMonthlyGmv: '100', rate: '0.03' }],
    });
    try {
      loadConfig({ SETTLEMENT_CATALOGUE: text });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems;
      expect(problems).toEqual(expect.arrayContaining([
        'SETTLEMENT_CATALOGUE: products.a: HUAWEI goods are revenue-split: marketplaceShare is required',
        'SETTLEMENT_CATALOGUE: products.b: joint-operation product without a recorded joint-operation certification (联营认证)',
        'SETTLEMENT_CATALOGUE: platformFeeTiers.0: only the last tier may omit upToMonthlyGmv',
        'SETTLEMENT_CATALOGUE: platformFeeTiers.1: the last tier must have no upToMonthlyGmv (it covers every GMV above)',
      ]));
    }
  });

  it('when the JSON is malformed or a rate is out of range, then the problem says where', () => {
    expect(parseSettlementCatalogue('{').problems[0]).toMatch(/^not JSON/);
    expect(parseSettlementCatalogue(JSON.stringify({ products: { a: { goods: 'GENERAL', taxRate: '1.5' } } })).problems[0]).toMatch(/^products\.a\.taxRate: "1.5" is not a rate/);
    expect(parseSettlementCatalogue(JSON.stringify({ holidays: ['2027-13-01'] })).problems[0]).toMatch(/^holidays\.0/);
  });
});
