// `npm run license:keygen -- <kid>`: prints a new Ed25519 signing key as a private JWK, for LICENSE_SIGNING_KEYS
// (README "License products": add it to the set, publish it, then make it the LICENSE_ACTIVE_KID).
import { generateLicenseJwk } from './key-settings.js';

const kid = process.argv[2];
if (kid === undefined || !/^[\x21-\x7e]{1,64}$/.test(kid)) {
  console.error('usage: npm run license:keygen -- <kid>   (1..64 printable ASCII characters, e.g. 2025-06)');
  process.exitCode = 2;
} else {
  console.log(JSON.stringify(generateLicenseJwk(kid)));
}
