import { createHmac } from 'node:crypto';

// Usage-push signature (spec §2.5): Base64(HMAC-SHA256(key, "ts=" + ts + "&nonce=" + nonce + "&body=" + body)).

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** JSON with object keys sorted (recursively) and no whitespace; otherwise follows JSON.stringify rules. */
export function sortedJson(value: unknown): string {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, inArray: boolean): string | undefined => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      v = (v as { toJSON: () => unknown }).toJSON();
    }
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return inArray ? 'null' : undefined;
    if (typeof v === 'bigint') throw new TypeError('sortedJson: BigInt is not JSON-serialisable');
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    if (seen.has(v)) throw new TypeError('sortedJson: circular structure');
    seen.add(v);
    let out: string;
    if (Array.isArray(v)) {
      out = `[${v.map((item) => walk(item, true)).join(',')}]`;
    } else {
      const parts: string[] = [];
      for (const k of Object.keys(v).sort(byCodeUnit)) {
        const s = walk((v as Record<string, unknown>)[k], false);
        if (s !== undefined) parts.push(`${JSON.stringify(k)}:${s}`);
      }
      out = `{${parts.join(',')}}`;
    }
    seen.delete(v);
    return out;
  };
  const result = walk(value, false);
  if (result === undefined) throw new TypeError('sortedJson: value is not JSON-serialisable');
  return result;
}

/** The `signature` header of a usage push: Base64 HMAC-SHA256 over `ts=<ts>&nonce=<nonce>&body=<body>`. */
export function usagePushSignature(key: string, ts: string, nonce: string, body: string): string {
  return createHmac('sha256', key).update(`ts=${ts}&nonce=${nonce}&body=${body}`, 'utf8').digest('base64');
}
