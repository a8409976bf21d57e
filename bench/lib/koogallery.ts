// The protocol functions the load generators need, from the product's own modules.
export { computeV2Signature, verifyBodySignHeader, BODY_SIGN_HEADER } from '../../src/koogallery/index.js';
export { encodeQuery } from '../../tools/simulator/production-client.js';
