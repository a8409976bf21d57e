// The keys a marketplace call may be signed with, shared by V1 and V2 admission: the access key, then the others
// (KOOGALLERY_OTHER_ACCESS_KEYS: other products' keys, or a key being rotated).

/** The keys a call may be signed with. */
export interface AdmissionKeys {
  readonly accessKey: string;
  readonly otherAccessKeys?: readonly string[];
}

/**
 * Verifies with the access key, then with each other key while the answer is a signature mismatch (a stale or
 * malformed call is one under every key, so it is refused after one try). Answers the last result and the key it
 * came from: on success, the key the call is answered with.
 */
export function verifyWithAnyKey<R extends { readonly ok: true } | { readonly ok: false; readonly reason: string }>(
  keys: AdmissionKeys,
  verify: (key: string) => R,
): { readonly result: R; readonly accessKey: string } {
  let accessKey = keys.accessKey;
  let result = verify(accessKey);
  for (const key of keys.otherAccessKeys ?? []) {
    if (result.ok || result.reason !== 'mismatch') break;
    accessKey = key;
    result = verify(key);
  }
  return { result, accessKey };
}
