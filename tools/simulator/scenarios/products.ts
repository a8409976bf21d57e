// The simulated marketplace's catalogue: the products and SKUs the scenarios buy.

/** A SaaS product with a basic and a pro SKU (the V1 and V2 SaaS scenarios). */
export const PRODUCT_ID = 'OFFI000000000000000001';
export const SKU_BASIC = '7f141bf1aec848598323fb3a8ad50721';
export const SKU_PRO = 'a13c54d2be8c4e5bb5e0d9f1c6a7b802';

/** Supervised products of the simulator stack: a hardware gateway (HARDWARE flow) and an implementation service (GENERAL flow). */
export const SIM_HARDWARE_PRODUCT_ID = 'OFFI0000000000000000HW';
export const SIM_SERVICE_PRODUCT_ID = 'OFFI0000000000000000SV';
/** The `SUPERVISED_PRODUCTS` a stack needs for the supervision scenarios (`npm start` sets it with the simulator). */
export const SIM_SUPERVISED_PRODUCTS = `${SIM_HARDWARE_PRODUCT_ID}=HARDWARE,${SIM_SERVICE_PRODUCT_ID}=GENERAL`;
export const SKU_HARDWARE = 'b5d3f0a2c4e64f1f9a8e7d6c5b4a3921';
export const SKU_SERVICE = 'd8e2a6c1f3b94e07a5c2d9e8f1b6a704';

/**
 * A settlement catalogue (SETTLEMENT_CATALOGUE) in which the simulated SaaS product is joint-operation goods, so
 * `settlement-month` plays the VAT invoices; without it every product is general goods (no invoice steps).
 */
export const SIM_SETTLEMENT_CATALOGUE = JSON.stringify({
  invoicingEntity: 'Simulated Merchant Co., Ltd.',
  products: { [PRODUCT_ID]: { goods: 'JOINT_OPERATION', taxRate: '0.06', marketplaceShare: '0.20' } },
  jointOperationCertifications: [{ id: 'SIM-JOC-1', status: 'PASSED', companyEntity: 'Simulated Merchant Co., Ltd.', productIds: [PRODUCT_ID] }],
});
