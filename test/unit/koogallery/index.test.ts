import { describe, it, expect } from 'vitest';
import * as kg from '../../../src/koogallery/index.js';

describe('koogallery index', () => {
  it('re-exports the public API of every module', () => {
    const expected = [
      'ResultCode',
      'defaultResultMessage',
      'parseCompactUtc',
      'formatCompactUtc',
      'parseV1TimeStamp',
      'parseUnixTimestamp',
      'parseRawQuery',
      'canonicalV1',
      'computeV1AuthToken',
      'verifyV1AuthToken',
      'v2PayloadHash',
      'computeV2Signature',
      'extractV2Credentials',
      'verifyV2Signature',
      'BODY_SIGN_HEADER',
      'bodySignature',
      'bodySignHeaderValue',
      'verifyBodySignHeader',
      'deriveAesKey',
      'encryptField',
      'decryptField',
      'randomIv',
      'FieldCryptoError',
      'sortedJson',
      'usagePushSignature',
      'V1_ACTIVITIES',
      'V2_ACTIVITIES',
      'parseV1Request',
      'parseV2Request',
      'splitInstanceIds',
      'decodeSaasExtendParams',
      'v1RequestSchemas',
      'v2RequestSchemas',
      'requestFields',
      'serializeResponse',
      'newInstanceResponse',
      'simpleResponse',
      'queryInstanceResponse',
      'v1Command',
      'v2Command',
      'v1ChargingMode',
      'v1RenewalScene',
      'v1RenewCommand',
      'decryptInboundField',
      'buyerContactsFromQueryOrder',
      'commandIds',
      'APP_INFO_LIMITS',
      'encryptedFieldLength',
      'appInfoViolations',
      'describeAppInfoViolations',
    ];
    for (const name of expected) expect(kg, name).toHaveProperty(name);
    expect(Object.keys(kg).sort()).toEqual([...expected].sort());
  });

  it('does not expose the internal constant-time helper', () => {
    expect(kg).not.toHaveProperty('constantTimeEqual');
  });
});
