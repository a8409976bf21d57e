import type { AppConfig } from '../platform/config.js';
import type { SupervisionCatalogue } from './contract.js';

// Which products are supervised is a listing property (是否涉及服务监管, fixed once listed) that the production
// interface does not carry (UNCONFIRMED whether Query Order does): the merchant declares it in configuration.

/** Builds the catalogue lookup from configuration. */
export function createSupervisionCatalogue(c: AppConfig['supervision']): SupervisionCatalogue {
  return (productId) => {
    const kind = productId === undefined ? undefined : c.products[productId];
    if (!kind) return undefined;
    return { kind, reminderAfterDays: c.reminderAfterDays, reminderIntervalDays: c.reminderIntervalDays, autoAcceptDays: c.autoAcceptDays };
  };
}
