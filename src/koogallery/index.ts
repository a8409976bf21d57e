// The KooGallery production-interface protocol as pure functions (the contract: docs/marketplace-contract.md; §n
// in comments are its sections).

export * from './result-codes.js';
export * from './time.js';
export * from './v1-auth.js';
export * from './v2-signature.js';
export * from './body-sign.js';
export * from './field-crypto.js';
export * from './usage-sign.js';
export * from './requests.js';
export * from './responses.js';
export * from './commands.js';
export * from './app-info-limits.js';
