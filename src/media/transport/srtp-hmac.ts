// HMAC-SHA1 message authentication for profile 1 (SRTP_AES128_CM_HMAC_SHA1_80, RFC 3711 §4.2.1) under
// one session authentication key: the full 20-byte digest of a buffer range plus an optional suffix.
// What it must not do: truncate or compare tags (the caller takes the 10-byte tag and compares in
// constant time), keep per-message state between calls, or know about packet layout.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/**
 * HMAC-SHA1 with a precomputed KeyObject: one Hmac per message. (Measured on Node 20: cheaper than
 * copying pre-keyed ipad/opad Hash states, which costs two Hash objects per message.)
 */
export class HmacSha1 {
  private readonly key: KeyObject;

  constructor(key: Buffer) {
    this.key = createSecretKey(key);
  }

  /** HMAC over `a[aStart, aEnd)` followed by `b` (b may be undefined). Returns the 20-byte digest. */
  digest(a: Buffer, aStart: number, aEnd: number, b: Buffer | undefined): Buffer {
    const h = createHmac('sha1', this.key);
    h.update(aStart === 0 && aEnd === a.length ? a : a.subarray(aStart, aEnd));
    if (b !== undefined) h.update(b);
    return h.digest();
  }
}
