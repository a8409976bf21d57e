import { timingSafeEqual } from 'node:crypto';
import { Buffer } from 'node:buffer';

// Internal helper (not re-exported from index.ts).

/** Constant-time equality of two strings' UTF-8 bytes; unequal lengths are false without an early exit. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ab.length !== bb.length) {
    // Still do a full-length comparison so a wrong length costs about as much as a wrong value.
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}
